"""``grade assign``: write an assignment's release, the student folders and the instructor side.

    OUT/students/<id>/   one workspace per student (per-student variants), or
    OUT/shared/          one workspace for everyone (no variants)
    OUT/instructor/      assignment.yaml, roster.txt, keys.json, keys.csv, release.json

Every student folder is scanned for secrets (``release_scan``) before the release is
reported as written; when anything is found, the student folders are deleted again and
only the instructor side and the list of findings remain.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.assignments.assignment import Assignment, student_key, student_manifest
from grader.assignments.release_scan import find_secrets
from grader.core.fileio import WorkspaceError
from grader.model.bank import Bank
from grader.workspace.folder import write_workspace
from grader.workspace.manifest import Manifest

STUDENTS = "students"
SHARED = "shared"
INSTRUCTOR = "instructor"


@dataclass
class Release:
    """What ``write_release`` wrote, and any secret the scan found."""

    out: Path
    folders: dict[str, Path] = field(default_factory=dict)  # student id (or "*") -> workspace
    leaks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _keys_csv(keys: dict[str, dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "item", "points", "answer", "unit"])
    for student, key in keys.items():
        for item_id, entry in key.items():
            answer = entry["answer"]
            shown = " ".join(answer) if isinstance(answer, list) else answer
            writer.writerow([student, item_id, f"{entry['points']:g}", shown, entry.get("unit", "")])
    return buffer.getvalue()


def _zip(folder: Path) -> Path:
    return Path(shutil.make_archive(str(folder), "zip", root_dir=folder))


def write_release(bank: Bank, assignment: Assignment, out: Path, zips: bool = False) -> Release:
    """Write every student folder and the instructor side into the empty folder ``out``."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise WorkspaceError(f"{out} exists and is not an empty folder; choose a new one")
    release = Release(out, warnings=list(assignment.roster_warnings))
    manifests: dict[str, Manifest] = {}
    if assignment.per_student:
        for student in assignment.roster:
            manifests[student] = student_manifest(bank, assignment, student)
            release.folders[student] = out / STUDENTS / student
    else:
        manifests["*"] = student_manifest(bank, assignment, None)
        release.folders["*"] = out / SHARED
    for who, manifest in manifests.items():
        folder = release.folders[who]
        write_workspace(folder, bank, manifest)
        release.leaks += [f"{folder.relative_to(out).as_posix()}/{line}"
                          for line in find_secrets(folder, bank, manifest, bank.root)]
        if zips:
            _zip(folder)
    instructor = out / INSTRUCTOR
    instructor.mkdir(parents=True)
    if assignment.source is not None:
        shutil.copyfile(assignment.source, instructor / "assignment.yaml")
    if assignment.roster:
        (instructor / "roster.txt").write_text("\n".join(assignment.roster) + "\n", encoding="utf-8")
    keys = {who: student_key(bank, m.entries) for who, m in manifests.items()}
    (instructor / "keys.json").write_text(json.dumps(keys, indent=2) + "\n", encoding="utf-8")
    (instructor / "keys.csv").write_text(_keys_csv(keys), encoding="utf-8")
    summary = {**assignment.record(), "title": assignment.title, "mode": assignment.mode,
               "variants": assignment.variants, "students": len(assignment.roster),
               "items": {i: p for i, p in assignment.items.items()},
               "kernels": {k: {"points": p, "performance": w} for k, (p, w) in assignment.kernels.items()},
               "max_total": round(sum(assignment.items.values())
                                  + sum(p for p, _w in assignment.kernels.values()), 6),
               "fingerprint": assignment.fingerprint()}
    (instructor / "release.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if release.leaks:  # nothing that leaks may be handed out by mistake
        for folder in (out / STUDENTS, out / SHARED):
            shutil.rmtree(folder, ignore_errors=True)
    return release
