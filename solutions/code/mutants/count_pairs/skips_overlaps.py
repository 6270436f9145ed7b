"""Mutant: a repeated token pair is counted without overlaps, like the merge step does."""

from collections import Counter


def count_pairs(sequences):
    counts = Counter()
    for seq in sequences:
        i = 0
        while i < len(seq) - 1:
            counts[(seq[i], seq[i + 1])] += 1
            # jump past the pair when both tokens are equal, so "7 7 7" is read as
            # one (7, 7) pair followed by a leftover 7
            i += 2 if seq[i] == seq[i + 1] else 1
    return counts
