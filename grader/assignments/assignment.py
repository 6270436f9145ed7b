"""Assignment specs: which bank items, their points, the modes, and each student's variant.

A spec is instructor YAML, validated against ``schemas/assignment.schema.json``. The
variant of a student is drawn from the ranges the bank declares with a generator seeded
by (assignment name, student id), so it is the same on every machine and every run; the
same seed orders the student's trace options and design steps (``shuffle``), relabelled
A, B, C... in the order shown.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.assignments.late import LatePolicy, instant
from grader.assignments.roster import Roster, load_roster
from grader.core.fileio import YamlError, grader_schema, read_yaml, schema_problems
from grader.items import bank_type, for_type
from grader.items.kernel_runs import kernel_entry
from grader.model.bank import Bank
from grader.workspace.manifest import Manifest, ManifestItem, manifest_item

MAX_SPEC_BYTES = 256 * 1024


class AssignmentError(ValueError):
    """A spec that cannot be used, with the reason."""


@dataclass(frozen=True)
class Assignment:
    """A resolved spec: item ids in bank order with their points."""

    name: str
    items: Mapping[str, float]
    title: str = ""
    mode: str = "graded"
    variants: str = "none"
    roster: tuple[str, ...] = ()
    roster_file: str | None = None  # as the spec writes it, relative to the spec's folder
    roster_warnings: tuple[str, ...] = ()
    people: Roster = field(default_factory=Roster)  # the roster's lines: ids and LMS names
    due: str | None = None
    late_policy: Mapping[str, Any] = field(default_factory=dict)
    explain_points: float | None = None
    source: Path | None = None
    kernels: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # id -> (points, share)
    shuffle: bool | None = None  # as the spec says; None: shuffle when the variants are per student

    @property
    def per_student(self) -> bool:
        return self.variants == "per-student"

    @property
    def shuffles(self) -> bool:
        """Whether each student sees trace options and design steps in their own order."""
        return self.per_student if self.shuffle is None else self.shuffle and self.per_student

    def lists(self, student: str) -> bool:
        """Whether ``student`` is on the roster (ids compare case-insensitively)."""
        return student.lower() in {r.lower() for r in self.roster}

    def record(self) -> dict[str, Any]:
        """Name, due date and late policy: what every output records about the assignment."""
        out: dict[str, Any] = {"name": self.name}
        if self.due:
            out["due"] = self.due
        if self.late_policy:
            out["late_policy"] = dict(self.late_policy)
        return out

    def fingerprint(self) -> str:
        """A digest of everything that changes a grade: items, points, modes, name (the seed)."""
        doc: dict[str, Any] = {"name": self.name, "items": dict(self.items), "mode": self.mode,
                               "variants": self.variants}
        if self.shuffles:
            doc["shuffle"] = True
        if self.kernels:
            doc["kernels"] = {k: list(v) for k, v in self.kernels.items()}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def resolve_items(bank: Bank, selectors: list[Any]) -> dict[str, float]:
    """Item id -> points, in bank order. The most specific selector sets an item's points:
    an id, then chapter and type together, then a chapter or a type alone (the first of equals)."""
    points: dict[str, float] = {}
    rank: dict[str, int] = {}
    by_id: set[str] = set()
    for number, sel in enumerate(selectors):
        sel = {"id": sel} if isinstance(sel, str) else sel
        if "id" in sel:
            if sel["id"] not in bank.items:
                raise AssignmentError(f"items[{number}]: no item {sel['id']!r} in the bank "
                                      "('grade list' shows the ids)")
            if sel["id"] in by_id:
                raise AssignmentError(f"items[{number}]: item {sel['id']} is listed twice")
            if "type" in sel and bank.items[sel["id"]].type != sel["type"]:
                raise AssignmentError(f"items[{number}]: item {sel['id']} is a "
                                      f"{bank.items[sel['id']].type} item, not {sel['type']}")
            by_id.add(sel["id"])
            points[sel["id"]], rank[sel["id"]] = float(sel.get("points", 1)), 3
            continue
        if "chapter" in sel and bank.chapter(sel["chapter"]) is None:
            raise AssignmentError(f"items[{number}]: the bank has no chapter {sel['chapter']}")
        matched = [i for i, item in bank.items.items()
                   if sel.get("chapter", item.chapter) == item.chapter
                   and sel.get("type", item.type) == item.type]
        if not matched:
            raise AssignmentError(f"items[{number}]: {json.dumps(sel)} selects no item")
        specificity = ("chapter" in sel) + ("type" in sel)
        for item_id in matched:
            if item_id not in by_id and specificity > rank.get(item_id, 0):
                points[item_id], rank[item_id] = float(sel.get("points", 1)), specificity
    return {i: points[i] for i in bank.items if i in points}


def resolve_kernels(bank: Bank, selectors: list[Any]) -> dict[str, tuple[float, float]]:
    """Kernel task id -> (points, performance share), in bank order."""
    out: dict[str, tuple[float, float]] = {}
    for number, sel in enumerate(selectors):
        sel = {"id": sel} if isinstance(sel, str) else sel
        if sel["id"] not in bank.kernels:
            raise AssignmentError(f"kernels[{number}]: no kernel task {sel['id']!r} in the bank "
                                  "('grade kernel list' shows them)")
        if sel["id"] in out:
            raise AssignmentError(f"kernels[{number}]: kernel task {sel['id']} is listed twice")
        out[sel["id"]] = (float(sel.get("points", 1)), float(sel.get("performance", 0)))
    return {k: out[k] for k in bank.kernels if k in out}


def _check_due(due: str | None, policy: LatePolicy) -> None:
    """A real date; an instant (a time and a zone) when the late policy takes points off."""
    if due is None:
        if policy.applies:
            raise AssignmentError("late_policy: the policy takes points off, so the spec needs a 'due' "
                                  "date-time with a zone (e.g. 2026-12-01T23:59:00-05:00)")
        return
    try:
        datetime.fromisoformat(due.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise AssignmentError(f"due: {due!r} is not a real date") from None
    if policy.applies:
        try:
            instant(due)
        except ValueError:
            raise AssignmentError(f"due: {due!r} needs a time and a time zone for the late policy to "
                                  "be applied (e.g. 2026-12-01T23:59:00-05:00 or 2026-12-01T23:59:00Z)") \
                from None


def assignment_from_dict(doc: Any, bank: Bank, base: Path, source: Path | None = None) -> Assignment:
    """Validate a parsed spec and resolve its items and roster (relative to ``base``)."""
    errors = schema_problems(doc, grader_schema("assignment"))
    if errors:
        raise AssignmentError(": ".join(errors[0]))
    _check_due(doc.get("due"), LatePolicy.from_mapping(doc.get("late_policy")))
    if doc.get("shuffle") and doc.get("variants") != "per-student":
        raise AssignmentError("shuffle: each student's own order of options and steps needs "
                              "'variants: per-student' (without it every student shares one folder)")
    people, warnings = Roster(), tuple[str, ...]()
    if "roster" in doc:
        path = base / doc["roster"]
        try:
            people, found = load_roster(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise AssignmentError(f"roster: cannot read {path}: {type(exc).__name__}") from None
        if not people:
            raise AssignmentError(f"roster: {path} lists no student")
        warnings = tuple(found)
    return Assignment(
        name=doc["name"], items=resolve_items(bank, doc.get("items", [])), title=doc.get("title", ""),
        mode=doc.get("mode", "graded"), variants=doc.get("variants", "none"), roster=people.ids,
        people=people, roster_file=doc.get("roster"),
        roster_warnings=warnings, due=doc.get("due"), late_policy=doc.get("late_policy", {}),
        explain_points=(doc.get("explain") or {}).get("points"), source=source,
        kernels=resolve_kernels(bank, doc.get("kernels", [])), shuffle=doc.get("shuffle"))


def load_assignment(path: Path, bank: Bank) -> Assignment:
    """Read and resolve a spec file; every failure is an AssignmentError naming the file."""
    try:
        # dates stay the text the instructor wrote; anchors and aliases are refused (a few
        # nested *refs in 1 KB could expand to gigabytes)
        doc = read_yaml(path, label=path.name, max_bytes=MAX_SPEC_BYTES, timestamps=False)
        return assignment_from_dict(doc, bank, path.parent, path)
    except OSError as exc:
        raise AssignmentError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except YamlError as exc:
        raise AssignmentError(str(exc) if exc.kind == "size" else
                              f"{path.name} is not readable YAML: {exc.detail}") from None
    except AssignmentError as exc:
        raise AssignmentError(f"{path.name}: {exc}") from None


def variant_seed(assignment: str, student: str, item_id: str) -> str:
    """The seed of one student's variant of one item; ids are compared case-insensitively."""
    text = f"{assignment}\0{student.lower()}\0{item_id}"
    return hashlib.sha256(text.encode()).hexdigest()


