"""A reference number as people write it (``grade show --solution``): ``34,360``, ``20.31``,
``6.455 x 10^-9``, not ``34359.738368`` or ``6.45512692225e-09``."""

from __future__ import annotations

import math

from grader.model.render import Display
from grader.responses.quantity import AnswerFormatError, parse_quantity
from grader.rules.tolerance import Tolerance

MIN_DIGITS = 4
_PLAIN = (1e-3, 1e6)  # written out between these; in scientific notation beyond


def written_number(value: float, tolerance: Tolerance) -> str:
    """``value`` as the question asks for it (to 1 decimal place: ``20.3``; to 3 significant
    figures: ``0.176``), else with at least 4 significant figures (and every digit of its whole
    part below a million), more when ``tolerance`` needs them, trailing zeros dropped. A student
    writing it is marked right."""
    plain = value == 0 or _PLAIN[0] <= abs(value) < _PLAIN[1]
    asked = {"decimals": Display(decimals=int(tolerance.value)),
             "sig_figs": Display(digits=int(tolerance.value), scientific=not plain)}.get(tolerance.rule)
    if asked is not None and _reads_as(asked.format(value), value, tolerance):
        return asked.format(value)
    whole = len(str(int(abs(value)))) if plain and abs(value) >= 1 else 0
    text = repr(value)
    for digits in range(max(MIN_DIGITS, whole), 17):
        text = _trimmed(Display(digits=digits, scientific=not plain).format(value))
        if _reads_as(text, value, tolerance):
            break
    return text


def _trimmed(text: str) -> str:
    """``3.150`` -> ``3.15`` and ``2.000 x 10^9`` -> ``2 x 10^9``."""
    number, times, power = text.partition(" x ")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number + times + power


def _reads_as(text: str, value: float, tolerance: Tolerance) -> bool:
    """Whether the answer reader reads ``text`` as a number ``tolerance`` accepts for ``value``."""
    try:
        read = parse_quantity(text).value
    except AnswerFormatError:
        return False
    return math.isfinite(read) and tolerance.accepts(read, value)
