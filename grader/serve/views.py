"""What a page of ``grade serve`` shows, gathered afresh from the workspace on every request (so
an edit made in an editor while the page is open shows at the next load), and the two things a
page does: answer an item, and save and run a code item's file.

Grading is ``grade check``'s own: ``check_workspace`` for the one item, which records progress
(and the day) exactly as ``grade check --item ID`` does; showing a page checks without saving.
So the page and ``grade check`` always agree, in practice and in graded workspaces (format
checks only there, and nothing of the key).

The control an item gets is its type's word (``ItemType.answer_input``, in ``grader.items``):
its file in an editor (code items, kernel tasks), one or several options, steps to order, or a
line of text.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.core.fileio import WorkspaceError
from grader.grading.check import check_workspace
from grader.grading.report import ItemOutcome
from grader.items import FILE, MANY, ONE, ORDER, TEXT, bank_type, for_type
from grader.items.instance import instantiate
from grader.model.bank import Bank
from grader.model.entry import ManifestItem
from grader.responses.answers_file import read_answers
from grader.responses.units import asked_in_words
from grader.rules.selection import SelectionError, read_ids
from grader.workspace.edits import Answer, read_code, set_answer, write_code
from grader.workspace.folder import Workspace
from grader.workspace.manifest import MANIFEST_NAME
from grader.workspace.progress import (
    PROGRESS_NAME,
    ChapterMastery,
    ItemProgress,
    day_streak,
    load_progress,
    mastery,
)

__all__ = ["FILE", "MANY", "ONE", "ORDER", "TEXT"]  # the controls, as grader.items names them


def control(entry: ManifestItem) -> str:
    """How the page asks for ``entry``'s answer: as its type says."""
    return for_type(entry.type).answer_input(entry)


@dataclass(frozen=True)
class Standing:
    """Mastery per chapter and overall, and the day streak: the header of every page."""

    graded: bool
    rows: list[ChapterMastery]
    streak: int
    statuses: dict[str, ItemProgress] = field(default_factory=dict)
    warning: str | None = None

    @property
    def done(self) -> int:
        """Mastered items (graded workspaces: readable ones, as ``grade progress`` counts)."""
        return sum(r.answered if self.graded else r.mastered for r in self.rows)

    @property
    def total(self) -> int:
        return sum(r.total for r in self.rows)


def standing(workspace: Workspace, bank: Bank | None) -> Standing:
    """The workspace's progress as ``grade progress`` reads it."""
    progress, warning = load_progress(workspace.state_dir)
    titles = {c.number: c.title for c in bank.chapters} if bank else {}
    entries = workspace.manifest.entries
    rows = mastery([(e.id, e.chapter) for e in entries], progress, titles)
    return Standing(workspace.manifest.mode == "graded", rows, day_streak(progress),
                    {e.id: progress.of(e.id) for e in entries}, warning)


@dataclass(frozen=True)
class ItemView:
    """One item's page."""

    entry: ManifestItem
    control: str
    prompt: str
    asked: str | None  # "Answer in tokens (checked within ±0.5)"
    choices: list[tuple[str, str]]  # (label, text), in the student's order
    answer: str  # the text answer as answers.yaml holds it
    chosen: list[str]  # the options chosen, or the steps in the student's order
    code: str | None  # the code file's text
    outcome: ItemOutcome | None  # what grade check says now
    warnings: list[str]
    error: str | None  # why the answers or the file could not be read


def _prompt(bank: Bank | None, entry: ManifestItem) -> tuple[str, str | None, list[tuple[str, str]]]:
    """(prompt at the workspace's variant, what to answer in, the choices in the student's order)."""
    item = bank.items.get(entry.id) if bank else None
    if item is not None and item.type == entry.type:
        shown = item.shuffled(entry.shuffle)
        kind = bank_type(item.type)
        fields = kind.show_fields(shown)
        asked = (f"Answer {asked_in_words(fields['unit'])} (checked {fields['tolerance']})."
                 if "unit" in fields else None)
        return instantiate(shown, entry.params or None).prompt, asked, kind.choices(shown)
    task = bank.kernels.get(entry.id) if bank else None
    if task is not None:
        return task.prompt, None, []
    return f"Item {entry.id} is not in the installed bank.", None, []


