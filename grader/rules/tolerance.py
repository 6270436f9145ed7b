"""Tolerance rules for numeric answers: relative, absolute, sig_figs, decimals.

Every rule except ``relative`` is applied to values in the unit the question
asks for. The default (no rule on the item) is relative 1%, as PrairieLearn
does for numeric questions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

RULES = ("relative", "absolute", "sig_figs", "decimals")
# Slack for floating-point noise in the boundary comparison (parts per 10^9).
_FLOAT_SLACK = 1e-9


@dataclass(frozen=True)
class Tolerance:
    """One rule and its value."""

    rule: str
    value: float

    @classmethod
    def from_spec(cls, spec: Mapping[str, float] | None) -> Tolerance:
        """Build from the bank's ``tolerance`` mapping (exactly one key), or the default."""
        if not spec:
            return DEFAULT_TOLERANCE
        if len(spec) != 1:
            raise ValueError(f"a tolerance has exactly one rule, got {sorted(spec)}")
        (rule, value), = spec.items()
        if rule not in RULES:
            raise ValueError(f"unknown tolerance rule '{rule}' (one of {', '.join(RULES)})")
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ValueError(f"tolerance {rule} must be a finite non-negative number")
        if rule in ("sig_figs", "decimals") and value != int(value):
            raise ValueError(f"tolerance {rule} must be a whole number")
        if rule == "sig_figs" and value < 1:
            raise ValueError("tolerance sig_figs must be at least 1")
        return cls(rule, float(value))

    def allowed_error(self, expected: float) -> float:
        """Largest |given - expected| accepted, in the asked unit."""
        if self.rule == "relative":
            return self.value * abs(expected)
        if self.rule == "absolute":
            return self.value
        if self.rule == "decimals":
            return 0.5 * 10.0 ** (-self.value)
        # sig_figs: half a unit in the last significant place of the expected value
        if expected == 0:
            return 0.5 * 10.0 ** (-self.value)
        magnitude = math.floor(math.log10(abs(expected)))
        return 0.5 * 10.0 ** (magnitude - self.value + 1)

    def accepts(self, given: float, expected: float) -> bool:
        """Is ``given`` within tolerance of ``expected``?"""
        if not (math.isfinite(given) and math.isfinite(expected)):
            return False
        allowed = self.allowed_error(expected)
        slack = _FLOAT_SLACK * max(allowed, abs(expected) * 1e-6)
        return abs(given - expected) <= allowed + slack

    def expected_range(self, given: float) -> tuple[float, float] | None:
        """[low, high] holding every expected value at which ``given`` is accepted (a little
        wider: a bound for searching sorted keys, each then checked by the rule); None for a
        value that is not finite."""
        if not math.isfinite(given):
            return None
        if self.rule in ("absolute", "decimals"):
            pad = self.allowed_error(given) * (1 + 1e-6) + 1e-12 * abs(given) + 1e-300
            return given - pad, given + pad
        # relative, or sig_figs: at most half a unit in the first digit, 5 x 10^-s of the value
        rel = self.value if self.rule == "relative" else 0.5 * 10.0 ** (1 - self.value)
        rel += 1e-6
        if rel >= 1:  # a key of either sign, or zero, may accept it
            return -math.inf, math.inf
        low, high = sorted((given / (1 + rel), given / (1 - rel)))
        if self.rule == "sig_figs" and abs(given) <= 0.5 * 10.0 ** (-self.value) * (1 + 1e-6):
            low, high = min(low, 0.0), max(high, 0.0)  # an expected 0 is checked to s decimals
        return low, high

    def relative_equivalent(self, expected: float, cap: float) -> float:
        """This rule's width as a relative tolerance around ``expected``, at most ``cap``."""
        if expected == 0:
            return cap
        return min(cap, max(self.allowed_error(expected) / abs(expected), 1e-12))

    def describe(self) -> str:
        """Words for students: 'within 1%', 'to 2 decimal places'."""
        if self.rule == "relative":
            return f"within {self.value * 100:g}%"
        if self.rule == "absolute":
            return f"within ±{self.value:g}"
        if self.rule == "decimals":
            n = int(self.value)
            return "to the nearest whole number" if n == 0 else f"to {n} decimal place{'s' * (n > 1)}"
        n = int(self.value)
        return f"to {n} significant figure{'s' * (n > 1)}"

    def precision_wanted(self) -> str:
        """How precisely to give an answer so that rounding alone never fails this rule:
        'at least 3 significant figures', '2 decimal places', 'the nearest whole number'.
        Depends on the rule only, never on the answer."""
        if self.rule == "sig_figs":
            return _figures(int(self.value))
        if self.rule == "relative":
            if self.value <= 0:
                return "the exact value"
            # s figures round a value by at most 0.5 x 10^(1-s) of it (mantissa 1): within the rule
            return "at least " + _figures(max(1, math.ceil(1 - math.log10(2 * self.value) - 1e-9)))
        if self.rule == "absolute" and self.value <= 0:
            return "the exact value"
        places = int(self.value) if self.rule == "decimals" else math.ceil(-math.log10(2 * self.value) - 1e-9)
        if places < 0:  # within ±5: rounded to the nearest 10 is close enough
            return f"the nearest {10 ** -places:,}"
        if places == 0:
            return "the nearest whole number"
        return f"{places} decimal place{'s' * (places > 1)}"


def _figures(n: int) -> str:
    return f"{n} significant figure{'s' * (n > 1)}"


DEFAULT_TOLERANCE = Tolerance("relative", 0.01)
