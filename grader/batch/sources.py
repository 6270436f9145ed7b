"""Whose each submission is: plain entries and the downloads of Canvas, Gradescope and GitHub
Classroom, each entry matched to a roster id.

- Plain entries: one folder, ``.zip`` or ``.tar.gz`` per student, named by the student's id (or
  by a roster email, login, SIS id or GitHub name).
- Canvas's "Download Submissions": loose files named ``name[_LATE]_userid_fileid_original``
  (``lib/content_zipper.rb`` in instructure/canvas-lms: ``name`` is the sortable name, lower
  case, without punctuation; ``LATE`` marks a late submission; text entries are
  ``name[_LATE]_userid_text.html``). A student's files are put together under their original
  names; the user id is matched to the roster's ``lms_id``, else the name to an id, login or name.
- Gradescope's "Export Submissions": ``submission_metadata.yml`` (``submission_<id>:`` with
  ``:submitters:``, each ``:name:``, ``:sid:`` and ``:email:``, and ``:created_at:``) beside a
  ``submission_<id>/`` folder each; every submitter of a group is graded on the group's files.
- GitHub Classroom (``gh classroom clone student-repos``: ``<slug>-submissions/`` holding one
  clone ``<slug>-<username>`` per student): the username is matched to the roster's ``github``.

An entry matched to no student is never graded under a made-up id: it is listed, by name and
with the reason, in the batch summary and report.md. Without a roster, the LMS's own id is the
student id where it is a usable one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from grader.assignments.roster import Roster, RosterEntry, valid_student_id
from grader.batch.intake import ARCHIVES, JUNK, Submission, shown
from grader.core.fileio import YamlError, read_yaml

GRADESCOPE_METADATA = "submission_metadata.yml"
MAX_METADATA_BYTES = 64 << 20
CANVAS_FILE = re.compile(r"^(?P<name>.*?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<file>\d+)_(?P<original>.+)$",
                         re.S)
CANVAS_TEXT = re.compile(r"^(?P<name>.*?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<original>text|link)\.html$",
                         re.S)
CANVAS_ANONYMOUS = re.compile(r"^(?:LATE_)?anon_[A-Za-z0-9]+_\d+_.+$", re.S)
CANVAS_RENAMED = re.compile(r"^(?P<stem>.+)-\d+(?P<suffix>\.(?:py|yaml))$")  # answers-1.yaml: a resubmission
CLASSROOM_FOLDER = "-submissions"
TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True)
class Unmatched:
    """An entry of the submissions folder that is no student's submission, and why."""

    entry: str
    reason: str


@dataclass
class Intake:
    """A submissions folder read: one submission per student (by id), what matched no student,
    the plain entries graded though the roster lacks them, and warnings."""

    submissions: list[Submission] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    not_on_roster: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def record(self) -> dict[str, object]:
        """What the class's outputs keep of it (OUT/intake.json; each result records whether its
        student is on the roster)."""
        return {"unmatched": [{"entry": u.entry, "reason": u.reason} for u in self.unmatched]}


# a candidate: (the entry's name, the submission without its student, the student or None, why not)
Candidate = tuple[str, Submission, str | None, str]


