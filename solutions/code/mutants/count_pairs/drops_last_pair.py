"""Mutant: off-by-one loop bound that never looks at the final pair of a sequence."""

from collections import Counter


def count_pairs(sequences):
    counts = Counter()
    for seq in sequences:
        for i in range(len(seq) - 2):
            counts[(seq[i], seq[i + 1])] += 1
    return counts
