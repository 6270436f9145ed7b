"""Count adjacent token pairs: the first step of every BPE training iteration."""


def count_pairs(sequences):
    """Count every adjacent pair of token ids inside each sequence.

    Args:
        sequences: any iterable (a list, a tuple, a generator, ...) whose elements
            are sequences of ints (lists or tuples of token ids).

    Returns:
        A mapping from pair to count: a dict (a collections.Counter is fine) whose
        keys are tuples ``(a, b)`` of two ints and whose values are how many times
        token ``a`` is immediately followed by token ``b``.

    Rules:
        * Overlapping pairs all count: ``[7, 7, 7]`` gives ``{(7, 7): 2}``.
        * Pairs never cross from the end of one sequence to the start of the next.
        * Empty and length-1 sequences contribute nothing; no input at all gives
          an empty mapping.
        * The input must not be modified.
        * The input may be a generator, so iterate over it only once and do not
          call len() on it.

    Example:
        >>> dict(count_pairs([[1, 2, 3], [2, 3]]))
        {(1, 2): 1, (2, 3): 2}
    """
    raise NotImplementedError