def read_submissions(folder: Path, roster: Roster | None = None) -> Intake:
    """Every entry of ``folder`` matched to a student: a Gradescope export, or plain entries,
    Canvas files and GitHub Classroom clones side by side."""
    intake = Intake()
    export = _gradescope_export(folder)
    if export is not None:
        candidates = _gradescope(export, roster, intake)
    else:
        entries = [e for e in sorted(folder.iterdir()) if e.name not in JUNK and not e.name.startswith(".")]
        canvas = [e for e in entries if e.is_file() and _canvas_match(e.name)]
        named = set(canvas)
        rest = [e for e in entries if e not in named]
        clones = _classroom_clones(folder, rest)
        named.update(clones)
        plain = [e for e in rest if e not in named]
        candidates = [*_canvas(canvas, roster), *_classroom(folder, clones, roster),
                      *_plain(plain, roster, intake)]
    taken: dict[str, tuple[str, str]] = {}  # id, ignoring case -> (the id, the entry graded as it)
    for name, sub, student, reason in sorted(candidates, key=lambda c: c[0]):
        if student is None:
            intake.unmatched.append(Unmatched(name, reason))
        elif student.lower() in taken:
            first, entry = taken[student.lower()]
            intake.unmatched.append(Unmatched(name, f"a second submission of {first} ({entry} is graded)"))
        else:
            taken[student.lower()] = student, name
            intake.submissions.append(replace(sub, student=student))
    intake.submissions.sort(key=lambda s: s.student)
    graded = {s.student for s in intake.submissions}
    intake.not_on_roster = sorted(s for s in intake.not_on_roster if s in graded)
    return intake


def _matcher(roster: Roster | None, tries: Iterable[tuple[str, str | None]],
             own_id: str | None, what: str) -> tuple[str | None, str]:
    """The student: the first roster line whose column has the value, in the order of ``tries``;
    without a roster, ``own_id`` where it is a usable id. Else None and the reason."""
    if roster:
        for column, value in tries:
            entry = roster.find(column, value)
            if entry is not None:
                return entry.id, ""
        return None, f"{what} matches no roster line"
    if own_id and valid_student_id(own_id):
        return own_id, ""
    return None, f"{what} gives no usable student id; grade with a roster that names the student"


# -- plain entries -----------------------------------------------------------------------------
def student_id(entry: Path) -> tuple[str, str] | None:
    """(id, kind) for a plain entry named by its student, or None when it is not one."""
    name = entry.name
    if entry.is_dir() and not entry.is_symlink():
        kind, sid = "folder", name
    elif name.endswith(".zip"):
        kind, sid = "zip", name[:-4]
    elif name.endswith(".tar.gz") or name.endswith(".tgz"):
        kind, sid = "tar.gz", name[: -7 if name.endswith(".tar.gz") else -4]
    else:
        return None
    return (sid, kind) if valid_student_id(sid) else None


def _plain(entries: list[Path], roster: Roster | None, intake: Intake) -> list[Candidate]:
    out: list[Candidate] = []
    for entry in entries:
        parsed = student_id(entry)
        if parsed is None:
            out.append((shown(entry.name), Submission("", entry, ""), None,
                        "not a folder, .zip or .tar.gz with a plain name"))
            continue
        sid, kind = parsed
        matched = next((e for c in ("id", "email", "login", "sis_id", "github")
                        if roster and (e := roster.find(c, sid)) is not None), None)
        if roster and matched is None:
            intake.not_on_roster.append(sid)
        out.append((entry.name, Submission("", entry, kind), matched.id if matched else sid, ""))
    return out


# -- Canvas ------------------------------------------------------------------------------------
def _canvas_match(name: str) -> re.Match[str] | None:
    if CANVAS_ANONYMOUS.match(name):
        return CANVAS_ANONYMOUS.match(name)
    return CANVAS_FILE.match(name) or CANVAS_TEXT.match(name)


def canvas_name(name: str) -> str:
    """A name as Canvas writes it in file names: lower case, word characters only."""
    return re.sub(r"\W", "", re.sub(r"_(\d+)_", r"\1", name).lower())


def _sortable(name: str) -> str:
    """"Alice Smith" as Canvas sorts it ("Smith, Alice"); a name with a comma is already so."""
    parts = name.split()
    return name if "," in name or len(parts) < 2 else f"{parts[-1]}, {' '.join(parts[:-1])}"


