"""The files ``grade batch`` and ``grade merge`` derive from ``results/*.json``: a registry.

Each output format is one module of this package that registers one ``Reporter`` with
``@reporter(name)``: a function from the class's typed results to the files it writes
(paths relative to the output folder, and their text). ``reporters()`` finds them all, so
adding a format is adding a module. A reporter must be deterministic (the files are
byte-identical however the class was graded: one run, resumed, or shards merged) and must
render every ``Status`` (tests/test_status.py renders each through every reporter).
``terminal`` is the other kind of output: the rich views of one check and of progress.

Imports result types and ``grading.check``'s report type; never runners, rules or the CLI.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.results.status import Status

# a student's result document's "status": how the submission went (each item has its Status)
GRADED, ERROR, NO_SUBMISSION = "graded", "error", "no submission"

Number = int | float  # as the result file has it: the outputs write the same number back


def _number(value: object, what: str) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} is not a number")
    return value


@dataclass(frozen=True)
class ItemResult:
    """One item of a student's result: ``{status, score, max_score, feedback}``."""

    status: Status
    score: Number
    max_score: Number
    feedback: str

    @classmethod
    def from_json(cls, item_id: str, doc: object) -> ItemResult:
        if not isinstance(doc, dict):
            raise ValueError(f"item {item_id} is not an object")
        status = Status.lookup(doc.get("status"))
        if status is None:
            raise ValueError(f"item {item_id} has no known status")
        if not isinstance(doc.get("feedback"), str):
            raise ValueError(f"item {item_id} has no feedback")
        return cls(status, _number(doc.get("score"), f"item {item_id}'s score"),
                   _number(doc.get("max_score"), f"item {item_id}'s max_score"), doc["feedback"])


@dataclass(frozen=True)
class Answer:
    """What item analysis keeps of a written answer: its text (cut) and what it matched."""

    answer: str
    matched: str | None


@dataclass(frozen=True)
class StudentResult:
    """One student's result document (``results/<student>.json``), typed."""

    student: str
    status: str  # GRADED, ERROR or NO_SUBMISSION
    error: str | None
    total: Number
    max_total: Number
    items: dict[str, ItemResult]
    analysis: dict[str, Answer] = field(default_factory=dict)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> StudentResult:
        """The typed result; ValueError when ``doc`` is not a result document."""
        if not isinstance(doc, Mapping) or not isinstance(doc.get("student"), str) \
                or not isinstance(doc.get("status"), str) or not isinstance(doc.get("items"), dict):
            raise ValueError("not a result document")
        analysis = doc.get("analysis") or {}
        if not isinstance(analysis, dict) or not all(
                isinstance(a, dict) and isinstance(a.get("matched"), str | None) for a in analysis.values()):
            raise ValueError("its analysis is not a mapping of answers")
        error = doc.get("error")
        return cls(doc["student"], doc["status"], None if error is None else str(error),
                   _number(doc.get("total"), "total"), _number(doc.get("max_total"), "max_total"),
                   {str(i): ItemResult.from_json(str(i), e) for i, e in doc["items"].items()},
                   {str(i): Answer(str(a.get("answer", "")), a.get("matched")) for i, a in analysis.items()})


@dataclass(frozen=True)
class ClassResults:
    """What every reporter renders: the students' results in student-id order, and the items'
    titles (by id) where the bank is known."""

    students: tuple[StudentResult, ...]
    titles: Mapping[str, str] = field(default_factory=dict)

    @property
    def item_ids(self) -> list[str]:
        """The items, in the order of the first student's result (all have the same items)."""
        return list(self.students[0].items) if self.students else []


Render = Callable[[ClassResults], dict[str, str]]  # the results -> {relative path: text}


@dataclass(frozen=True)
class Reporter:
    name: str  # what the batch summary lists, e.g. "junit.xml" or "gradescope/"
    render: Render


_REGISTRY: dict[str, Reporter] = {}


def reporter(name: str) -> Callable[[Render], Render]:
    """Register the decorated function as the reporter that writes ``name``."""
    def register(render: Render) -> Render:
        if name in _REGISTRY and _REGISTRY[name].render is not render:
            raise ValueError(f"two reporters write {name}")
        _REGISTRY[name] = Reporter(name, render)
        return render
    return register


VIEWS = {"terminal"}  # modules of this package that are views of one check, not class files


def reporters() -> list[Reporter]:
    """Every format's reporter (each module of this package imported), by name."""
    for module in pkgutil.iter_modules(__path__):
        if module.name in VIEWS:
            continue
        importlib.import_module(f"{__name__}.{module.name}")
    return sorted(_REGISTRY.values(), key=lambda r: r.name)
