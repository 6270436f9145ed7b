"""Code items across a class: the pairs of submissions whose code is most alike, for a person to
read (never a grade change).

Each student's files of a code item (those that run in the sandbox) are fingerprinted as MOSS
does (``grader.batch.winnowing``: renaming variables or changing comments and literals changes
nothing). Fingerprints of the item's starter files are left out (so the template handed in
unchanged matches nothing), and so are those found in more than ``COMMON`` submissions (code
everyone writes alike; MOSS's ``-m``). A pair's score is the number of fingerprints it shares;
each student's share is the part of their own fingerprints that the other has too.

Cost: the submissions are unpacked once (and the listed pairs' again, to show the lines);
memory holds an index from fingerprint to students, about one entry per 5 tokens of student
code; pairs are counted per shared fingerprint, at most C(COMMON, 2) each.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.batch.intake import IntakeError, Submission, arrange_flat, unpack
from grader.batch.winnowing import Fingerprint, fingerprints
from grader.core.fileio import WorkspaceError
from grader.items import for_type
from grader.model.bank import Bank
from grader.model.entry import ManifestItem

COMMON = 10  # a fingerprint in more submissions than this is common code: left out
LISTED = 50  # pairs listed per item, the most alike first
MIN_SHARED = 2  # fewer shared fingerprints than this is not listed
MAX_FILE_BYTES = 256 * 1024  # read of each file (winnowing reads 200,000 characters)


@dataclass(frozen=True)
class CodePair:
    """Two students' code of one item, and how much of it is alike."""

    students: tuple[str, str]
    shared: int  # fingerprints both have
    shares: tuple[float, float]  # the part of each one's fingerprints the other has
    lines: tuple[str, str] = ("", "")  # where each one's shared code is: "file.py:5-9, 12"

    def to_json(self) -> dict[str, Any]:
        return {"students": list(self.students), "shared": self.shared,
                "shares": [round(s, 3) for s in self.shares], "lines": list(self.lines)}


@dataclass
class CodeItem:
    """One code item's ranking."""

    item: str
    files: tuple[str, ...]
    compared: int = 0  # submissions with code of their own (beyond the starter files)
    pairs: list[CodePair] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # students whose submission could not be unpacked

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "files": list(self.files), "compared": self.compared,
                "pairs": [p.to_json() for p in self.pairs], "unreadable": self.unreadable}


def code_entries(entries: list[ManifestItem]) -> list[ManifestItem]:
    """The entries graded by running Python files."""
    return [e for e in entries if any(f.endswith(".py") for f in e.files)]


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.is_symlink():
            return None
        with path.open("rb") as handle:
            return handle.read(MAX_FILE_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None


def file_prints(root: Path, entry: ManifestItem) -> dict[str, list[Fingerprint]]:
    """Each of the entry's Python files in an unpacked submission, fingerprinted."""
    out = {}
    for name in entry.files:
        text = _read(root / name) if name.endswith(".py") else None
        if text is not None:
            out[name] = fingerprints(text)
    return out


def starter_hashes(bank: Bank, entry: ManifestItem) -> set[int]:
    """The fingerprints of the files the student started from."""
    out: set[int] = set()
    for source, _target in for_type(entry.type).starter_files(bank, entry):
        text = _read(source)
        if text is not None:
            out |= {f.hash for f in fingerprints(text)}
    return out


def unpacked(subs: list[Submission], wanted: list[str]) -> Iterator[tuple[Submission, Path | str]]:
    """Each submission unpacked in a scratch folder (removed after its turn), or why it could not be."""
    scratch = Path(tempfile.mkdtemp(prefix="grade-collusion-"))
    try:
        for number, sub in enumerate(subs):
            folder = scratch / str(number)
            try:
                root = unpack(sub, folder)
                arrange_flat(root, wanted)
            except (IntakeError, WorkspaceError, OSError) as exc:
                yield sub, str(exc) or type(exc).__name__
            else:
                yield sub, root
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _ranges(lines: set[int]) -> str:
    """1, 2, 3, 7 -> '1-3, 7'."""
    runs: list[list[int]] = []
    for line in sorted(lines):
        if runs and runs[-1][1] == line - 1:
            runs[-1][1] = line
        else:
            runs.append([line, line])
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in runs)