def student_params(bank: Bank, assignment: Assignment, student: str | None) -> dict[str, dict[str, float]]:
    """Parameters of every item that has them (derive) for ``student``: drawn per student,
    else the defaults."""
    out: dict[str, dict[str, float]] = {}
    for item_id in assignment.items:
        item = bank.items[item_id]
        rng = random.Random(variant_seed(assignment.name, student, item_id)) \
            if assignment.per_student and student is not None else None
        params = bank_type(item.type).variant(item, rng)
        if params is not None:
            out[item_id] = params
    return out


def shuffle_seed(assignment: str, student: str, item_id: str) -> str:
    """The seed of one student's order of an item's options or steps, from the variant's seed:
    12 letters (no digit, so the release scan never reads a number in it)."""
    digest = hashlib.sha256(f"{variant_seed(assignment, student, item_id)}\0shuffle".encode()).digest()
    return "".join(string.ascii_lowercase[b % 26] for b in digest[:12])


def student_shuffles(bank: Bank, assignment: Assignment, student: str | None) -> dict[str, str]:
    """The shuffle seed of every item that shows options or steps (trace, design) for ``student``;
    none when the assignment does not shuffle."""
    if student is None or not assignment.shuffles:
        return {}
    return {i: shuffle_seed(assignment.name, student, i) for i in assignment.items
            if bank_type(bank.items[i].type).shuffles}


