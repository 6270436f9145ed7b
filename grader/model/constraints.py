"""Relations between a derive item's parameters that every variant must keep.

A constraint is one line of a tiny grammar, ``NAME OP OPERAND``, where OP is one of
``divides < <= > >= !=`` and OPERAND is a parameter name or a number, e.g.
``n_kv_heads divides n_heads`` or ``top_k <= n_experts``. Bank YAML is untrusted
too, so the text is matched by a regular expression and never evaluated.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_PATTERN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+(divides|<=|>=|!=|<|>)\s+"
                      r"([A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?)\s*$")


def _divides(a: float, b: float) -> bool:
    return a != 0 and math.isclose(b / a, round(b / a), rel_tol=0, abs_tol=1e-9)


_OPS: dict[str, Callable[[float, float], bool]] = {
    "divides": _divides, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "!=": operator.ne,
}


class ConstraintError(ValueError):
    """A constraint line that does not follow the grammar or names an unknown parameter."""


@dataclass(frozen=True)
class Constraint:
    left: str
    op: str
    right: str | float
    text: str

    def names(self) -> set[str]:
        return {self.left} | ({self.right} if isinstance(self.right, str) else set())

    def holds(self, params: Mapping[str, float]) -> bool:
        right = params[self.right] if isinstance(self.right, str) else self.right
        return _OPS[self.op](params[self.left], right)


def parse_constraint(text: str) -> Constraint:
    match = _PATTERN.match(text)
    if match is None:
        raise ConstraintError(f"constraint {text[:80]!r} is not 'NAME OP NAME-or-NUMBER' "
                              f"with OP one of {', '.join(_OPS)}")
    left, op, right = match.groups()
    is_name = right[0].isalpha() or right[0] == "_"
    return Constraint(left, op, right if is_name else float(right), text.strip())


def check_names(constraints: tuple[Constraint, ...], params: Mapping[str, object]) -> list[str]:
    """Problems: constraints naming parameters the item does not declare."""
    return [f"constraint '{c.text}' names unknown parameter(s) {', '.join(sorted(c.names() - set(params)))}"
            for c in constraints if c.names() - set(params)]


def broken(constraints: tuple[Constraint, ...], params: Mapping[str, float]) -> list[str]:
    """The constraints ``params`` break (by text)."""
    return [c.text for c in constraints if not c.holds(params)]
