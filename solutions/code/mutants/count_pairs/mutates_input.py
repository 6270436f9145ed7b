"""Mutant: consumes each sequence as a stack, leaving the caller's lists empty."""

from collections import Counter


def count_pairs(sequences):
    counts = Counter()
    for seq in sequences:
        if len(seq) < 2:
            continue
        seq.reverse()  # so that pop() hands the tokens back in their original order
        prev = seq.pop()
        while seq:
            cur = seq.pop()
            counts[(prev, cur)] += 1
            prev = cur
    return counts