def _canvas_names(roster: Roster | None) -> Callable[[str], RosterEntry | None]:
    """Canvas's file-name form of a name -> the one roster line it can be."""
    index: dict[str, list[RosterEntry]] = {}
    for entry in roster.entries if roster else ():
        for form in {canvas_name(entry.name), canvas_name(_sortable(entry.name))} - {""}:
            index.setdefault(form, []).append(entry)
    return lambda name: found[0] if len(found := index.get(name, [])) == 1 else None


def _canvas(paths: list[Path], roster: Roster | None) -> list[Candidate]:
    groups: dict[str, list[tuple[re.Match[str], Path]]] = {}
    out: list[Candidate] = []
    for path in paths:
        match = _canvas_match(path.name)
        assert match is not None
        if "user" not in match.re.groupindex:
            out.append((shown(path.name), Submission("", path, ""), None,
                        "Canvas hid the student's name (anonymous grading): download with names shown"))
            continue
        groups.setdefault(match["user"], []).append((match, path))
    by_name = _canvas_names(roster)
    for user, members in sorted(groups.items()):
        name = members[0][0]["name"]
        label = f"{shown(members[0][1].name)}" + (f" (+{len(members) - 1} more)" if len(members) > 1 else "")
        student, reason = _matcher(roster, [("lms_id", user), ("id", name), ("login", name)], name,
                                   f"Canvas user {user} ({shown(name)})")
        if student is None and roster and (entry := by_name(name)) is not None:
            student, reason = entry.id, ""
        files = _canvas_files([(m["original"] if "file" in m.re.groupindex else f"{m['original']}.html", p)
                               for m, p in members])
        late = any(m["late"] for m, _p in members)
        if len(files) == 1 and files[0][0].lower().endswith(ARCHIVES):
            kind = "zip" if files[0][0].lower().endswith(".zip") else "tar.gz"
            sub = Submission("", files[0][1], kind, source="canvas", late=late, identity={"lms_id": user})
        else:
            sub = Submission("", members[0][1], "files", tuple(files), "canvas", late=late,
                             identity={"lms_id": user})
        out.append((label, sub, student, reason))
    return out


def _canvas_files(files: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """The files under their original names; a resubmitted file Canvas renamed (answers-1.yaml,
    count_pairs-2.py: no Python module has a hyphen) gets its name back when that is free."""
    names = {n for n, _p in files}
    out = []
    for name, path in sorted(files, key=lambda f: f[1].name):
        renamed = CANVAS_RENAMED.match(name)
        if renamed and renamed["stem"] + renamed["suffix"] not in names:
            name = renamed["stem"] + renamed["suffix"]
            names.add(name)
        out.append((name, path))
    return out


# -- Gradescope --------------------------------------------------------------------------------
def _gradescope_export(folder: Path) -> Path | None:
    """The export folder: ``folder`` itself, or its one subfolder, holding the metadata."""
    if (folder / GRADESCOPE_METADATA).is_file():
        return folder
    subs = [e for e in folder.iterdir() if e.name not in JUNK]
    if len(subs) == 1 and subs[0].is_dir() and (subs[0] / GRADESCOPE_METADATA).is_file():
        return subs[0]
    return None


def iso_time(value: object) -> str | None:
    """A time as ISO 8601 in UTC ("2023-12-02T02:52:07.938335Z"), from Gradescope's
    "2023-12-02 02:52:07.938335000 Z" or ISO text; None when it is not one."""
    match = TIME.match(str(value).strip())
    if match is None:
        return None
    day, clock, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    fraction = f".{fraction[:6]:0<6}" if fraction else ""
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}{fraction}{zone}")
    except ValueError:
        return None
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _text(record: object, key: str) -> str:
    value = record.get(key) if isinstance(record, dict) else None
    return str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _gradescope(export: Path, roster: Roster | None, intake: Intake) -> list[Candidate]:
    try:
        doc = read_yaml(export / GRADESCOPE_METADATA, label=GRADESCOPE_METADATA,
                        max_bytes=MAX_METADATA_BYTES, timestamps=False)
    except (OSError, YamlError) as exc:
        intake.warnings.append(f"{GRADESCOPE_METADATA} cannot be read ({shown(str(exc))}): nothing graded")
        return []
    if not isinstance(doc, dict):
        intake.warnings.append(f"{GRADESCOPE_METADATA} is not a mapping of submissions: nothing graded")
        return []
    out: list[Candidate] = []
    listed = {GRADESCOPE_METADATA}
    for key, record in sorted(doc.items(), key=lambda kv: str(kv[0])):
        key = str(key)
        folder = export / key
        if not re.fullmatch(r"submission_\d+", key) or not isinstance(record, dict):
            intake.warnings.append(f"{GRADESCOPE_METADATA}: {shown(key)} is not a submission; skipped")
            continue
        listed.add(key)
        submitters = record.get(":submitters")
        if not isinstance(submitters, list) or not submitters:
            out.append((key, Submission("", folder, "folder"), None, "the metadata names no submitter"))
        for person in submitters if isinstance(submitters, list) else ():
            email, sid = _text(person, ":email"), _text(person, ":sid")
            what = f"Gradescope submitter {shown(email or sid or _text(person, ':name') or '?')}"
            tries = [("email", email), ("sis_id", sid), ("id", sid), ("id", email)]
            student, reason = _matcher(roster, tries, sid if valid_student_id(sid) else email, what)
            identity = {k: v for k, v in (("email", email), ("sis_id", sid)) if v}
            sub = Submission("", folder, "folder", source="gradescope",
                             submitted_at=iso_time(record.get(":created_at")), identity=identity)
            out.append((f"{key} ({shown(email or sid or '?')})", sub, student, reason))
    for entry in sorted(export.iterdir()):
        if entry.name not in listed and entry.name not in JUNK:
            out.append((shown(entry.name), Submission("", entry, ""), None,
                        f"not a submission listed in {GRADESCOPE_METADATA}"))
    return out


