"""``OUT/audit.jsonl``: every change to a student's grade after grading, a JSON line each.

A line says when (UTC), ``by`` which command, the ``user``, the ``student``, the ``change``
(``regrade``, ``override``, ``override removed``, ``late penalty``), the ``item`` (null for the
whole result), the points ``before`` and ``after`` (the total for a regrade, the item's points
for an override, the penalty's points for a late penalty) and the ``reason``. Lines are only
ever appended; the log is the one output that is not the same on every run.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

AUDIT = "audit.jsonl"


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any],
            regraded: bool) -> list[dict[str, Any]]:
    """What changed in a student's grade from ``before`` (None: no result yet) to ``after``:
    a regrade (the totals), each override set, changed or removed (the item's points), and the
    late penalty (its points)."""
    student = str(after.get("student"))
    out: list[dict[str, Any]] = []
    if regraded and before is not None:
        out.append({"student": student, "change": "regrade", "item": None, "before": before.get("total"),
                    "after": after.get("total"), "reason": "graded again (--regrade)"})
    old_items = _mapping((before or {}).get("items"))
    for item_id, item in _mapping(after.get("items")).items():
        mine, theirs = item.get("override"), _mapping(old_items.get(item_id)).get("override")
        if _override_state(mine) == _override_state(theirs):
            continue
        if mine is not None:
            was = (theirs or {}).get("points", mine["graded"]["score"])
            out.append({"student": student, "change": "override", "item": item_id, "before": was,
                        "after": item["score"], "reason": mine["reason"]})
        else:
            out.append({"student": student, "change": "override removed", "item": item_id,
                        "before": _mapping(theirs).get("points"), "after": item.get("score"),
                        "reason": "no longer in the overrides file"})
    late, old_late = _mapping(after.get("late")), _mapping((before or {}).get("late"))
    penalty, old_penalty = late.get("penalty"), old_late.get("penalty")
    moved = penalty != old_penalty or late.get("days_late") != old_late.get("days_late")
    if (penalty or old_penalty) and moved:
        days = late.get("days_late")
        reason = (f"{days} day{'s' * (days != 1)} late: submitted {late.get('submitted_at')}, due "
                  f"{late.get('extended_due') or late.get('due')}; {late.get('policy')}") if days \
            else "on time" if days == 0 else str(late.get("note") or "no late record")
        out.append({"student": student, "change": "late penalty", "item": None, "before": old_penalty,
                    "after": penalty, "reason": reason})
    return out


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _override_state(record: object) -> tuple[object, object] | None:
    return (record.get("points"), record.get("reason")) if isinstance(record, dict) else None


def _user() -> str:
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return "unknown"


class AuditLog:
    """``OUT/audit.jsonl``, appended a line per change (created with the first change)."""

    def __init__(self, out: Path, by: str) -> None:
        self.path, self.by, self.user = out / AUDIT, by, _user()
        self.count = 0

    def append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        if not entries:
            return
        now = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        lines = "".join(json.dumps({"time": now, "by": self.by, "user": self.user, **e}, ensure_ascii=False)
                        + "\n" for e in entries)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(lines)
        self.count += len(entries)


def merge_logs(sources: Sequence[Path], target: Path) -> int:
    """Append to ``target``'s audit log the lines of the ``sources``' logs it lacks (the shards'
    of a merge); returns how many. Only a digest of each line already there is held."""
    path = target / AUDIT
    have = set()
    with contextlib.suppress(FileNotFoundError), path.open("rb") as fh:
        have = {hashlib.blake2b(line, digest_size=16).digest() for line in fh}
    added = 0
    for source in sources:
        log = source / AUDIT
        if not log.is_file() or log.resolve() == path.resolve():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with log.open("rb") as lines, os.fdopen(fd, "ab") as out:
            for line in lines:
                key = hashlib.blake2b(line, digest_size=16).digest()
                if key not in have and line.endswith(b"\n"):
                    have.add(key)
                    out.write(line)
                    added += 1
    return added
