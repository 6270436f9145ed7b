"""Read a student's numeric answer: a number literal with an optional unit.

Accepted: ``34360``, ``34,360``, ``3.436e4``, ``3.4 x 10^4``, ``3.4×10^4``,
``34.36 GFLOPs``, ``$256``, ``17.6%``, ``-1.07``. Nothing is evaluated: the text
is matched against a fixed pattern of ASCII digits, with caps on length, digit
count and exponent size. Every failure raises AnswerFormatError with a message
that names the problem.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MAX_TEXT = 200
MAX_DIGITS = 40
MAX_EXPONENT = 400

_NUMBER = re.compile(
    r"""^\s*(?P<sign>[+\-\u2212])?\s*(?P<cur>\$)?\s*
    (?P<mant>(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)
    (?:\s*(?:[eE](?P<e>[+\-]?[0-9]+)
          |[x×*·]\s*10\s*(?:\^|\*\*)\s*(?P<p>[+\-\u2212]?[0-9]+)))?
    \s*(?P<unit>.*?)\s*$""",
    re.VERBOSE | re.ASCII,
)


class AnswerFormatError(ValueError):
    """A student's answer text that cannot be read as a number."""


@dataclass(frozen=True)
class Quantity:
    """A number and the unit text written after it ("" when none)."""

    value: float
    unit_text: str


def parse_quantity(text: str) -> Quantity:
    """Parse ``text`` into a Quantity, or raise AnswerFormatError."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    if len(text) > MAX_TEXT:
        raise AnswerFormatError(f"the answer is too long ({len(text)} characters; at most {MAX_TEXT})")
    stripped = text.strip()
    if not stripped:
        raise AnswerFormatError("the answer is empty")
    if stripped.lower().lstrip("+-") in {"nan", "inf", "infinity"}:
        raise AnswerFormatError(f"'{shown}' is not a finite number")
    if any(ch.isdigit() and not ch.isascii() for ch in stripped):
        raise AnswerFormatError(f"could not read '{shown}': use the digits 0-9")
    m = _NUMBER.match(stripped)
    if m is None:
        raise AnswerFormatError(
            f"could not read '{shown}' as a number: write digits with an optional "
            "unit, e.g. 34360, 3.436e4 or 34.36 GFLOPs"
        )
    mant = m.group("mant").replace(",", "")
    if sum(ch.isdigit() for ch in mant) > MAX_DIGITS:
        raise AnswerFormatError(f"'{shown}' has more than {MAX_DIGITS} digits")
    exp_text = m.group("e") or m.group("p") or "0"
    exponent = int(exp_text.replace("\u2212", "-"))
    if abs(exponent) > MAX_EXPONENT:
        raise AnswerFormatError(f"the exponent in '{shown}' is too large (at most {MAX_EXPONENT})")
    value = float(f"{mant}e{exponent}")
    if not math.isfinite(value):
        raise AnswerFormatError(f"'{shown}' is not a finite number")
    if m.group("sign") in ("-", "\u2212"):
        value = -value
    unit = m.group("unit")
    if m.group("cur"):
        if unit and unit not in ("USD", "dollars"):
            raise AnswerFormatError(f"'{shown}': a '$' amount cannot also carry the unit '{unit}'")
        unit = "USD"
    if unit and not (unit[0].isalpha() or unit[0] in "%$°/"):
        raise AnswerFormatError(
            f"could not read '{shown}' as a number: unexpected '{unit[0]}' after "
            f"'{m.group('mant')}'"
        )
    return Quantity(value=value, unit_text=unit)