def _lines(prints: dict[str, list[Fingerprint]], shared: set[int]) -> str:
    """Where the shared fingerprints lie in one student's files."""
    parts = []
    for name, found in sorted(prints.items()):
        lines = {line for f in found if f.hash in shared for line in range(f.first_line, f.last_line + 1)}
        if lines:
            parts.append(f"{name}:{_ranges(lines)}")
    return "; ".join(parts)


def rank_code(bank: Bank, entries: list[ManifestItem], subs: list[Submission]) -> list[CodeItem]:
    """The most alike pairs of each code item among ``subs``."""
    code = code_entries(entries)
    if not code:
        return []
    students = sorted(subs, key=lambda s: s.student)
    wanted = [f for e in code for f in e.files]
    left_out = {e.id: starter_hashes(bank, e) for e in code}  # and, once counted, the common ones
    index: dict[str, dict[int, list[int]]] = {e.id: {} for e in code}
    sizes: dict[str, Counter[int]] = {e.id: Counter() for e in code}
    items = {e.id: CodeItem(e.id, e.files) for e in code}
    for number, (sub, root) in enumerate(unpacked(students, wanted)):
        if isinstance(root, str):
            for item in items.values():
                item.unreadable.append(sub.student)
            continue
        for entry in code:
            own = {f.hash for found in file_prints(root, entry).values() for f in found} - left_out[entry.id]
            for h in own:
                index[entry.id].setdefault(h, []).append(number)
            sizes[entry.id][number] = len(own)
    listed: set[int] = set()
    for entry in code:
        pairs: Counter[tuple[int, int]] = Counter()
        size = sizes[entry.id]
        for h, owners in index[entry.id].items():
            if len(owners) > COMMON:
                left_out[entry.id].add(h)
                size.subtract(owners)
            elif len(owners) > 1:  # appended in student order: a < b
                pairs.update((a, b) for i, a in enumerate(owners) for b in owners[i + 1:])
        index[entry.id].clear()
        items[entry.id].compared = sum(1 for n in size if size[n] > 0)
        ranked = sorted(((n, a, b) for (a, b), n in pairs.items() if n >= MIN_SHARED),
                        key=lambda p: (-p[0], -max(p[0] / size[p[1]], p[0] / size[p[2]]),
                                       students[p[1]].student, students[p[2]].student))[:LISTED]
        items[entry.id].pairs = [CodePair((students[a].student, students[b].student), n,
                                          (n / size[a], n / size[b])) for n, a, b in ranked]
        listed.update(x for _n, a, b in ranked for x in (a, b))
    _show_lines([students[n] for n in sorted(listed)], wanted, code, items, left_out)
    return [items[e.id] for e in code]


def _show_lines(listed: list[Submission], wanted: list[str], code: list[ManifestItem],
                items: dict[str, CodeItem], left_out: dict[str, set[int]]) -> None:
    """Fill in where each listed pair's shared code lies (the listed students unpacked again)."""
    prints: dict[str, dict[str, dict[str, list[Fingerprint]]]] = {}
    for sub, root in unpacked(listed, wanted):
        if not isinstance(root, str):
            prints[sub.student] = {e.id: file_prints(root, e) for e in code}
    for item in items.values():
        for k, pair in enumerate(item.pairs):
            a, b = (prints.get(s, {}).get(item.item, {}) for s in pair.students)
            shared = ({f.hash for found in a.values() for f in found}
                      & {f.hash for found in b.values() for f in found}) - left_out[item.item]
            item.pairs[k] = CodePair(pair.students, pair.shared, pair.shares,
                                     (_lines(a, shared), _lines(b, shared)))