# -- GitHub Classroom --------------------------------------------------------------------------
def _classroom_clones(folder: Path, entries: list[Path]) -> list[Path]:
    """The entries that are clones of students' repositories (a ``.git`` inside, or any folder
    of a ``<slug>-submissions`` folder)."""
    every = folder.name.endswith(CLASSROOM_FOLDER)
    return [e for e in entries if e.is_dir() and not e.is_symlink() and (every or (e / ".git").exists())]


def _slug(folder: Path, clones: list[Path]) -> str | None:
    """The assignment's slug: from ``<slug>-submissions``, or what two or more clones' names
    share up to a hyphen."""
    if folder.name.endswith(CLASSROOM_FOLDER) and len(folder.name) > len(CLASSROOM_FOLDER):
        return folder.name[: -len(CLASSROOM_FOLDER)]
    if len(clones) < 2:
        return None
    first, last = min(c.name for c in clones), max(c.name for c in clones)
    same = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first))
    cut = first.rfind("-", 0, same)
    return first[:cut] if cut > 0 else None


def _classroom(folder: Path, clones: list[Path], roster: Roster | None) -> list[Candidate]:
    slug = _slug(folder, clones)
    out: list[Candidate] = []
    for clone in clones:
        name = clone.name
        if slug is not None and name.startswith(slug + "-"):
            usernames = [name[len(slug) + 1:]]
        else:  # the longest tail after a hyphen that the roster knows
            usernames = [name[i + 1:] for i, c in enumerate(name) if c == "-"]
        what = f"GitHub Classroom repository {shown(name)}"
        github = next((u for u in usernames if roster and (roster.find("github", u) or roster.find("id", u))),
                      usernames[0] if len(usernames) == 1 else "")
        student, reason = _matcher(roster, [("github", github), ("id", github)], github, what)
        sub = Submission("", clone, "folder", source="github classroom",
                         identity={"github": github} if github else {})
        out.append((shown(name), sub, student, reason))
    return out
