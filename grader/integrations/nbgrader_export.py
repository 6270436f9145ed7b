"""``grade export nbgrader``: an assignment as nbgrader source notebooks, one per chapter.

Per item: a locked markdown prompt; an answer cell marked as a solution cell (the
reference between ``### BEGIN SOLUTION`` and ``### END SOLUTION``); a locked test cell
with the item's points whose visible part checks the format (or runs the public tests)
and whose ``### BEGIN HIDDEN TESTS`` part returns the points earned; and, when the spec
asks for it, a manually graded "explain your reasoning" cell. The test cells call
``grader.integrations.notebook``, so the kernel needs ``grader`` installed. Notebooks are written as
plain nbformat 4.5 JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from grader.assignments.assignment import Assignment, late_policy_text, student_manifest
from grader.items import bank_type
from grader.items.instance import instantiate
from grader.model.bank import Bank, Item
from grader.workspace.manifest import ManifestItem

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40]


def var_name(item_id: str) -> str:
    return "answer_" + item_id.replace(".", "_")


def _cell(kind: str, cell_id: str, source: str, nbgrader: dict[str, Any] | None = None) -> dict:
    cell: dict[str, Any] = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": source}
    if nbgrader is not None:
        cell["metadata"]["nbgrader"] = {"schema_version": 3, "grade_id": cell_id, "task": False,
                                        "grade": False, "solution": False, "locked": False, **nbgrader}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _prompt_markdown(item: Item, entry: ManifestItem, base: Path, prompt: str) -> str:
    points = f"{entry.points:g} point" + ("" if entry.points == 1 else "s")
    lines = [f"### {item.id} {item.title} ({item.type}, {points})", "", prompt, ""]
    lines += bank_type(item.type).notebook_prompt(item, entry, base, var_name(item.id))
    return "\n".join(lines)


def item_cells(item: Item, entry: ManifestItem, base: Path, explain_points: float | None) -> list[dict]:
    gid = "q" + item.id.replace(".", "_")
    kind = bank_type(item.type)
    shown = instantiate(item, entry.params or None).text  # the item at the entry's numbers, once
    cells = [
        _cell("markdown", f"{gid}_prompt", _prompt_markdown(item, entry, base, shown.prompt),
              {"locked": True}),
        _cell("code", f"{gid}_answer", kind.notebook_answer(item, entry, base, var_name(item.id)),
              {"solution": True}),
        _cell("code", f"{gid}_tests", kind.notebook_tests(item, entry, var_name(item.id)),
              {"grade": True, "locked": True, "points": entry.points}),
    ]
    if explain_points:
        worth = f"{explain_points:g} point" + ("" if explain_points == 1 else "s")
        text = (f"**Explain your reasoning for {item.id}** ({worth}, graded by hand).\n\n"
                f"### BEGIN SOLUTION\n{shown.derivation}\n"
                "### END SOLUTION")
        cells.append(_cell("markdown", f"{gid}_explain", text,
                           {"grade": True, "solution": True, "points": explain_points}))
    return cells


def _header(bank: Bank, assignment: Assignment, chapter: int) -> str:
    ch = bank.chapter(chapter)
    lines = [f"# {assignment.title or assignment.name}: chapter {chapter}, {ch.title if ch else ''}", ""]
    if assignment.due:
        lines.append(f"**Due:** {assignment.due}.")
    if assignment.late_policy:
        lines.append(f"**Late policy:** {late_policy_text(assignment.late_policy)}.")
    lines += ["", "Answer in the cells marked for you, run the check cell below each answer, then "
              "submit. The check cells import `grader`: install it in this notebook's kernel from the "
              "wheel your course gives you (`%pip install lm_workbook_grader-<version>-py3-none-any.whl`)."]
    return "\n".join(lines)


def notebook(cells: list[dict]) -> dict:
    return {"cells": cells, "metadata": {"kernelspec": KERNELSPEC,
                                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def export_nbgrader(bank: Bank, assignment: Assignment, out: Path) -> tuple[list[Path], list[str]]:
    """Write one source notebook per chapter into ``out``; return the files and warnings."""
    warnings = []
    if assignment.per_student:
        shared = ("the bank's default numbers, not per-student variants" + (
            ", and the trace options and design steps in one order with the bank's labels for "
            "everyone, not each student's own shuffle" if assignment.shuffles else ""))
        warnings.append(f"nbgrader releases one notebook to every student: the notebooks use {shared}")
    manifest = student_manifest(bank, assignment, None)
    if manifest.kernels:
        warnings.append(f"kernel task(s) {', '.join(k.id for k in manifest.kernels)} are not exported "
                        "to notebooks: students write them as files, and 'grade batch --assignment' "
                        "or 'grade kernel check' grades them")
    by_chapter: dict[int, list[ManifestItem]] = {}
    for entry in manifest.items:
        by_chapter.setdefault(entry.chapter, []).append(entry)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter, entries in sorted(by_chapter.items()):
        ch = bank.chapter(chapter)
        cells = [_cell("markdown", f"ch{chapter}_header", _header(bank, assignment, chapter),
                       {"locked": True})]
        for entry in entries:
            cells += item_cells(bank.items[entry.id], entry, bank.root, assignment.explain_points)
        path = out / f"ch{chapter:02d}_{_slug(ch.title if ch else 'items')}.ipynb"
        path.write_text(json.dumps(notebook(cells), indent=1, ensure_ascii=False) + "\n", "utf-8")
        written.append(path)
    return written, warnings
