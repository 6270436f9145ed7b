"""Render an item's text: replace ``{name}`` with a quantity's value, and format numbers.

Only plain ``{identifier}`` placeholders are recognised (no attribute access or
format specs, unlike str.format), so bank text cannot reach Python objects. How a
quantity prints is its ``Display`` (a derived quantity declares one; parameters use the
plain one).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class RenderError(ValueError):
    """A text names a quantity the item does not declare, or one that cannot be shown."""


def format_number(value: float) -> str:
    """32000 -> '32,000'; 1.3 -> '1.3'; 0.45 -> '0.45'; 1e-9 -> '1e-09'."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.6g}"


@dataclass(frozen=True)
class Display:
    """How a quantity prints: ``digits`` significant figures at most (14, 2.03, 34,360, 0.25),
    ``decimals`` fixed places (4.00), ``scientific`` as ``2.03 x 10^20`` (``digits`` in the mantissa, 3 unless
    given); none of them: ``format_number``."""

    digits: int | None = None
    decimals: int | None = None
    scientific: bool = False

    def format(self, value: float) -> str:
        if not math.isfinite(value):
            raise RenderError(f"cannot show {value}")
        if self.scientific:
            return _scientific(value, self.digits or 3)
        if self.decimals is not None:
            return f"{value:,.{self.decimals}f}"
        if self.digits is not None:
            return _significant(value, self.digits)
        return format_number(value)


def _significant(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant figures, written out without trailing zeros:
    34,360; 2.028; 0.25; 0.000123."""
    rounded = float(f"{value:.{digits}g}")
    if rounded == 0:
        return "0"
    if rounded.is_integer() and abs(rounded) < 1e15:
        return f"{int(rounded):,}"
    places = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:,.{places}f}".rstrip("0").rstrip(".")  # 0.25, not 0.2500


def _scientific(value: float, digits: int) -> str:
    """2.028e20 -> '2.03 x 10^20' (3 digits); exponent 0 is written too: '4.5 x 10^0'."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa} x 10^{int(exponent)}"


def placeholders(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


def render(template: str, values: Mapping[str, float],
           displays: Mapping[str, Display] | None = None) -> str:
    """Substitute every placeholder, each as its display says; RenderError on an unknown name."""
    missing = placeholders(template) - set(values)
    if missing:
        raise RenderError(f"text uses undeclared quantity(s): {', '.join(sorted(missing))}")
    plain = Display()
    shown = displays or {}
    return PLACEHOLDER.sub(lambda m: shown.get(m.group(1), plain).format(values[m.group(1)]), template)
