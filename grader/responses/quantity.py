"""Read a student's numeric answer: a number or safe arithmetic, then an optional unit.

Accepted: ``34360``, ``34,360``, ``3.436e4``, ``3.4 x 10^4``, ``3.4×10^4``, ``2^20``,
``1/3``, ``34.36 GFLOPs``, ``$256``, ``17.6%``, ``-1.07``. Nothing is evaluated by
Python: the arithmetic is read by the small grammar in ``grader.responses.expression``, with
caps on length, digits, nesting and magnitude. Every failure raises
AnswerFormatError with a message that names the problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.responses.expression import ExpressionError, parse_expression

_NOT_FINITE = {"nan", "inf", "infinity", ".nan", ".inf"}


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
    stripped = text.strip()
    if not stripped:
        raise AnswerFormatError("the answer is empty")
    if stripped.lower().lstrip("+-\u2212.") in _NOT_FINITE:
        raise AnswerFormatError(f"'{shown}' is not a finite number")
    sign, body = "", stripped
    if body[:1] in ("+", "-", "\u2212") and body[1:].lstrip().startswith("$"):
        sign, body = body[0], body[1:].lstrip()
    currency = body.startswith("$")
    try:
        parsed = parse_expression(sign + body[1:] if currency else text)
    except ExpressionError as exc:
        raise AnswerFormatError(str(exc)) from None
    unit = parsed.rest
    if currency:
        if unit and unit not in ("USD", "dollars"):
            raise AnswerFormatError(f"'{shown}': a '$' amount cannot also carry the unit '{unit}'")
        unit = "USD"
    if unit and not (unit[0].isalpha() or unit[0] in "%$°/"):
        raise AnswerFormatError(
            f"could not read '{shown}' as a number: unexpected '{unit[:12]}' after the number")
    return Quantity(value=parsed.value, unit_text=unit)
