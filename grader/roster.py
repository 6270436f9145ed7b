"""Class rosters: the student ids of a course, one per line or in a CSV's first column."""

from __future__ import annotations

from pathlib import Path

from grader.intake import valid_student_id


def read_roster(path: Path) -> tuple[list[str], list[str]]:
    """Student ids (one per line or in the first CSV column; '#' starts a comment) and
    warnings about lines that are not usable ids."""
    ids: list[str] = []
    warnings: list[str] = []
    for number, line in enumerate(path.read_text("utf-8-sig").splitlines(), 1):
        value = line.split("#", 1)[0].split(",", 1)[0].strip().strip('"')
        if not value or value.lower() in ("id", "student", "student_id"):
            continue
        if not valid_student_id(value):
            warnings.append(f"roster line {number}: {ascii(value)[1:-1][:60]} is not a usable student id")
        elif any(v.lower() == value.lower() for v in ids):
            warnings.append(f"roster line {number}: {value} is listed twice")
        else:
            ids.append(value)
    return ids, warnings
