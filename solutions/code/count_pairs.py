"""Reference solution: count adjacent token pairs within each sequence."""

from collections import Counter
from itertools import pairwise


def count_pairs(sequences):
    """Return a Counter mapping (a, b) to the number of times b directly follows a.

    Each sequence yields its overlapping neighbour pairs (itertools.pairwise), so
    the last token starts no pair and sequences of length 0 or 1 add nothing.
    The outer iterable is consumed exactly once and nothing is mutated.
    """
    counts = Counter()
    for seq in sequences:
        counts.update(pairwise(seq))
    return counts
