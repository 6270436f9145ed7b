"""``grade validate``'s checks that a derive item's text follows its variant.

Every number a student reads (title, prompt, hints, worked solution, known-mistake feedback)
is a placeholder rendered from the variant, or a literal that stays the same for everyone.
So a literal that equals a varied quantity's default (a parameter with a range, a derived
quantity that changes, the answer) is reported, unless the item lists it in
``fixed_numbers``; the text's placeholders must be declared, titles have none (they name the
item for everyone), and quantities that reveal the answer appear only in the worked solution.
Each sampled variant must render and keep the item's ``facts``, the relations its text states.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from grader.model.bank import Item
from grader.model.constraints import broken, check_names
from grader.model.derived import ANSWER, secret_names
from grader.model.render import PLACEHOLDER, Display
from grader.model.text import item_text, quantities, text_fields

# A number as text writes it: not glued to a word ("fp32", "A100", "GPT-3", the 9 of "1e9"),
# and not the base of a power ("10^9", "2^20": bases are the notation, not a given). The number is
# matched once, whole ((?=(...))\1 never backtracks into it: digits and commas before a '^' made
# the lookahead retry every shorter prefix, cubic in the run's length).
_LITERAL = re.compile(r"(?<![\w.])(?<![A-Za-z]-)(?=(\d(?:[\d,]*\d)?(?:\.\d+)?))\1(?![\d.,]*\^)")
MIN_ROUNDED_DIGITS = 3  # "20" is not 20.3 rounded, but "34,360" is 34,359.7 rounded


def template_problems(item: Item) -> list[tuple[str, str]]:
    """(where, message) for undeclared or misplaced placeholders, and bad derived quantities
    and facts."""
    out: list[tuple[str, str]] = []
    declared: set[str] = set(item.params) | {ANSWER}
    for name, d in item.derived.items():
        where = f"$.derived.{name}"
        if name in declared:
            out.append((where, f"'{name}' is already a parameter (or the answer)"))
        unknown = d.names() - declared
        if unknown:
            out.append((where, f"uses {', '.join(sorted(unknown))}, which is not a parameter, "
                               "'answer' or a quantity declared above it"))
        declared.add(name)
    secret = secret_names(item.derived, item.solver) | {ANSWER}
    for where, template in text_fields(item):
        used = set(PLACEHOLDER.findall(template))
        if used - declared:
            out.append((where, f"uses undeclared quantity(s): {', '.join(sorted(used - declared))}"))
        elif where == "$.title" and used:
            out.append((where, "a title is the same for every variant: word it without placeholders"))
        elif where != "$.derivation" and used & secret:
            out.append((where, f"{', '.join(sorted(used & secret))} reveal(s) the answer: only the "
                               "derivation may show it"))
    quantities_named = {n: None for n in declared}
    out += [("$.facts", text) for text in check_names(item.facts, quantities_named)]
    return out


def variant_text_problem(item: Item, params: Mapping[str, float]) -> str | None:
    """Why the text at ``params`` cannot be shown (a placeholder that does not render, a
    stated fact that does not hold), or None."""
    item_text(item, params)  # raises RenderError / DerivedError
    values, _ = quantities(item, params)
    bad = broken(item.facts, values)
    if bad:
        shown = ", ".join(f"{k}={v:g}" for k, v in values.items())
        return f"the text states {', '.join(bad)}, which is false at {{{shown}}}"
    return None


@dataclass
class Varied:
    """The quantities that change between variants, at their defaults."""

    defaults: dict[str, float] = field(default_factory=dict)
    displays: dict[str, str] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)

    def see(self, values: Mapping[str, float], displays: Mapping[str, Display]) -> None:
        """Record one variant's quantities (the first call records the defaults)."""
        plain = Display()
        shown = {n: displays.get(n, plain).format(v) for n, v in values.items()}
        if not self.defaults:
            self.defaults, self.displays = dict(values), shown
            return
        self.changed |= {n for n in shown if shown[n] != self.displays.get(n)}


def default_number_problems(item: Item, varied: Varied) -> list[tuple[str, str]]:
    """(where, message) for each literal number that equals a varied quantity's default."""
    fixed = set(item.fixed_numbers)
    out: list[tuple[str, str]] = []
    for where, template in text_fields(item):
        literal_text = PLACEHOLDER.sub(" ", template)
        for token in dict.fromkeys(_LITERAL.findall(literal_text)):
            written = float(token.replace(",", ""))
            if written in fixed:
                continue
            hits = [n for n in sorted(varied.changed)
                    if _same_number(token, varied.defaults[n], varied.displays[n])]
            if hits:
                name = hits[0]
                fix = (f"write {{{name}}}" if name != ANSWER else
                       "declare a derived quantity from 'answer' and write it")
                out.append((where, f"'{token}' is the default of {name} ({varied.displays[name]}), which "
                                   f"changes between variants: {fix}, or list {token} in fixed_numbers "
                                   "if it must stay"))
    return out


def _same_number(token: str, value: float, display: str) -> bool:
    """Whether ``token`` states ``value``: as its display does, or rounded to the token's
    significant digits (3 or more), at any power of ten."""
    written = float(token.replace(",", ""))
    shown = _LITERAL.search(display)
    if shown is not None and float(shown.group().replace(",", "")) == written:
        return True
    digits = len(token.replace(",", "").replace(".", "").strip("0"))
    if digits < MIN_ROUNDED_DIGITS or value == 0 or written == 0 or not math.isfinite(value):
        return False
    return math.isclose(_mantissa(written), float(f"{_mantissa(abs(value)):.{digits - 1}f}"), rel_tol=1e-9)


def _mantissa(value: float) -> float:
    return value / 10 ** math.floor(math.log10(value))
