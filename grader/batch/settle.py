"""Late penalties and manual overrides, applied to each student's result document.

An override (``grader.batch.adjustments``) sets one item's points: the item keeps the grader's
own outcome under ``override.graded``, its status follows the new points, and its feedback says
what was changed and why. The late penalty is the spec's late policy (``grader.assignments.
late``, recorded in each result's ``assignment``) applied to when the student submitted: the
``--times`` CSV's time, else the LMS's. A result so adjusted records ``raw_total`` (the items'
points, overrides included), ``late`` (the times, days late and the ``penalty`` in points) and
``total`` (``raw_total - penalty``), which every output reports. ``settle`` works from the
document alone (it undoes earlier overrides before applying the current ones), so settling a
result again changes nothing; results are settled one at a time, as they are written or in one
pass over ``results/``, and each change goes to the audit log (``grader.batch.audit``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from grader.assignments.assignment import Assignment
from grader.assignments.late import LatePolicy, instant
from grader.batch.adjustments import Adjustments, Override, StudentTime
from grader.batch.audit import AuditLog, changes
from grader.batch.run import RESULTS, bank_entries, dump, result_path, write_atomic
from grader.model.bank import Bank
from grader.results.points import score_text

TIMES_SOURCE = "times CSV"
NO_SUBMISSION = "no submission"


def _status(points: float, max_score: float) -> str:
    if points >= max_score - 1e-9:
        return "correct"
    return "partial" if points > 0 else "incorrect"


def _kept_overrides(doc: Mapping[str, Any]) -> list[Override]:
    """The overrides a result records (applied the last time it was settled)."""
    out = []
    for item_id, item in (doc.get("items") or {}).items():
        record = item.get("override") if isinstance(item, dict) else None
        if isinstance(record, dict):
            out.append(Override(str(doc.get("student")), str(item_id), str(record.get("reason", "")),
                                float(record.get("points", 0.0))))
    return out


def _kept_time(doc: Mapping[str, Any] | None) -> StudentTime | None:
    """The --times entry a result was last settled with."""
    late = (doc or {}).get("late")
    if not isinstance(late, dict):
        return None
    submitted = late.get("submitted_at") if late.get("source") == TIMES_SOURCE else None
    return StudentTime(submitted, late.get("extended_due")) if submitted or late.get("extended_due") else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def late_record(doc: Mapping[str, Any], time: StudentTime | None, raw: float) -> dict[str, Any] | None:
    """The ``late`` field of a result of ``raw`` points: None when the assignment's policy takes
    no points off, or the student handed nothing in."""
    record = _mapping(doc.get("assignment"))
    policy = LatePolicy.from_mapping(record.get("late_policy"))
    if not policy.applies or doc.get("status") == NO_SUBMISSION or not record.get("due"):
        return None
    submission = _mapping(doc.get("submission"))
    out: dict[str, Any] = {"due": record["due"]}
    if time is not None and time.due:
        out["extended_due"] = time.due
    if time is not None and time.submitted_at:
        out["submitted_at"], out["source"] = time.submitted_at, TIMES_SOURCE
    elif submission.get("submitted_at"):
        out["submitted_at"], out["source"] = submission["submitted_at"], submission.get("source", "")
    out["policy"] = policy.text()
    if "submitted_at" not in out:
        marked = " (the LMS marked it late)" if submission.get("marked_late") else ""
        out.update(days_late=None, penalty=0.0,
                   note=f"no submission time known{marked}: no late penalty applied; give --times")
        return out
    days = policy.days_late(instant(out["submitted_at"]), instant(out.get("extended_due") or out["due"]))
    out.update(days_late=days, penalty=policy.penalty(raw, days))
    return out


def settle(doc: dict[str, Any], adjustments: Adjustments, previous: Mapping[str, Any] | None = None) \
        -> dict[str, Any]:
    """``doc`` with the current overrides and late penalty applied (``doc`` itself when nothing
    applies to it and nothing was applied before). ``previous``: the student's result before
    this one was graded, whose kept overrides and times carry over when none are given."""
    student = str(doc.get("student", ""))
    items = doc.get("items")
    if not isinstance(items, dict):
        return doc
    if adjustments.overrides is not None:
        overrides = adjustments.overrides.get(student.lower(), [])
    else:
        overrides = _kept_overrides(doc) or (_kept_overrides(previous) if previous else [])
    if adjustments.times is not None:
        time = adjustments.times.get(student.lower())
    else:
        time = _kept_time(doc) or _kept_time(previous)
    adjusted = "raw_total" in doc or "late" in doc or any(
        isinstance(i, dict) and "override" in i for i in items.values())
    if not adjusted and not overrides and late_record(doc, time, 0.0) is None:
        return doc
    out = dict(doc)
    out["items"] = new_items = {}
    for item_id, item in items.items():
        item = dict(item)
        graded = item.pop("override", None)
        if isinstance(graded, dict):
            item.update(graded.get("graded", {}))
        new_items[item_id] = item
    for o in overrides:
        item = new_items.get(o.item)
        if item is None:
            continue
        max_score = float(item["max_score"])
        points = min(max_score, o.points_of(max_score))
        graded = {k: item[k] for k in ("status", "score", "feedback")}
        note = (f"Changed by the course staff from {score_text(item['score'], max_score)} to "
                f"{score_text(points, max_score)}: {o.reason}")
        item.update(status=_status(points, max_score), score=points,
                    feedback=f"{item['feedback']}\n{note}" if item["feedback"] else note,
                    override={"points": points, "reason": o.reason, "graded": graded})
    raw = round(sum(float(i["score"]) for i in new_items.values()), 6)
    late = late_record(out, time, raw)
    out.pop("late", None)
    out.pop("raw_total", None)
    if late is None and not overrides:
        out["total"] = raw
        return _ordered(out)
    out["raw_total"] = raw
    if late is not None:
        out["late"] = late
    out["total"] = round(raw - (late["penalty"] if late else 0.0), 6)
    return _ordered(out)


def _ordered(doc: dict[str, Any]) -> dict[str, Any]:
    """``raw_total`` and ``late`` right after ``total`` and ``max_total``; "bank" stays last."""
    head: dict[str, Any] = {k: doc[k] for k in ("student", "status", "error", "total", "max_total",
                                                 "raw_total", "late") if k in doc}
    return {**head, **{k: v for k, v in doc.items() if k not in head}}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


class Settler:
    """Applies the adjustments to results as they are written (``finish``, the hook of
    ``run_batch``) and to those already in ``out`` (``settle_folder``), logging each change.
    ``record``: the assignment's record to put in every kept result (its late policy may have
    changed since); ``regrade``: the students being graded again (lower case)."""

    def __init__(self, out: Path, adjustments: Adjustments, audit: AuditLog,
                 record: Mapping[str, Any] | None = None, regrade: Collection[str] = ()) -> None:
        self.out, self.adjustments, self.audit = out, adjustments, audit
        self.record, self.regrade = record, {s.lower() for s in regrade}
        self.untimed = 0  # results under a late policy with no submission time (after settle_folder)

    def finish(self, doc: dict[str, Any]) -> dict[str, Any]:
        student = str(doc.get("student"))
        before = _read(result_path(self.out, student))
        after = settle(doc, self.adjustments, before)
        self.audit.append(changes(before, after, student.lower() in self.regrade))
        return after

    def settle_folder(self) -> int:
        """Settle every result in ``out/results/``, one at a time; returns how many changed."""
        changed = self.untimed = 0
        try:
            names = sorted(e.name for e in os.scandir(self.out / RESULTS) if e.name.endswith(".json"))
        except FileNotFoundError:
            return 0
        for name in names:
            path = self.out / RESULTS / name
            try:
                data = path.read_bytes()
                doc = json.loads(data)
            except (OSError, ValueError):
                continue
            if not isinstance(doc, dict) or doc.get("student") != name[:-5]:
                continue
            before = doc
            if self.record is not None and "assignment" in doc and doc["assignment"] != self.record:
                doc = {**doc, "assignment": dict(self.record)}
            after = settle(doc, self.adjustments)
            late = after.get("late")
            self.untimed += isinstance(late, dict) and late.get("days_late") is None
            text = dump(after)
            if text.encode("utf-8") != data:
                write_atomic(path, text)
                self.audit.append(changes(before, after, False))
                changed += 1
        return changed


def item_points(bank: Bank, assignment: Assignment | None) -> dict[str, float]:
    """What each item a batch grades is worth (an override may give at most that)."""
    if assignment is None:
        return {e.id: e.points for e in bank_entries(bank)}
    return {**assignment.items, **{k: points for k, (points, _share) in assignment.kernels.items()}}


def first_result(out: Path) -> dict[str, Any] | None:
    """The first readable result in ``out/results/`` (by student id): what the class shares, its
    items and its assignment, without reading the rest."""
    try:
        names = sorted(e.name for e in os.scandir(out / RESULTS) if e.name.endswith(".json"))
    except FileNotFoundError:
        return None
    for name in names:
        doc = _read(out / RESULTS / name)
        if doc is not None and isinstance(doc.get("items"), dict):
            return doc
    return None


def class_points(out: Path) -> dict[str, float]:
    """What each item of the results in ``out`` is worth, from the first readable result."""
    doc = first_result(out)
    items = doc["items"] if doc else {}
    return {str(i): float(e.get("max_score", 0)) for i, e in items.items() if isinstance(e, dict)}
