"""Class rosters: the students of a course, and what each is called in the LMS.

A roster is one student id per line, or a CSV. A CSV whose first row names its columns (the
first one ``id``, ``student`` or ``student_id``) may also give each student's ``name``,
``email``, ``lms_id`` (the LMS's own user number: Canvas's "ID"), ``sis_id`` (the institution's
student number: Canvas's "SIS User ID", Moodle's "ID number", Gradescope's "SID"), ``login``
(Canvas's "SIS Login ID", Moodle's username), ``section`` and ``github`` (the GitHub username).
Submissions from an LMS download are matched to roster ids through them, and the LMS exports
name students by them. Without that header row the first column is the id. ``#`` starts a
comment.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                    *(f"lpt{i}" for i in range(10))}
MAX_VALUE = 256  # characters of one roster cell


def valid_student_id(sid: str) -> bool:
    """Plain ASCII, no path parts, safe as a file name on every OS."""
    return bool(STUDENT_ID.fullmatch(sid)) and not sid.endswith(".") \
        and sid.split(".")[0].lower() not in WINDOWS_RESERVED


@dataclass(frozen=True)
class RosterEntry:
    """One student: the grader's id and, where the roster gives them, the LMS's names for them."""

    id: str
    name: str = ""
    email: str = ""
    lms_id: str = ""
    sis_id: str = ""
    login: str = ""
    section: str = ""
    github: str = ""

    def identity(self) -> dict[str, str]:
        """The fields the roster gives besides the id (what the LMS exports name the student by)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "id" and getattr(self, f.name)}


COLUMNS = tuple(f.name for f in fields(RosterEntry))
# header spellings (lower case, '_' and '-' as spaces) -> column; LMS exports' own names included
ALIASES = {"id": "id", "student": "id", "student id": "id",
           "name": "name", "full name": "name", "student name": "name",
           "email": "email", "e mail": "email", "email address": "email",
           "lms id": "lms_id", "canvas id": "lms_id",
           "sis id": "sis_id", "sis user id": "sis_id", "sid": "sis_id", "id number": "sis_id",
           "student number": "sis_id",
           "login": "login", "sis login id": "login", "username": "login",
           "section": "section", "sections": "section",
           "github": "github", "github username": "github"}
CASELESS = {"id", "name", "email", "login", "github"}  # compared ignoring case
_AMBIGUOUS = RosterEntry("")  # an index value given by two students: it names neither


@dataclass(frozen=True)
class Roster:
    """The students of a course, in the roster's order."""

    entries: tuple[RosterEntry, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @cached_property
    def _index(self) -> dict[tuple[str, str], RosterEntry]:
        index: dict[tuple[str, str], RosterEntry] = {}
        for entry in self.entries:
            for column in COLUMNS:
                value = getattr(entry, column)
                if value and column != "section":
                    key = (column, _key(column, value))
                    index[key] = _AMBIGUOUS if index.get(key, entry) is not entry else entry
        return index

    def find(self, column: str, value: str | None) -> RosterEntry | None:
        """The one student whose ``column`` is ``value`` (ignoring case for ids, names, emails,
        logins and GitHub names), or None: no student, or more than one."""
        if not value or not value.strip():
            return None
        found = self._index.get((column, _key(column, value)))
        return None if found is _AMBIGUOUS else found

    def entry(self, student: str) -> RosterEntry | None:
        """The roster line of the id ``student`` (ids compare ignoring case)."""
        return self.find("id", student)


def _key(column: str, value: str) -> str:
    value = value.strip()
    return value.casefold() if column in CASELESS else value


def _header(cells: list[str]) -> list[str | None] | None:
    """The columns a header row names (None for a column the grader does not read), or None
    when ``cells`` is not a header row."""
    names = [re.sub(r"[\s_-]+", " ", c.strip().lower()) for c in cells]
    if not names or ALIASES.get(names[0]) != "id":
        return None
    return [ALIASES.get(n) for n in names]


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each line with something before its comment."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0]
        if line.strip():
            cells = next(csv.reader([line]), [])
            rows.append((number, [c.strip().strip('"').strip()[:MAX_VALUE] for c in cells]))
    return rows


def load_roster(path: Path) -> tuple[Roster, list[str]]:
    """The roster in ``path`` and warnings about lines and columns it cannot use."""
    rows = _rows(path.read_text("utf-8-sig"))
    columns = _header(rows[0][1]) if rows else None
    warnings: list[str] = []
    if columns is not None:
        header = rows.pop(0)[1]
        unknown = [h for h, c in zip(header, columns, strict=True) if c is None and h]
        if unknown:
            warnings.append(f"roster: column(s) {', '.join(ascii(u)[1:-1][:40] for u in unknown)} are not "
                            f"read (the grader reads {', '.join(COLUMNS)})")
    entries: list[RosterEntry] = []
    seen: set[str] = set()
    for number, cells in rows:
        if columns is None:
            values = {"id": cells[0] if cells else ""}
        else:
            values = {c: v for c, v in zip(columns, cells, strict=False) if c is not None}
        sid = values.get("id", "")
        if sid.lower() in ("id", "student", "student_id"):
            continue
        if not valid_student_id(sid):
            warnings.append(f"roster line {number}: {ascii(sid)[1:-1][:60]} is not a usable student id")
        elif sid.lower() in seen:
            warnings.append(f"roster line {number}: {sid} is listed twice")
        else:
            seen.add(sid.lower())
            entries.append(RosterEntry(**values))
    roster = Roster(tuple(entries))
    for column in COLUMNS[1:]:
        if column == "section":
            continue
        counts: dict[str, list[str]] = {}
        for e in entries:
            if getattr(e, column):
                counts.setdefault(_key(column, getattr(e, column)), []).append(e.id)
        warnings += [f"roster: {', '.join(ids)} share the {column} {ascii(value)[1:-1][:60]}, so it "
                     "matches none of them" for value, ids in counts.items() if len(ids) > 1]
    return roster, warnings


def read_roster(path: Path) -> tuple[list[str], list[str]]:
    """The roster's student ids, in order, and warnings about lines that are not usable ids."""
    roster, warnings = load_roster(path)
    return list(roster.ids), warnings
