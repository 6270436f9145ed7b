"""Render prompts: replace ``{name}`` with a parameter's value, and format numbers.

Only plain ``{identifier}`` placeholders are recognised (no attribute access or
format specs, unlike str.format), so bank text cannot reach Python objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class RenderError(ValueError):
    """A prompt names a parameter the item does not declare."""


def format_number(value: float) -> str:
    """32000 -> '32,000'; 1.3 -> '1.3'; 0.45 -> '0.45'; 1e-9 -> '1e-09'."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.6g}"


def placeholders(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


def render(template: str, values: Mapping[str, float]) -> str:
    """Substitute every placeholder; raise RenderError on an unknown name."""
    missing = placeholders(template) - set(values)
    if missing:
        raise RenderError(f"prompt uses undeclared parameter(s): {', '.join(sorted(missing))}")
    return PLACEHOLDER.sub(lambda m: format_number(values[m.group(1)]), template)
