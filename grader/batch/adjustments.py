"""The inputs that change a student's grade after the grader has scored the items: an
overrides file and a ``--times`` CSV, read and checked, and kept in ``OUT/adjustments.json``.

- **overrides** (CSV with a header row, or YAML: a list of mappings): ``student, item, points``
  or ``score`` (a share of the item's points, 0 to 1), ``reason``: a course staff member's score
  for one item of one student. The reason is shown to the student.
- **times** (CSV, header row optional): ``student, submitted_at[, due]``, ISO 8601 with a time
  zone; a student's own ``due`` is an extension.

What was given is kept: a later run without ``--overrides`` or ``--times`` applies the kept ones,
and giving the option again replaces that part (an empty overrides file removes them all).
Every problem is an ``AdjustmentError`` naming the file and line (or entry).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grader.assignments.late import instant
from grader.assignments.roster import valid_student_id
from grader.batch.intake import shown
from grader.batch.run import write_atomic
from grader.core.fileio import YamlError, read_capped, read_yaml

ADJUSTMENTS = "adjustments.json"  # the overrides and times given so far
MAX_INPUT_BYTES = 8 << 20
MAX_REASON = 500


class AdjustmentError(ValueError):
    """An overrides or times file that cannot be used, with the file, line and reason."""


@dataclass(frozen=True)
class Override:
    """One item of one student scored by hand: ``points``, or ``share`` of the item's points."""

    student: str
    item: str
    reason: str
    points: float | None = None
    share: float | None = None
    where: str = ""  # the file and line it came from

    def points_of(self, max_score: float) -> float:
        return round(self.points if self.points is not None else (self.share or 0.0) * max_score, 6)


@dataclass(frozen=True)
class StudentTime:
    """When a student submitted, and their own due date (an extension), as ISO 8601 text."""

    submitted_at: str | None = None
    due: str | None = None


