"""Read a student's numeric answer: a number or safe arithmetic, then an optional unit.

Accepted: ``34360``, ``34,360``, ``3.436e4``, ``3.4 x 10^4``, ``3.4×10^4``, ``3.4·10⁴``, ``2^20``,
``1/3``, ``34.36 GFLOPs``, ``$256``, ``17.6%``, ``-1.07``, each after an optional sign of
approximation (``≈ 34360``, ``~34,360``, ``about 34.36 GFLOPs``) and before optional working
in parentheses or after ``#`` (``34360 MFLOP (2*1024*4096*4096)``), which is kept apart and
never read. Nothing is evaluated by
Python: the arithmetic is read by the small grammar in ``grader.responses.expression``, with
caps on length, digits, nesting and magnitude. Every failure raises
AnswerFormatError with a message that names the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader.responses.expression import ExpressionError, parse_expression

_NOT_FINITE = {"nan", "inf", "infinity", ".nan", ".inf"}
# A sign or word of approximation before the number: it says nothing about the value.
_APPROXIMATELY = re.compile(r"(?:[\u2248\u2243\u2245\u223c~]|(?:about|approx\.?|approximately|roughly"
                            r"|around|circa|ca\.)(?=[\s$0-9.+\-\u2212(]))\s*", re.IGNORECASE)


class AnswerFormatError(ValueError):
    """A student's answer text that cannot be read as a number."""


@dataclass(frozen=True)
class Quantity:
    """A number and the unit text written after it ("" when none)."""

    value: float
    unit_text: str
    working: str = ""  # text after the answer, in parentheses or after '#': never read
    number_text: str = ""  # the number as written, without its unit ("" for a YAML number)


def parse_quantity(text: str) -> Quantity:
    """Parse ``text`` into a Quantity, or raise AnswerFormatError.

    Working after the answer (``34360 MFLOP (2*1024*4096*4096)``, ``34360 # 2^35/10^6``) is
    split off only when the answer before it reads on its own; it is returned, never read.
    """
    try:
        read = _parse_answer(text)
    except AnswerFormatError as unreadable:
        split = _split_working(text)
        if split is None:
            raise
        try:
            return _with_working(*split)
        except AnswerFormatError:
            raise unreadable from None
    # No unit holds '#' or '(': working after a unit (112 GB # 16 x 7, 27.3% (rounded)) reads as one
    split = _split_working(text) if "#" in read.unit_text or "(" in read.unit_text else None
    if split is None:
        return read
    try:
        return _with_working(*split)
    except AnswerFormatError:
        return read  # the unit's reader says what is wrong with it


def _with_working(answer: str, working: str) -> Quantity:
    """``answer`` read on its own, with ``working`` set aside."""
    read = _parse_answer(answer)
    return Quantity(read.value, read.unit_text, working, read.number_text)


def _split_working(text: str) -> tuple[str, str] | None:
    """(answer, working) when ``text`` ends with a '(...)' group or holds a '#'; else None."""
    if "#" in text:
        answer, _, working = text.partition("#")
        return (answer, working.strip()) if answer.strip() and working.strip() else None
    stripped = text.rstrip()
    if not stripped.endswith(")"):
        return None
    depth = 0
    for i in range(len(stripped) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(stripped[i], 0)
        if depth == 0:
            answer, working = stripped[:i], stripped[i + 1:-1].strip()
            return (answer, working) if answer.strip() and working else None
    return None


def _parse_answer(text: str) -> Quantity:
    """A number and its unit, with nothing after them."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    stripped = text.strip()
    if not stripped:
        raise AnswerFormatError("the answer is empty")
    approximately = _APPROXIMATELY.match(stripped)
    if approximately is not None:
        text = stripped = stripped[approximately.end():]
        if not stripped:
            raise AnswerFormatError(f"'{shown}' has no number after the sign of approximation")
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
    return Quantity(value=parsed.value, unit_text=unit, number_text=parsed.text)
