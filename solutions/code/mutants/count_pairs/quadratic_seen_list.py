"""Mutant: correct counts, but each new pair is looked up in a list of the pairs seen so
far, so the work grows with tokens x distinct pairs (the performance test must catch it)."""


def count_pairs(sequences):
    counts = {}
    seen = []
    for seq in sequences:
        for pair in zip(seq, seq[1:]):
            if pair not in seen:
                seen.append(pair)
            counts[pair] = counts.get(pair, 0) + 1
    return counts
