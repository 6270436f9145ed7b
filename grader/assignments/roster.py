"""Class rosters: the student ids of a course, one per line or in a CSV's first column."""

from __future__ import annotations

import re
from pathlib import Path

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                    *(f"lpt{i}" for i in range(10))}


def valid_student_id(sid: str) -> bool:
    """Plain ASCII, no path parts, safe as a file name on every OS."""
    return bool(STUDENT_ID.fullmatch(sid)) and not sid.endswith(".") \
        and sid.split(".")[0].lower() not in WINDOWS_RESERVED


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
