"""Derived quantities of a derive item: numbers its text shows that follow from the parameters.

A derived quantity is computed either by an expression over the parameters, the quantities
declared before it and ``answer`` (the item's answer in its asked unit), in the safe grammar
of ``grader.responses.expression`` (never Python's eval), or by a solver of the
``solutions`` package called with every parameter, like the item's own solver. It prints as
its ``Display`` says. A quantity that uses the answer, or is the item's own solver, is
*secret*: only the worked solution may show it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.model.render import Display
from grader.model.solvers import SolverError, run_solver
from grader.responses.expression import BANK_FUNCTIONS, ExpressionError, evaluate

ANSWER = "answer"  # the name under which expressions see the item's answer (asked unit)
_NAME = re.compile(r"(?<![\w.])[A-Za-z_][A-Za-z0-9_]*")  # not the e9 of 1e9


class DerivedError(ValueError):
    """A derived quantity that cannot be computed (a bad expression, a failing solver)."""


@dataclass(frozen=True)
class Derived:
    """One declared quantity: ``expr`` or ``solver`` (exactly one), and how it prints."""

    name: str
    expr: str | None = None
    solver: str | None = None
    display: Display = field(default_factory=Display)

    @classmethod
    def from_yaml(cls, name: str, raw: Mapping[str, Any]) -> Derived:
        return cls(name, raw.get("expr"), raw.get("solver"),
                   Display(raw.get("digits"), raw.get("decimals"), bool(raw.get("scientific"))))

    def names(self) -> set[str]:
        """The names its expression uses (variables, not functions)."""
        return expression_names(self.expr or "")


def expression_names(expr: str) -> set[str]:
    """The variables a bank expression uses (not its functions)."""
    return set(_NAME.findall(expr)) - set(BANK_FUNCTIONS)


def secret_names(derived: Mapping[str, Derived], solver: str | None) -> set[str]:
    """The derived quantities that reveal the answer: they use ``answer`` (or another such
    quantity), or they are the item's own solver."""
    out: set[str] = set()
    for name, d in derived.items():  # declared in order: a quantity uses only earlier ones
        if (d.solver is not None and d.solver == solver) or d.names() & (out | {ANSWER}):
            out.add(name)
    return out


def computed_param(name: str, expr: str, values: Mapping[str, float]) -> float:
    """A parameter computed from ``values`` (the parameters above it) by ``expr``."""
    try:
        return float(f"{evaluate(expr, values):.12g}")  # as a drawn value: what the prompt prints
    except ExpressionError as exc:
        raise DerivedError(f"parameter '{name}': {exc}") from None


def compute_derived(derived: Mapping[str, Derived], params: Mapping[str, float],
                    answer: float | None) -> dict[str, float]:
    """Every derived quantity's value at ``params`` (``answer`` in the asked unit)."""
    names: dict[str, float] = dict(params)
    if answer is not None:
        names[ANSWER] = answer
    out: dict[str, float] = {}
    for name, d in derived.items():
        try:
            value = run_solver(d.solver, params) if d.solver is not None else evaluate(d.expr or "", names)
        except (ExpressionError, SolverError) as exc:
            raise DerivedError(f"derived '{name}': {exc}") from None
        names[name] = out[name] = value
    return out
