"""Mutant: concatenates all sequences first, so pairs straddle sequence boundaries."""

from collections import Counter
from itertools import chain


def count_pairs(sequences):
    stream = list(chain.from_iterable(sequences))
    return Counter(zip(stream, stream[1:]))