def _chosen(entry: ManifestItem, how: str, response: object) -> list[str]:
    """The option ids ``response`` names (an order: all the steps, the student's first)."""
    try:
        ids = [i for i in read_ids(response, entry.options) if i in entry.options] if response else []
    except SelectionError:
        ids = []
    if how == ORDER:
        ids = list(dict.fromkeys(ids))
        return ids + [s for s in entry.options if s not in ids]
    return ids


def check_one(workspace: Workspace, bank: Bank | None, entry: ManifestItem,
              save: bool) -> tuple[ItemOutcome, list[str]]:
    """``grade check --item ID``: the outcome and the warnings (``save``: record progress)."""
    report = check_workspace(workspace, (entry.id,), save=save, bank=bank)
    return report.outcomes[0], report.warnings


def item_view(workspace: Workspace, bank: Bank | None, entry: ManifestItem) -> ItemView:
    """``entry``'s page, with what ``grade check`` says about it now (nothing saved)."""
    how = control(entry)
    prompt, asked, choices = _prompt(bank, entry)
    answer, chosen, code, error = "", list(entry.options) if how == ORDER else [], None, None
    try:
        if how == FILE:
            code = read_code(workspace.root, entry.files[0])
        else:
            response = read_answers(workspace.answers_path).answers.get(entry.id)
            answer = response if isinstance(response, str) else ""
            chosen = _chosen(entry, how, response)
        outcome, warnings = check_one(workspace, bank, entry, save=False)
    except WorkspaceError as exc:
        outcome, warnings, error = None, [], str(exc)
    return ItemView(entry, how, prompt, asked, choices, answer, chosen, code, outcome, warnings, error)


class BadAnswer(ValueError):
    """A submitted answer the item's control cannot have sent."""


def answer_value(entry: ManifestItem, values: Sequence[str]) -> Answer:
    """What the form sent, as answers.yaml will hold it; BadAnswer when it names an option
    the item does not have (or an order that is not all the steps)."""
    how = control(entry)
    if how == TEXT:
        return values[0] if values else ""
    if how == FILE:
        raise BadAnswer(f"item {entry.id} is answered by its file, not in answers.yaml")
    unknown = [v for v in values if v not in entry.options]
    if unknown or len(set(values)) != len(values):
        raise BadAnswer("the answer names options this item does not have, or one twice")
    if how == ORDER:
        if sorted(values) != sorted(entry.options):
            raise BadAnswer("an order must hold every step once")
        return list(values)
    if how == ONE:
        if len(values) > 1:
            raise BadAnswer("this item takes one option")
        return values[0] if values else ""
    return list(values) if values else ""


def answer(workspace: Workspace, bank: Bank | None, entry: ManifestItem,
           value: Answer) -> tuple[ItemOutcome, list[str]]:
    """Write ``value`` into answers.yaml and check the item as ``grade check`` does."""
    set_answer(workspace.answers_path, entry.id, value)
    return check_one(workspace, bank, entry, save=True)


def save_and_run(workspace: Workspace, bank: Bank | None, entry: ManifestItem,
                 text: str) -> tuple[ItemOutcome, list[str]]:
    """Save a code item's file and check it (its tests in the sandbox) as ``grade check`` does."""
    write_code(workspace.root, entry.files[0], text.replace("\r\n", "\n"))
    return check_one(workspace, bank, entry, save=True)


def stamp(workspace: Workspace, entry: ManifestItem | None) -> str:
    """A digest of when the files a page shows last changed: answers.yaml, grade.yaml, the
    progress file and the item's own file. A page whose stamp changes loads again."""
    paths = [workspace.answers_path, workspace.root / MANIFEST_NAME, workspace.state_dir / PROGRESS_NAME]
    if entry is not None and entry.files:
        paths.append(workspace.root / entry.files[0])
    parts = []
    for path in paths:
        try:
            st = os.stat(path, follow_symlinks=False)
            parts.append(f"{st.st_mtime_ns}:{st.st_size}")
        except OSError:
            parts.append("-")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def neighbours(entries: Sequence[ManifestItem], entry: ManifestItem) -> tuple[ManifestItem | None,
                                                                               ManifestItem | None]:
    """The entries before and after ``entry`` in workspace order."""
    index = next(i for i, e in enumerate(entries) if e.id == entry.id)
    return (entries[index - 1] if index else None,
            entries[index + 1] if index + 1 < len(entries) else None)


def chapter_title(bank: Bank | None, number: int) -> str:
    chapter = bank.chapter(number) if bank else None
    return chapter.title if chapter else ""


def workspace_name(workspace: Workspace) -> str:
    return workspace.manifest.title or Path(workspace.root).name
