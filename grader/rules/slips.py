"""Generic slips the grader recognises without being told: powers of ten and
1000-vs-1024 prefix mix-ups, alone or together, a flipped sign, and a near miss (within a few
percent, as from rounding too early or giving too few figures)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from grader.rules.tolerance import Tolerance

_BINARY_STEP = 1024 / 1000
_MAX_DECADES = 30
_MAX_BINARY_STEPS = 5
# Slips are judged relatively and never more loosely than 1%: 1024/1000 is 2.4%.
_SLIP_WINDOW = 0.01
# A near miss: this close to the answer (relatively) without being within its tolerance.
CLOSE_WINDOW = 0.05


@dataclass(frozen=True)
class Slip:
    """A recognised slip: the factor by which the answer is off and advice."""

    label: str
    factor: float
    message: str


def _power_of_ten_words(k: int) -> str:
    return f"10^{k}" if k != 1 else "10"


def find_slip(given: float, expected: float, tolerance: Tolerance, *,
              bytes_involved: bool = False) -> Slip | None:
    """Return the slip that explains ``given`` (both values in the asked unit), if any.

    1000-vs-1024 factors are considered only when ``bytes_involved``.
    """
    if expected == 0 or given == 0 or not (math.isfinite(given) and math.isfinite(expected)):
        return None
    window = Tolerance("relative", tolerance.relative_equivalent(expected, _SLIP_WINDOW))
    if window.accepts(given, -expected):
        return Slip("sign", -1.0, "The magnitude is right but the sign is flipped.")
    ratio = abs(given / expected)
    if ratio <= 0 or not math.isfinite(ratio):  # 1e308 for an answer below 1: no slip to name
        return None
    sign = 1.0 if given / expected > 0 else -1.0
    steps = _MAX_BINARY_STEPS if bytes_involved else 0
    for n in sorted(range(-steps, steps + 1), key=abs):
        rest = ratio / _BINARY_STEP**n
        k = round(math.log10(rest))
        if (n, k) == (0, 0) or abs(k) > _MAX_DECADES:
            continue
        factor = sign * _BINARY_STEP**n * 10.0**k
        if not window.accepts(given, expected * factor):
            continue
        return _describe(n, k, factor)
    return None


def _describe(n: int, k: int, factor: float) -> Slip:
    parts = []
    if k:
        direction = "too large" if k > 0 else "too small"
        parts.append(f"off by a factor of {_power_of_ten_words(abs(k))} ({direction}): "
                     "check the unit prefix you converted to")
    if n:
        parts.append(
            f"off by (1024/1000)^{abs(n)}: you mixed decimal prefixes (k, M, G: powers of 1000) "
            "with binary ones (Ki, Mi, Gi: powers of 1024)"
        )
    label = "+".join(filter(None, [f"10^{k}" if k else "", f"binary^{n}" if n else ""]))
    return Slip(label=label, factor=factor, message="Your answer is " + "; and ".join(parts) + ".")


def near_miss(given: float, expected: float, tolerance: Tolerance) -> Slip | None:
    """A value within CLOSE_WINDOW of ``expected`` that ``tolerance`` refuses. The message says
    how precisely the question wants the answer, never how far off this one is."""
    if expected == 0 or not math.isfinite(given) or tolerance.accepts(given, expected):
        return None
    if abs(given - expected) > CLOSE_WINDOW * abs(expected):
        return None
    return Slip("close", given / expected,
                f"Close, but outside the tolerance (checked {tolerance.describe()}): your answer "
                f"is within {CLOSE_WINDOW:.0%} of the right value. The question wants "
                f"{tolerance.precision_wanted()}; keep full precision until the last step.")