def student_manifest(bank: Bank, assignment: Assignment, student: str | None) -> Manifest:
    """The workspace manifest of one student (or of the shared release when ``student`` is None)."""
    params = student_params(bank, assignment, student)
    seeds = student_shuffles(bank, assignment, student)
    items = tuple(manifest_item(bank.items[i].shuffled(seeds.get(i)), params.get(i), points)
                  for i, points in assignment.items.items())
    record = assignment.record()
    if student is not None:
        record["student"] = student
    if assignment.late_policy:
        record["late_policy"] = late_policy_text(assignment.late_policy)
    kernels = tuple(kernel_entry(bank.kernels[k], points, share)
                    for k, (points, share) in assignment.kernels.items())
    return Manifest(mode=assignment.mode, items=items, title=assignment.title or assignment.name,
                    assignment=record, kernels=kernels)


def late_policy_text(policy: Mapping[str, Any]) -> str:
    """The late policy in one sentence, for manifests and READMEs."""
    return LatePolicy.from_mapping(policy).text()


def student_key(bank: Bank, entries: tuple[ManifestItem, ...] | list[ManifestItem]) -> dict[str, Any]:
    """Item id -> the reference answer at the entry's parameters, with points and parameters."""
    return {entry.id: for_type(entry.type).entry_key(bank, entry) for entry in entries}
