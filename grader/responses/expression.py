"""A small, safe arithmetic grammar for students' numeric answers.

Grammar (nothing else is accepted, and nothing is ever evaluated by Python)::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/" | "x" | "×" | "·" | "÷") unary)*
    unary  := ("+" | "-" | "−") unary | power
    power  := atom (("^" | "**") unary | SUPERSCRIPT)?   # right-associative
    atom   := NUMBER | "(" expr ")"

NUMBER is ASCII digits with optional thousands commas (``34,360``), a decimal
point and an ``e`` exponent. SUPERSCRIPT is an exponent in Unicode superscripts, as
pasted from a document: ``10⁹``, ``3.44·10¹⁰``, ``10⁻³``. Multiplication is also written
with the dots ``⋅`` and ``∙``. Values are floats; every step is checked so that no
result can be NaN, infinite or astronomically large (``9**9**9`` is refused
before anything big is computed). The expression stops at the first character
that cannot continue it; the rest of the text is returned as the unit.

The bank's own expressions (a derive item's derived quantities, ``evaluate``) use the same
grammar with one more atom: a NAME, which is a given variable, or one of ``BANK_FUNCTIONS``
applied to a parenthesised expression (``sqrt(budget / 120)``). Students' answers never get
names or functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MAX_TEXT = 200
MAX_DIGITS = 40
MAX_TOKENS = 60
MAX_DEPTH = 12
MAX_EXPONENT = 400  # |log10| of any intermediate value

_NUMBER = re.compile(r"[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+", re.ASCII)
_EXPONENT = re.compile(r"[eE][+\-]?[0-9]+", re.ASCII)
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?", re.ASCII)
_OPERATORS = {"+": "+", "-": "-", "\u2212": "-", "*": "*", "×": "*", "·": "*", "\u22c5": "*",
              "\u2219": "*", "/": "/", "÷": "/", "^": "^"}
_SUPERSCRIPT = re.compile("[\u207a\u207b]?[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+")
_FROM_SUPERSCRIPT = str.maketrans("\u207a\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079",
                                  "+-0123456789")
# A name before '(' (sqrt(2), os.system(...)); not the times sign 'x' alone: 2 x (1024 x 4096)
_CALL = re.compile(r"(?<![A-Za-z0-9_.])(?![xX]\s*\()[A-Za-z_][A-Za-z0-9_.]*\s*\(")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
BANK_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "sqrt": math.sqrt, "log10": math.log10, "log": math.log, "exp": math.exp,
    "floor": math.floor, "ceil": math.ceil, "round": round, "abs": abs,
}


class ExpressionError(ValueError):
    """Text that is not a readable number or arithmetic expression."""


@dataclass(frozen=True)
class Parsed:
    """The value of the arithmetic part, the text after it (the unit), and the arithmetic as
    written."""

    value: float
    rest: str
    text: str = ""


def _check(value: float, text: str) -> float:
    if not math.isfinite(value):
        raise ExpressionError(f"'{text}' is not a finite number")
    if value != 0 and abs(math.log10(abs(value))) > MAX_EXPONENT:
        raise ExpressionError(f"'{text}' is too large or too small (beyond 10^±{MAX_EXPONENT})")
    return value


class _Parser:
    """Recursive descent over ``text``; ``pos`` only moves forward."""

    def __init__(self, text: str, shown: str, names: Mapping[str, float] | None = None) -> None:
        self.text = text
        self.shown = shown
        self.names = names  # None for students' answers: no names, no functions
        self.pos = 0
        self.tokens = 0
        self.depth = 0

    # -- scanning -------------------------------------------------------------
    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def _peek(self) -> str:
        self._skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _fail(self, why: str) -> ExpressionError:
        return ExpressionError(f"could not read '{self.shown}' as a number: {why}")

    def _count(self) -> None:
        self.tokens += 1
        if self.tokens > MAX_TOKENS:
            raise self._fail(f"the expression is too long (at most {MAX_TOKENS} parts)")

    def _operand_follows(self, after: int) -> bool:
        """Whether a number, '(' or sign starts at or after index ``after``."""
        rest = self.text[after:].lstrip(" \t")
        if rest and self.names is not None and _NAME.match(rest):
            return True
        return bool(rest) and (rest[0].isdigit() or rest[0] in "(.+-\u2212")

    def _operator(self, allowed: str) -> str | None:
        """Consume a binary operator from ``allowed`` (canonical symbols) if one is next."""
        ch = self._peek()
        start = self.pos
        if self.text.startswith("**", start):
            symbol, width = "^", 2
        elif ch in ("x", "X"):
            # 'x' multiplies only between operands (3.4 x 10^4); otherwise it starts a unit.
            if not self._operand_follows(start + 1):
                return None
            symbol, width = "*", 1
        else:
            symbol, width = _OPERATORS.get(ch, ""), 1
        if not symbol or symbol not in allowed:
            return None
        if symbol == "/" and not self._operand_follows(start + 1):
            return None  # '50 /s': the slash belongs to the unit
        self.pos += width
        self._count()
        return symbol

    # -- grammar ----------------------------------------------------------------
    def expr(self) -> float:
        value = self.term()
        while (op := self._operator("+-")) is not None:
            rhs = self.term()
            value = _check(value + rhs if op == "+" else value - rhs, self.shown)
        return value

    def term(self) -> float:
        value = self.unary()
        while (op := self._operator("*/")) is not None:
            rhs = self.unary()
            if op == "/" and rhs == 0:
                raise self._fail("division by zero")
            value = _check(value * rhs if op == "*" else value / rhs, self.shown)
        return value

    def unary(self) -> float:
        ch = self._peek()
        if ch in ("+", "-", "\u2212"):
            self.pos += 1
            self._count()
            self._enter()
            value = self.unary()
            self.depth -= 1
            return -value if ch != "+" else value
        return self.power()

    def power(self) -> float:
        base = self.atom()
        superscript = _SUPERSCRIPT.match(self.text, self.pos)
        if superscript is not None:  # 10¹⁰, 2⁻³: a whole exponent, read as plain digits
            self.pos = superscript.end()
            self._count()
            digits = superscript.group().translate(_FROM_SUPERSCRIPT)
            if len(digits.lstrip("+-")) > 3:
                raise self._fail(f"the exponent is too large (at most {MAX_EXPONENT})")
            return _power(base, float(int(digits)), self.shown)
        if self._operator("^") is None:
            return base
        self._enter()
        exponent = self.unary()
        self.depth -= 1
        return _power(base, exponent, self.shown)

    def atom(self) -> float:
        ch = self._peek()
        if ch == "(":
            self.pos += 1
            self._count()
            self._enter()
            value = self.expr()
            self.depth -= 1
            if self._peek() != ")":
                raise self._fail("a '(' is not closed")
            self.pos += 1
            return value
        if self.names is not None and (name := _NAME.match(self.text, self.pos)) is not None:
            return self._name(name.group())
        if ch.isdigit() and not ch.isascii():
            raise self._fail("use the digits 0-9")
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            if not ch:
                raise self._fail("a number is missing at the end")
            raise self._fail(f"expected a number at '{ch}'")
        return self._number(match)

    def _number(self, match: re.Match[str]) -> float:
        literal = match.group()
        if "," in literal and not _GROUPED.fullmatch(literal):
            raise self._fail("a comma may only separate groups of three digits (52,000); "
                             "use '.' for the decimal point")
        self.pos = match.end()
        exponent = _EXPONENT.match(self.text, self.pos)
        if exponent is not None:
            self.pos = exponent.end()
        self._count()
        mantissa = literal.replace(",", "")
        if sum(c.isdigit() for c in mantissa) > MAX_DIGITS:
            raise self._fail(f"a number has more than {MAX_DIGITS} digits")
        power = int(exponent.group()[1:]) if exponent else 0
        if abs(power) > MAX_EXPONENT:
            raise self._fail(f"the exponent is too large (at most {MAX_EXPONENT})")
        return _check(float(f"{mantissa}e{power}"), self.shown)

    def _name(self, name: str) -> float:
        """A variable, or a function of ``BANK_FUNCTIONS`` applied to '(' expr ')'."""
        assert self.names is not None
        self.pos += len(name)
        self._count()
        if self._peek() != "(":
            if name not in self.names:
                raise self._fail(f"unknown name '{name}'")
            return _check(float(self.names[name]), self.shown)
        function = BANK_FUNCTIONS.get(name)
        if function is None:
            raise self._fail(f"unknown function '{name}' (known: {', '.join(BANK_FUNCTIONS)})")
        argument = self.atom()
        try:
            return _check(float(function(argument)), self.shown)
        except (ValueError, OverflowError):
            raise self._fail(f"{name}({argument:g}) is not defined") from None

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._fail(f"the expression is nested too deeply (at most {MAX_DEPTH} levels)")


def _power(base: float, exponent: float, shown: str) -> float:
    """base ** exponent, refusing results that are complex, infinite or huge."""
    if base == 0:
        if exponent < 0:
            raise ExpressionError(f"could not read '{shown}' as a number: division by zero")
        return 1.0 if exponent == 0 else 0.0
    if base < 0 and not float(exponent).is_integer():
        raise ExpressionError(
            f"could not read '{shown}' as a number: a negative number to a fractional power")
    magnitude = exponent * math.log10(abs(base))
    if abs(magnitude) > MAX_EXPONENT:
        raise ExpressionError(
            f"'{shown}' is too large or too small (beyond 10^±{MAX_EXPONENT})")
    try:
        return _check(math.pow(base, exponent), shown)
    except OverflowError:  # beyond a float (about 1.8 x 10^308), inside MAX_EXPONENT
        raise ExpressionError(f"'{shown}' is too large or too small (beyond 10^±308)") from None


def evaluate(text: str, names: Mapping[str, float]) -> float:
    """The value of a whole bank expression over ``names`` (see the module docstring)."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    if len(text) > MAX_TEXT:
        raise ExpressionError(f"the expression is too long ({len(text)} characters; at most {MAX_TEXT})")
    parser = _Parser(text, shown, names)
    value = parser.expr()
    parser._skip_space()
    if parser.pos != len(text):
        raise parser._fail(f"unexpected '{text[parser.pos:parser.pos + 12]}'")
    return value


def parse_expression(text: str) -> Parsed:
    """Read the arithmetic at the start of ``text``; raise ExpressionError if there is none.

    The caller decides what the returned ``rest`` (the unit text) may contain.
    """
    shown = text if len(text) <= 40 else text[:37] + "..."
    if len(text) > MAX_TEXT:
        raise ExpressionError(f"the answer is too long ({len(text)} characters; at most {MAX_TEXT})")
    if _CALL.search(text):
        raise ExpressionError(f"could not read '{shown}' as a number: function calls are not "
                              "allowed; write a number or arithmetic such as 2^20 or 1/3")
    parser = _Parser(text, shown)
    value = parser.expr()
    parser._skip_space()
    rest = text[parser.pos:]
    if rest[:1].isdigit():
        raise parser._fail(f"unexpected '{rest[:12]}' after a complete number; "
                           "write 52000 or 52,000 without spaces")
    if rest[:1] in (".", "("):
        raise parser._fail(f"unexpected '{rest[:12]}' after a complete number")
    if rest[:1] == ")":
        raise parser._fail("a ')' has no matching '('")
    return Parsed(value, rest.rstrip(), text[:parser.pos].strip())
