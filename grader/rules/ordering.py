"""The ordering rule for design items, and the deterministic shuffle students see."""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from grader.results.result import Result, error, is_blank, unanswered
from grader.rules.selection import SelectionError, read_ids

PARTIAL_RULES = ("none", "lcs", "pairwise")


@dataclass(frozen=True)
class OrderingKey:
    """The correct order of step ids and the partial-credit rule."""

    order: Sequence[str]
    partial_credit: str = "lcs"


def shuffled_order(order: Sequence[str], salt: str) -> list[str]:
    """A deterministic shuffle of ``order`` seeded by ``salt``, never the correct order."""
    items = list(order)
    if len(items) < 2:
        return items
    seed = int.from_bytes(hashlib.sha256(salt.encode()).digest()[:8], "big")
    random.Random(seed).shuffle(items)
    if items == list(order):
        items = items[1:] + items[:1]
    return items


def fair_shuffle(order: Sequence[str], salt: str, partial_credit: str, worth: float = 1 / 3,
                 attempts: int = 64) -> list[str]:
    """``shuffled_order`` drawn again (``salt#1``, ``salt#2``...) until the shown order, handed in
    unchanged, earns at most ``worth`` of the credit; after ``attempts``, the reverse (worth 0).
    From 4 steps on, the exact reverse is drawn again too: read backwards it is the answer (with
    3 steps and ``lcs`` it is the only order worth at most a third)."""
    position = {step: i for i, step in enumerate(order)}
    backwards = list(reversed(order))
    for attempt in range(attempts):
        shown = shuffled_order(order, salt if attempt == 0 else f"{salt}#{attempt}")
        if partial_score([position[s] for s in shown], partial_credit) <= worth and (
                len(order) < 4 or shown != backwards):
            return shown
    return backwards


def longest_in_order(ranks: Sequence[int]) -> int:
    """Length of the longest increasing subsequence (= LCS with the correct order)."""
    tails: list[int] = []
    for r in ranks:
        i = bisect_left(tails, r)
        if i == len(tails):
            tails.append(r)
        else:
            tails[i] = r
    return len(tails)


def pairs_in_order(ranks: Sequence[int]) -> int:
    """Number of pairs (i < j) whose relative order is right."""
    return sum(1 for i in range(len(ranks)) for j in range(i + 1, len(ranks)) if ranks[i] < ranks[j])


def partial_score(ranks: Sequence[int], rule: str) -> float:
    """Credit in [0, 1] for an ordering given as ranks in the correct order.

    ``lcs``: (longest correctly ordered subsequence - 1) / (n - 1), so only the
    exact order earns 1 and a fully reversed order 0. ``pairwise``: the share of
    pairs in the right relative order (Kendall). ``none``: all or nothing.
    """
    n = len(ranks)
    if list(ranks) == sorted(ranks):
        return 1.0
    if rule == "lcs" and n > 1:
        return (longest_in_order(ranks) - 1) / (n - 1)
    if rule == "pairwise" and n > 1:
        return pairs_in_order(ranks) / (n * (n - 1) / 2)
    return 0.0


def read_order(steps: Sequence[str], response: object) -> list[str] | Result:
    """The ordered step ids, or the Result for a blank or malformed order.

    Needs only the step ids (in any order), so it also checks graded workspaces.
    """
    if is_blank(response):
        return unanswered()
    try:
        ids = read_ids(response, steps)
    except SelectionError as exc:
        return error(f"Could not read your order: {exc}.")
    missing = sorted(i for i in steps if i not in ids)  # sorted: ``steps`` may be the key's order
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if missing or repeated:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if repeated:
            parts.append(f"repeated {', '.join(repeated)}")
        return error(f"Give every step exactly once ({'; '.join(parts)}).")
    return ids


def grade_ordering(key: OrderingKey, response: object) -> Result:
    """Grade an ordering: exact order for full credit, partial by the key's rule."""
    ids = read_order(key.order, response)
    if isinstance(ids, Result):
        return ids
    position = {step: i for i, step in enumerate(key.order)}
    ranks = [position[i] for i in ids]
    score = partial_score(ranks, key.partial_credit)
    if score == 1.0:
        return Result("correct", 1.0, ("Correct.",), matched="".join(ids))
    first_wrong = next(i for i, r in enumerate(ranks) if r != i)
    hint = {0: "The first step is not right.", 1: "The first step is right; the second is not."}.get(
        first_wrong, f"The first {first_wrong} steps are right.")
    status = "partial" if score > 0 else "incorrect"
    return Result(status, score, (f"Not in the right order. {hint}",), matched="".join(ids))
