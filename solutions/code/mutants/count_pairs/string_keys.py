"""Mutant: a line-by-line port of a JavaScript solution, keys are strings like "7,7"."""


def count_pairs(sequences):
    counts = {}
    for seq in sequences:
        for i in range(len(seq) - 1):
            key = f"{seq[i]},{seq[i + 1]}"
            counts[key] = counts.get(key, 0) + 1
    return counts
