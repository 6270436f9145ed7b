"""``grade check``: grade (practice) or format-check (graded) a workspace's answers.

One item's failure never stops the others: every item ends as a Result, and a
grader bug on one item is reported as that item's error.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.bank.loader import load_bank
from grader.core.paths import default_bank_dir
from grader.core.state import check_state, state_lock
from grader.grading.pipeline import grade_entries
from grader.grading.report import CheckReport, ItemOutcome
from grader.items import for_type
from grader.items.code_runs import CODE_RESULTS
from grader.items.instance import instantiate
from grader.model.bank import Bank, Item
from grader.model.entry import ManifestItem
from grader.responses.answers_file import AnswerSheet, read_answers
from grader.results.result import Result
from grader.workspace.folder import Workspace
from grader.workspace.progress import (
    PROGRESS_NAME,
    ItemProgress,
    Progress,
    load_progress,
    record,
    save_progress,
)


def coach(item: Item, result: Result, after: ItemProgress,
          params: Mapping[str, float] | None = None) -> tuple[str | None, str | None]:
    """The next hint for a wrong answer, or the worked solution for a right one, as they read
    at the workspace's variant (``params``)."""
    if result.status.passed:
        return None, instantiate(item, params).text.derivation
    if result.status.judged and item.hints:  # judged, not passed: a wrong answer
        k = max(1, min(after.wrong_answers, len(item.hints)))
        return f"Hint {k}/{len(item.hints)}: {instantiate(item, params).text.hints[k - 1]}", None
    return None, None


def sheet_warnings(sheet: AnswerSheet, known: Iterable[str]) -> list[str]:
    known = set(known)
    warnings = [f"answers.yaml line {sheet.lines[i]}: '{i}' is not an item of this workspace"
                for i in sheet.answers if i not in known]
    warnings += [f"answers.yaml gives {i} more than once (lines {', '.join(map(str, lines))}); "
                 "the last one is graded" for i, lines in sheet.duplicates.items()]
    return warnings


def _bank_for(workspace: Workspace) -> tuple[Bank, list[str]]:
    bank_dir = Path(workspace.manifest.bank) if workspace.manifest.bank else default_bank_dir()
    loaded = load_bank(bank_dir)
    warnings = [f"the bank at {bank_dir} has {len(loaded.problems)} problem(s); "
                "'grade validate' lists them"] if loaded.problems else []
    return loaded.bank, warnings


def _code_results(bank: Bank | None, workspace: Workspace, code: Sequence[ManifestItem],
                  practice: bool) -> dict[str, Result]:
    """The code items' and kernel tasks' results, run cold side by side (each is its own
    sandboxed process), unchanged files from the workspace's cache."""
    if not code:
        return {}

    def run(e: ManifestItem) -> Result:
        return for_type(e.type).run_workspace(bank, e, workspace.root, workspace.state_dir / CODE_RESULTS,
                                              practice=practice)

    with ThreadPoolExecutor(max_workers=min(len(code), os.cpu_count() or 1)) as pool:
        return dict(zip((e.id for e in code), pool.map(run, code), strict=True))


def check_answers(workspace: Workspace, sheet: AnswerSheet, only: Iterable[str] = (),
                  progress: Progress | None = None, bank: Bank | None = None) -> CheckReport:
    """Check ``sheet`` against the workspace's items (all, or the ids in ``only``).

    ``progress`` (practice mode) is updated in place and decides which hint to show.
    """
    manifest = workspace.manifest
    wanted = set(only)
    entries = [e for e in manifest.entries if not wanted or e.id in wanted]
    report = CheckReport(manifest.mode, warnings=sheet_warnings(sheet, (e.id for e in manifest.items)),
                         due=(manifest.assignment or {}).get("due"))
    graded = manifest.mode == "graded"
    if bank is None and (not graded or any(e.files for e in entries)):
        bank, bank_warnings = _bank_for(workspace)
        report.warnings += [] if graded else bank_warnings
    if bank is not None:
        report.titles = {c.number: c.title for c in bank.chapters}
    results = grade_entries(entries, sheet.answers, bank,
                            lambda code: _code_results(bank, workspace, code, practice=not graded), graded)
    for entry, result in results:
        response = sheet.answers.get(entry.id)
        if entry.files and not graded:
            response = list(result.feedback)  # a changed set of failing tests is a new attempt
        hint = derivation = None
        newly = False
        if progress is not None:
            before = record(progress, entry.id, result.status, result.score, response)
            item = bank.items.get(entry.id) if bank is not None and not graded else None
            newly = result.status.passed and not before.passed and not graded
            if item is not None:
                hint, derivation = coach(item, result, progress.of(entry.id), entry.params or None)
        report.outcomes.append(ItemOutcome(entry, result, hint, derivation, newly))
    return report


def check_workspace(workspace: Workspace, only: Iterable[str] = (), save: bool = True,
                    bank: Bank | None = None) -> CheckReport:
    """Read the answers, check them, and (practice mode) record progress. ``bank``: the
    workspace's bank, when the caller keeps it loaded (``grade serve``); else it is loaded here.

    A ``.grade`` that is a link (or holds one) is refused first: StateError, nothing run.
    """
    check_state(workspace.state_dir, PROGRESS_NAME, CODE_RESULTS)
    # a check that saves holds the progress file's lock from reading to saving: another check
    # at the same time (grade serve's page, a second terminal) waits, so neither's record is lost
    with state_lock(workspace.state_dir, PROGRESS_NAME) if save else contextlib.nullcontext():
        sheet = read_answers(workspace.answers_path)
        progress, warning = load_progress(workspace.state_dir)
        report = check_answers(workspace, sheet, only, progress, bank)
        if warning:
            report.warnings.append(warning)
        if save:
            progress.checks += 1
            save_progress(workspace.state_dir, progress)
    return report

