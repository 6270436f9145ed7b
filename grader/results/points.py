"""Points as people read them: ``0.67/1``, not ``0.666667/1``. The JSON outputs keep the exact
numbers; every human view (the check table, report.md, the batch and Gradescope summaries, the
notebook checks) writes them through here."""

from __future__ import annotations

import functools
import math

DECIMALS = 2
_STEP = 10 ** -DECIMALS


@functools.lru_cache(maxsize=4096)  # a class's reports write the same few scores a million times
def points_text(value: float, of: float | None = None) -> str:
    """``value`` to two decimals, trailing zeros dropped (``0.67``, ``1.5``, ``3``). Given ``of``
    (what the item or total is worth), a score that is not full never reads as full and one
    above zero never reads as zero (``0.999/1`` is ``0.99``, ``0.001/1`` is ``0.01``)."""
    shown = round(value, DECIMALS)
    if of is not None:
        if shown >= of > value:
            shown = math.floor(value / _STEP) * _STEP
        elif shown <= 0 < value:
            shown = _STEP
    text = f"{shown:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@functools.lru_cache(maxsize=4096)
def score_text(earned: float, possible: float, between: str = "/") -> str:
    """``earned/possible`` for people: ``0.67/1`` (``between``: what stands for the slash)."""
    return f"{points_text(earned, possible)}{between}{points_text(possible)}"


def points_phrase(value: float) -> str:
    """``1 point``, ``1.2 points``, ``0 points``: a number of points in words."""
    text = points_text(value)
    return f"{text} point{'' if text == '1' else 's'}"
