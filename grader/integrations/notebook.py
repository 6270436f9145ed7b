"""Checks that nbgrader notebooks call from their test cells (``grade export nbgrader``).

A notebook kernel runs the student's code anyway (that is nbgrader's model), so these
run in the kernel: ``check_format`` and ``run_code_tests`` are the visible checks,
``score`` and ``run_code_tests(..., suite="hidden", points=...)`` sit in the hidden
part of a test cell and return the points earned, which nbgrader reads as partial
credit. The same rules as ``grade check`` decide; nothing writes to stderr (nbgrader
scores a cell that does as zero), and a student value is data, never evaluated.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import sys
import types
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader import DISTRIBUTION
from grader.bank.loader import load_bank
from grader.core.paths import default_bank_dir
from grader.grading.pipeline import check_format as _format_result
from grader.grading.pipeline import grade_entries
from grader.model.bank import Bank, Item
from grader.responses.answers_file import MAX_LIST, WrongShape
from grader.results.points import score_text
from grader.results.result import Result, error
from grader.workspace.manifest import ManifestItem, manifest_item


@lru_cache(maxsize=1)
def _bank() -> Bank:
    return load_bank(default_bank_dir()).bank


def _item(item_id: str) -> Item:
    item = _bank().items.get(item_id)
    if item is None:
        raise AssertionError(f"Item {item_id} is not in the installed bank: update {DISTRIBUTION}.")
    return item


def as_response(value: object) -> object:
    """A notebook value as the rules read it: None, a number, text, a list of text, or WrongShape."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return WrongShape("True/False")
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple):
        if len(value) > MAX_LIST:
            return WrongShape(f"a list of {len(value)} entries (at most {MAX_LIST})")
        if all(isinstance(v, str) for v in value):
            return list(value)
        return WrongShape("a list that holds something other than text")
    return WrongShape(f"a {type(value).__name__}")


def check_format(item_id: str, answer: object, params: Mapping[str, float] | None = None) -> None:
    """Visible check: raise AssertionError unless ``answer`` can be read (unit, options, shape)."""
    if answer is None:
        raise AssertionError(f"No answer yet: set the answer variable of {item_id} in the cell above.")
    entry = manifest_item(_item(item_id), params)
    result = _format_result(entry, as_response(answer))
    if not result.status.answered:
        raise AssertionError(" ".join(result.feedback))
    print(f"{item_id}: your answer can be read. It is graded when you submit.")


def score(item_id: str, answer: object, points: float = 1.0,
          params: Mapping[str, float] | None = None) -> float:
    """Hidden check: the points ``answer`` earns, printing the grader's feedback."""
    item = _item(item_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entry = manifest_item(item, params, points)
        [(_, result)] = grade_entries([entry], {item_id: as_response(answer)}, _bank(), _no_files)
    earned = min(points, round(result.score * points, 6))
    print(f"{item_id}: {result.status}, {score_text(earned, points)} points. "
          + " ".join(result.feedback[:1]))
    return earned


def _no_files(entries: Sequence[ManifestItem]) -> dict[str, Result]:
    """The notebook's code items run their tests in the kernel (run_code_tests), not here."""
    return {e.id: error(f"{e.id} is a code item: run_code_tests checks it") for e in entries}


@contextlib.contextmanager
def _entry_module(name: str, attr: str, func: Callable[..., Any]) -> Iterator[None]:
    """``from NAME import ATTR`` in the test file gets the notebook's function."""
    saved = sys.modules.get(name)
    module = types.ModuleType(name)
    setattr(module, attr, func)
    sys.modules[name] = module
    try:
        yield
    finally:
        if saved is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = saved


def _cases(module: types.ModuleType) -> list[tuple[str, Callable[..., Any], dict[str, Any]]]:
    """Every test of a module: ``test_*`` functions, ``pytest.mark.parametrize`` expanded."""
    cases = []
    for name, func in vars(module).items():
        if not (name.startswith("test_") and callable(func)):
            continue
        grids = [m for m in getattr(func, "pytestmark", []) if getattr(m, "name", "") == "parametrize"]
        expansions: list[list[dict[str, Any]]] = []
        for mark in grids:
            names = [n.strip() for n in (mark.args[0].split(",") if isinstance(mark.args[0], str)
                                         else mark.args[0])]
            values = [v if len(names) > 1 else (v,) for v in mark.args[1]]
            expansions.append([dict(zip(names, v, strict=True)) for v in values])
        for combo in itertools.product(*expansions):
            kwargs = {k: v for part in combo for k, v in part.items()}
            label = name + (f"[{'-'.join(map(str, kwargs.values()))}]" if kwargs else "")
            cases.append((label, func, kwargs))
    return cases


def run_code_tests(item_id: str, func: Callable[..., Any], suite: str = "public",
                   points: float | None = None) -> float | None:
    """Run a code item's public (or hidden) tests on ``func`` and print which fail.

    With ``points``, return the points earned: one share per passing test.
    """
    item = _item(item_id)
    if item.code is None:
        raise AssertionError(f"Item {item_id} is not a code item.")
    path = Path(_bank().root) / (item.code.hidden_tests if suite == "hidden" else item.code.public_tests)
    spec = importlib.util.spec_from_file_location(f"_grade_tests_{uuid.uuid4().hex}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with _entry_module(Path(item.code.template).stem, item.code.entry_point, func), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.loader.exec_module(module)
        cases = _cases(module)
        failed = []
        for label, test, kwargs in cases:
            try:
                test(**kwargs)
            except Exception as exc:
                failed.append(f"{label} ({type(exc).__name__})")
    passed = len(cases) - len(failed)
    print(f"{item_id}: {passed} of {len(cases)} {suite} tests pass."
          + "".join(f"\n  failed: {f}" for f in failed))
    if points is None:
        return None
    return min(points, round(points * passed / len(cases), 6)) if cases else 0.0
