"""Resolve and run reference solvers named in the bank as ``solutions.module:function``.

Only modules inside the course's ``solutions`` folder can be named (the schema and this
module both check), so bank YAML cannot reach arbitrary code. They import as
``grader.course.solutions.module``, from the checkout or from inside the wheel.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from collections.abc import Callable, Mapping

_REF = re.compile(r"^solutions(\.[a-z_][a-z0-9_]*)+:[a-z_][a-z0-9_]*$")
PACKAGE = "grader.course"  # where the bank's ``solutions`` is imported from


class SolverError(Exception):
    """A solver that cannot be found, raises, or returns something unusable."""


def resolve(ref: str) -> Callable[..., float]:
    """Import ``solutions.module:function`` and return the function."""
    if not _REF.match(ref):
        raise SolverError(f"solver reference {ref!r} must look like solutions.module:function")
    module_name, func_name = ref.split(":")
    try:
        module = importlib.import_module(f"{PACKAGE}.{module_name}")
    except ImportError as exc:
        raise SolverError(f"cannot import {module_name}: {exc}") from exc
    func = getattr(module, func_name, None)
    if not inspect.isfunction(func) or func.__module__ != module.__name__:
        raise SolverError(f"{ref}: no function {func_name} defined in {module_name}")
    return func


def run_solver(ref: str, params: Mapping[str, float]) -> float:
    """Call a solver with every parameter as a keyword; return a finite float."""
    func = resolve(ref)
    try:
        value = func(**params)
    except Exception as exc:  # the solver is code under test here: report, never crash
        raise SolverError(f"{ref} raised {type(exc).__name__}: {exc}") from exc
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SolverError(f"{ref} returned {type(value).__name__}, not a number")
    if not math.isfinite(value):
        raise SolverError(f"{ref} returned {value}, not a finite number")
    return float(value)
