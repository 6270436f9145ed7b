"""The files ``grade batch`` and ``grade merge`` derive from ``results/*.json``: a registry.

Each output format is one module of this package that registers one ``Reporter`` subclass
with ``@reporter(name)``. The class's results stream past every reporter in one pass, in
student-id order, so memory is bounded by the number of items, not of students: a reporter
is started with what is known before the first student (``ClassInfo``: the items, and where
files go), is shown each student once (``add``), and finishes its files in ``close``, where
the class's statistics (``grader.reporters.statistics``) are complete. A file written per
student goes out at once (``Output.write``); a file for the class is written as it grows
(``Output.stream``). ``reporters()`` finds them all, so adding a format is adding a module.
A reporter must be deterministic (the files are byte-identical however the class was graded:
one run, resumed, or shards merged) and must render every ``Status`` (tests/test_status.py
renders each through every reporter). ``terminal`` is the other kind of output: the rich
views of one check and of progress.

Imports result types and ``grading.check``'s report type; never runners, rules or the CLI.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol, TypeVar, cast

from grader.results.status import Status

if TYPE_CHECKING:
    from grader.reporters.statistics import ClassStatistics

# a student's result document's "status": how the submission went (each item has its Status)
GRADED, ERROR, NO_SUBMISSION = "graded", "error", "no submission"

Number = int | float  # as the result file has it: the outputs write the same number back


_NUMBERS = (int, float)  # what json.loads makes of a number (never a bool)


def _number(value: object, what: str) -> Number:
    if type(value) not in _NUMBERS:
        raise ValueError(f"{what} is not a number")
    return value  # type: ignore[return-value]  # checked: an int or a float


class ItemResult(NamedTuple):
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
        feedback, score, max_score = doc.get("feedback"), doc.get("score"), doc.get("max_score")
        if not isinstance(feedback, str):
            raise ValueError(f"item {item_id} has no feedback")
        if type(score) not in _NUMBERS or type(max_score) not in _NUMBERS:  # the messages only when wrong
            _number(score, f"item {item_id}'s score")
            _number(max_score, f"item {item_id}'s max_score")
        return cls(status, cast(Number, score), cast(Number, max_score), feedback)


def _items(raw: dict[str, object]) -> dict[str, ItemResult]:
    """A result document's items, typed: ``ItemResult.from_json`` of each, inlined where the item
    is well formed (a class's outputs read millions)."""
    out = {}
    for item_id, doc in raw.items():
        if type(doc) is dict:
            status, score, max_score, feedback = (Status.lookup(doc.get("status")), doc.get("score"),
                                                  doc.get("max_score"), doc.get("feedback"))
            if status is not None and type(feedback) is str and type(score) in _NUMBERS \
                    and type(max_score) in _NUMBERS:
                out[str(item_id)] = tuple.__new__(ItemResult, (status, score, max_score, feedback))
                continue
        out[str(item_id)] = ItemResult.from_json(str(item_id), doc)  # it says what is wrong
    return out


class ItemOverride(NamedTuple):
    """An item a course staff member scored by hand: why, and what the grader had given."""

    reason: str
    graded_score: Number
    graded_status: str


class LateRecord(NamedTuple):
    """The late policy applied to a submission (a result's ``late``): the points it cost, the
    days late (None: no submission time known), the times, and the policy in words."""

    penalty: Number
    days_late: int | None
    submitted_at: str | None
    due: str | None  # the due date applied: the student's own where it was extended
    policy: str
    marked_late: bool = False  # the LMS (Canvas) marked the submission late, its time unknown


def _adjustments(doc: Mapping[str, Any]) -> tuple[Number | None, LateRecord | None, dict[str, ItemOverride]]:
    """A result's ``raw_total``, ``late`` and the items' overrides (``grader.batch.settle``)."""
    if "raw_total" not in doc:
        return None, None, {}
    raw, late = _number(doc.get("raw_total"), "raw_total"), doc.get("late")
    record = None
    if isinstance(late, dict):
        days = late.get("days_late")
        text = [v if isinstance(v, str) else None for v in
                (late.get("submitted_at"), late.get("extended_due") or late.get("due"), late.get("policy"))]
        record = LateRecord(_number(late.get("penalty", 0), "the late penalty"),
                            days if type(days) is int else None, text[0], text[1], text[2] or "",
                            _mapping(doc.get("submission")).get("marked_late") is True)
    overrides = {}
    for item_id, item in doc["items"].items():
        given = item.get("override") if isinstance(item, dict) else None
        if isinstance(given, dict):
            graded = _mapping(given.get("graded"))
            overrides[str(item_id)] = ItemOverride(str(given.get("reason", "")),
                                                   _number(graded.get("score", 0), "a graded score"),
                                                   str(graded.get("status", "")))
    return raw, record, overrides


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


class Answer(NamedTuple):
    """What item analysis keeps of a written answer: its text (cut) and what it matched."""

    answer: str
    matched: str | None


@dataclass(frozen=True)
class StudentResult:
    """One student's result document (``results/<student>.json``), typed. ``on_roster``: false
    when a roster was given and does not list the student."""

    student: str
    status: str  # GRADED, ERROR or NO_SUBMISSION
    error: str | None
    total: Number
    max_total: Number
    items: dict[str, ItemResult]
    analysis: dict[str, Answer] = field(default_factory=dict)
    on_roster: bool = True
    identity: Mapping[str, str] = field(default_factory=dict)  # the LMS's names for the student
    assignment: str = ""  # the assignment's name ("" for a batch of the whole bank)
    due: str | None = None  # the assignment's due date, as the spec writes it
    submitted_at: str | None = None  # when the student submitted (ISO 8601; --times or the LMS), where known
    raw_total: Number | None = None  # the items' points before the late penalty (None: no adjustment)
    late: LateRecord | None = None  # the late policy applied, where the assignment has one
    overrides: Mapping[str, ItemOverride] = field(default_factory=dict)  # items scored by hand

    @property
    def raw(self) -> Number:
        """The points before the late penalty (the total, where nothing was taken off)."""
        return self.total if self.raw_total is None else self.raw_total

    @property
    def penalty(self) -> Number:
        """The late penalty's points (0 when none)."""
        return self.late.penalty if self.late is not None else 0

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
        identity, record = doc.get("identity") or {}, doc.get("assignment") or {}
        submission = doc.get("submission") or {}
        if not isinstance(identity, dict) or not all(isinstance(v, str) for v in identity.values()):
            raise ValueError("its identity is not a mapping of text")
        if not isinstance(record, dict) or not isinstance(submission, dict):
            raise ValueError("its assignment or submission is not an object")
        text = [v if isinstance(v, str) else None
                for v in (record.get("name"), record.get("due"), submission.get("submitted_at"))]
        raw, late, overrides = _adjustments(doc)
        return cls(doc["student"], doc["status"], None if error is None else str(error),
                   _number(doc.get("total"), "total"), _number(doc.get("max_total"), "max_total"),
                   _items(doc["items"]),
                   {str(i): Answer(str(a.get("answer", "")), a.get("matched")) for i, a in analysis.items()},
                   doc.get("on_roster") is not False, {str(k): v for k, v in identity.items()},
                   text[0] or "", late.due if late is not None and late.due else text[1],
                   late.submitted_at if late is not None and late.submitted_at else text[2],
                   raw, late, overrides)


@dataclass(frozen=True)
class ItemInfo:
    """What the bank says of an item, for the reports: its title and, for an item answered by
    choosing options, their ids in the order shown and the right ones."""

    title: str = ""
    options: tuple[str, ...] = ()
    correct: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ClassInfo:
    """What a reporter knows before the first student: the items, in the order of the first
    student's result (all have the same items), what the bank says of them (by id; empty
    where the bank is not known), and the entries of the submissions folder that matched no
    student (entry, why), which have no result."""

    item_ids: tuple[str, ...]
    items: Mapping[str, ItemInfo] = field(default_factory=dict)
    unmatched: tuple[tuple[str, str], ...] = ()

    @property
    def titles(self) -> dict[str, str]:
        return item_titles(self.items)


def item_titles(items: Mapping[str, ItemInfo]) -> dict[str, str]:
    """The items' titles, by id, for those that have one."""
    return {i: info.title for i, info in items.items() if info.title}


class Sink(Protocol):
    """A file being written: text appended in order."""

    def write(self, text: str) -> object: ...


class Output(Protocol):
    """Where a reporter's files go, by path relative to the output folder. Each file replaces
    the one before it atomically, once the pass over the class has ended without an error."""

    def stream(self, relative: str) -> Sink:
        """A file written as the students pass (grades.csv, junit.xml)."""

    def write(self, relative: str, text: str | bytes) -> None:
        """A whole file, such as one student's (it may be written in the background)."""


class Reporter:
    """One format's files for one class. Subclasses are registered with ``@reporter(name)``; the
    pass calls ``start``, ``add`` for each student, in student-id order, then ``close``.
    ``stats``: the class's statistics, complete when ``close`` is called, where the class says
    it reads them (``reads_statistics``; they are gathered only then)."""

    name: ClassVar[str]  # set by @reporter: what the batch summary lists, e.g. "junit.xml"
    reads_statistics: ClassVar[bool] = False
    # its files are each one student's, written by ``add`` alone (``close`` writes nothing): a large
    # class's students can then be shared out among processes for it (grader.batch.outputs)
    per_student: ClassVar[bool] = False

    def __init__(self, info: ClassInfo, out: Output, stats: ClassStatistics) -> None:
        self.info, self.out, self.stats = info, out, stats
        self.start()

    def start(self) -> None:
        """Open the files (before the first student)."""

    def add(self, student: StudentResult) -> None:
        """This student's share of the files."""

    def close(self) -> None:
        """Finish the files (every student has been added)."""


_REGISTRY: dict[str, type[Reporter]] = {}
R = TypeVar("R", bound=type[Reporter])


def reporter(name: str) -> Callable[[R], R]:
    """Register the decorated ``Reporter`` subclass as the one that writes ``name``."""
    def register(cls: R) -> R:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"two reporters write {name}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return register


VIEWS = {"terminal"}  # modules of this package that are views of one check, not class files


def reporters() -> list[type[Reporter]]:
    """Every format's reporter (each module of this package imported), by name."""
    for module in pkgutil.iter_modules(__path__):
        if module.name in VIEWS:
            continue
        importlib.import_module(f"{__name__}.{module.name}")
    return sorted(_REGISTRY.values(), key=lambda r: r.name)