@dataclass
class Adjustments:
    """The overrides (by student id, lower case) and times in force; None: none given yet, so
    each result keeps the ones it records."""

    overrides: dict[str, list[Override]] | None = None
    times: dict[str, StudentTime] | None = None

    @classmethod
    def load(cls, out: Path) -> Adjustments:
        """The adjustments kept in ``out`` (none when there is no file); AdjustmentError when the
        file is not as ``save`` wrote it."""
        try:
            doc = json.loads((out / ADJUSTMENTS).read_text("utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise AdjustmentError(f"{out / ADJUSTMENTS} cannot be read ({type(exc).__name__}): remove it and "
                                  "give --overrides and --times again") from None
        try:
            overrides, times = doc.get("overrides"), doc.get("times")
            return cls(None if overrides is None else by_student([Override(**o) for o in overrides]),
                       None if times is None else {k: StudentTime(**t) for k, t in times.items()})
        except (AttributeError, TypeError) as exc:
            raise AdjustmentError(f"{out / ADJUSTMENTS} is not as grade batch wrote it ({exc}): remove it "
                                  "and give --overrides and --times again") from None

    def save(self, out: Path) -> None:
        doc: dict[str, Any] = {}
        if self.overrides is not None:
            doc["overrides"] = [asdict(o) for each in self.overrides.values() for o in each]
        if self.times is not None:
            doc["times"] = {k: asdict(t) for k, t in sorted(self.times.items())}
        write_atomic(out / ADJUSTMENTS, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def by_student(overrides: Sequence[Override]) -> dict[str, list[Override]]:
    """The overrides by student id, lower case."""
    out: dict[str, list[Override]] = {}
    for o in overrides:
        out.setdefault(o.student.lower(), []).append(o)
    return out


# -- reading the files -------------------------------------------------------------------------
def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """A CSV's non-empty rows with their line numbers (UTF-8, a byte-order mark allowed)."""
    try:
        text = read_capped(path, label=path.name, max_bytes=MAX_INPUT_BYTES).decode("utf-8-sig")
    except YamlError as exc:
        raise AdjustmentError(f"{path.name}: {exc.problem}") from None
    except UnicodeDecodeError:
        raise AdjustmentError(f"{path.name} is not UTF-8 text") from None
    except OSError as exc:
        raise AdjustmentError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            if any(cells) and not cells[0].startswith("#"):
                yield reader.line_num, cells
    except csv.Error as exc:
        raise AdjustmentError(f"{path.name} line {reader.line_num}: not readable CSV ({exc})") from None


def _header(cells: list[str], names: Mapping[str, str]) -> dict[str, int] | None:
    """Column -> index when ``cells`` is a header row (its first cell names the student)."""
    columns = [names.get(c.lower().replace("_", " ").replace("-", " ")) for c in cells]
    if columns[0] != "student":
        return None
    return {c: k for k, c in enumerate(columns) if c is not None}


def _student(text: str, where: str) -> str:
    if not valid_student_id(text):
        raise AdjustmentError(f"{where}: {shown(text)!r} is not a student id")
    return text


def _number(text: str, where: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise AdjustmentError(f"{where}: {what} {shown(text)!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise AdjustmentError(f"{where}: {what} must be a number of at least 0, not {shown(text)}")
    return value


OVERRIDE_COLUMNS = {"student": "student", "id": "student", "student id": "student", "item": "item",
                    "points": "points", "score": "score", "reason": "reason"}


def _override(fields: Mapping[str, str], where: str) -> Override:
    student = _student(fields.get("student", ""), where)
    item = fields.get("item", "")
    if not item or len(item) > 64:
        raise AdjustmentError(f"{where}: no item named")
    points, score = fields.get("points", ""), fields.get("score", "")
    if bool(points) == bool(score):
        raise AdjustmentError(f"{where}: give the item's points or its score (a share from 0 to 1), "
                              "one of them")
    reason = fields.get("reason", "")
    if not reason:
        raise AdjustmentError(f"{where}: give a reason (the student is shown it; the audit log keeps it)")
    if len(reason) > MAX_REASON or any(ord(c) < 32 for c in reason):
        raise AdjustmentError(f"{where}: the reason must be one line of at most {MAX_REASON} characters")
    share = _number(score, where, "score") if score else None
    if share is not None and share > 1:
        raise AdjustmentError(f"{where}: score is a share of the item's points, from 0 to 1; "
                              "use points for points")
    return Override(student, item, reason, _number(points, where, "points") if points else None, share, where)


def read_overrides(path: Path) -> list[Override]:
    """The overrides of a CSV (a header row naming ``student, item, points`` or ``score``,
    ``reason``) or a YAML file (a list of mappings with those keys); AdjustmentError naming
    the line or entry of the first problem."""
    found: list[tuple[Override, str]] = []
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            doc = read_yaml(path, label=path.name, max_bytes=MAX_INPUT_BYTES, strings=True)
        except YamlError as exc:
            raise AdjustmentError(str(exc)) from None
        except OSError as exc:
            raise AdjustmentError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
        if doc is None:
            doc = []
        if not isinstance(doc, list):
            raise AdjustmentError(f"{path.name}: expected a list of overrides (- student: ..., item: ..., "
                                  "points: ..., reason: ...)")
        for number, entry in enumerate(doc, 1):
            where = f"{path.name} entry {number}"
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise AdjustmentError(f"{where}: expected student, item, points or score, and reason")
            unknown = sorted(set(entry) - {"student", "item", "points", "score", "reason"})
            if unknown:
                raise AdjustmentError(f"{where}: unknown key {shown(str(unknown[0]))!r}")
            found.append((_override({k: v.strip() for k, v in entry.items()}, where), where))
    else:
        header: dict[str, int] | None = None
        for line, cells in _rows(path):
            where = f"{path.name} line {line}"
            if header is None:
                header = _header(cells, OVERRIDE_COLUMNS)
                if header is None or not {"item", "reason"} <= set(header) or \
                        not {"points", "score"} & set(header):
                    raise AdjustmentError(f"{where}: the first row must name the columns: student, item, "
                                          "points (or score), reason")
                continue
            fields = {c: cells[k] if k < len(cells) else "" for c, k in header.items()}
            found.append((_override(fields, where), where))
    seen: dict[tuple[str, str], str] = {}
    for o, where in found:
        key = (o.student.lower(), o.item)
        if key in seen:
            raise AdjustmentError(f"{where}: {o.student}'s item {shown(o.item)} is overridden already at "
                                  f"{seen[key]}")
        seen[key] = where
    return [o for o, _where in found]


TIME_COLUMNS = {"student": "student", "id": "student", "student id": "student",
                "submitted at": "submitted_at", "submitted": "submitted_at", "time": "submitted_at",
                "submission time": "submitted_at", "due": "due"}


def _time(text: str, where: str, what: str) -> str | None:
    if not text:
        return None
    try:
        instant(text)
    except ValueError as exc:
        raise AdjustmentError(f"{where}: {what} {shown(text)!r} {exc}") from None
    return text


def read_times(path: Path) -> dict[str, StudentTime]:
    """Student id (lower case) -> submission time and optional own due date, from a CSV of
    ``student, submitted_at[, due]`` (ISO 8601 with a zone; a header row is optional)."""
    out: dict[str, StudentTime] = {}
    lines: dict[str, int] = {}
    header: dict[str, int] | None = None
    for number, (line, cells) in enumerate(_rows(path)):
        where = f"{path.name} line {line}"
        if number == 0:
            header = _header(cells, TIME_COLUMNS)
            if header is not None:
                if "submitted_at" not in header and "due" not in header:
                    raise AdjustmentError(f"{where}: the header must name submitted_at (and may name due)")
                continue
        columns = header or {"student": 0, "submitted_at": 1, "due": 2}
        fields = {c: cells[k] if k < len(cells) else "" for c, k in columns.items()}
        student = _student(fields.get("student", ""), where)
        entry = StudentTime(_time(fields.get("submitted_at", ""), where, "the time"),
                            _time(fields.get("due", ""), where, "the due date"))
        if entry.submitted_at is None and entry.due is None:
            raise AdjustmentError(f"{where}: give the time {student} submitted (ISO 8601 with a zone)")
        if student.lower() in out:
            raise AdjustmentError(f"{where}: {student} is listed already on line {lines[student.lower()]}")
        out[student.lower()] = entry
        lines[student.lower()] = line
    return out


def check_items(overrides: Sequence[Override], max_points: Mapping[str, float]) -> None:
    """Refuse an override of an item the class is not graded on, or above its points."""
    for o in overrides:
        if o.item not in max_points:
            known = ", ".join(list(max_points)[:8]) + (", ..." if len(max_points) > 8 else "")
            raise AdjustmentError(f"{o.where}: {o.student}'s item {shown(o.item)!r}: the class is graded "
                                  f"on no such item (its items: {known})")
        if o.points is not None and o.points > max_points[o.item] + 1e-9:
            raise AdjustmentError(f"{o.where}: {o.points:g} points for {o.student}'s item {o.item}, but the "
                                  f"item is worth {max_points[o.item]:g}")


def named_students(adjustments: Adjustments, regrade: Sequence[str],
                   given: Mapping[str, str]) -> dict[str, str]:
    """Student (as named) -> where it is named: the --regrade list and the files given in this run
    (``given``: 'overrides'/'times' -> the file's name)."""
    out = {s: "--regrade" for s in regrade}
    for o in (adjustments.overrides or {}).values() if "overrides" in given else ():
        for each in o:
            out.setdefault(each.student, each.where or given["overrides"])
    for student in (adjustments.times or {}) if "times" in given else ():
        out.setdefault(student, given["times"])
    return out
