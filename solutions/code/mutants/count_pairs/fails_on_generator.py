"""Mutant: indexes the outer collection, which breaks for generators and other iterators."""

from collections import Counter


def count_pairs(sequences):
    counts = Counter()
    for j in range(len(sequences)):
        seq = sequences[j]
        counts.update(zip(seq, seq[1:]))
    return counts
