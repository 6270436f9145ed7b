"""Terminal views of a check and of progress (rich tables)."""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.grading.report import CheckReport, ItemOutcome
from grader.results.points import points_text, score_text
from grader.results.status import Status
from grader.workspace.progress import ChapterMastery

# C0 and C1 control characters: escape sequences quoted from a student's answer (clear the screen,
# set the title, rewrite a line) reach no one's terminal, a TA's included
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """``text`` with each control character but tab and line break shown as U+FFFD."""
    return _CONTROL.sub("\ufffd", text)


def _one_paragraph(text: str) -> str:
    """Feedback written across several YAML lines, joined to wrap with the table."""
    return re.sub(r"\s*\n\s*", " ", _printable(text).strip())


NOT_YET = "–"  # the points of an answer graded only after submission


def _points(outcomes: list[ItemOutcome], between: str = "/") -> str:
    """Points for people (``0.67/1``); ``–/3`` while any of them waits for the submission."""
    possible = sum(o.entry.points for o in outcomes)
    if any(o.result.status is Status.PENDING for o in outcomes):
        return f"{NOT_YET}{between}{points_text(possible)}"
    return score_text(sum(o.earned for o in outcomes), possible, between)


def points_cell(outcomes: list[ItemOutcome]) -> str:
    """The points of ``outcomes`` as the check table writes them, for other views of a check
    (``grade serve``'s page)."""
    return _points(outcomes)


def print_check(report: CheckReport, console: Console, titles: dict[int, str],
                explain: bool = False) -> None:
    """The check table grouped by chapter, totals, then worked solutions of newly right items."""
    table = Table("item", "status", "points", "feedback", expand=False, show_lines=False,
                  title=f"grade check ({report.mode} mode)")
    for chapter, outcomes in report.by_chapter().items():
        table.add_section()
        table.add_row("", "", Text(_points(outcomes), style="bold"),
                      Text(f"Chapter {chapter} · {titles.get(chapter, '')}", style="bold"))
        for o in outcomes:
            status = o.result.status
            lines = [_one_paragraph(line) for line in o.result.feedback]
            if o.hint:
                lines.append(_one_paragraph(o.hint))
            table.add_row(o.entry.id, Text(status.terminal, style=status.style),
                          _points([o]), Text("\n".join(lines)))
    console.print(table)
    for warning in report.warnings:
        console.print(Text(f"warning: {_printable(warning)}", style="yellow"))
    counts = {s: sum(o.result.status is s for o in report.outcomes) for s in Status}
    summary = ", ".join(f"{n} {s.label}" for s, n in counts.items() if n)
    total = _points(report.outcomes, " / ")
    if report.mode == "graded":
        due = f" (due {report.due})" if report.due else ""
        console.print(Text(f"Total {total}: graded after you submit{due}  ({summary})", style="bold"))
        console.print(_graded_note(report), markup=False, highlight=False)
    else:
        console.print(Text(f"Total {total}  ({summary})", style="bold"))
    shown = [o for o in report.outcomes if o.derivation and (explain or o.newly_correct)]
    for o in shown:
        console.print(Text(f"\nWorked solution {o.entry.id} {o.entry.title}", style="bold green"))
        console.print(o.derivation, markup=False, highlight=False)
    hidden = sum(1 for o in report.outcomes if o.derivation) - len(shown)
    if hidden > 0:
        console.print(Text(f"({hidden} worked solution(s) of items you had right before: "
                           "'grade check --explain' shows them)", style="dim"))


def _graded_note(report: CheckReport) -> str:
    """What a graded check tells the student: nothing is judged yet, and what is readable."""
    readable = [o for o in report.outcomes if o.result.status is Status.PENDING]
    items, possible = len(report.outcomes), report.max_total
    worth = points_text(sum(o.entry.points for o in readable))
    note = (f"Graded workspace: answers were checked for format only. Readable now: {len(readable)} "
            f"of {items} item{'s' * (items != 1)}, worth {worth} of {points_text(possible)} "
            f"point{'s' * (possible != 1)}.")
    if len(readable) < items:
        note += " An item with an error or no answer scores 0 if you submit it as it is."
    return note


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)


def print_progress(rows: list[ChapterMastery], console: Console, graded: bool) -> None:
    """Mastery per chapter and overall, like the workbook's "Mastery 0/51" panel (graded:
    the readable answers, the only thing known before grading)."""
    columns = ("readable", "") if graded else ("mastered", "", "answered")
    table = Table("chapter", "title", *columns, title="Progress")
    for r in rows:
        done = r.answered if graded else r.mastered
        cells = (f"{done}/{r.total}", _bar(done, r.total), f"{r.answered}/{r.total}")
        table.add_row(str(r.chapter), r.title, *cells[:len(columns)])
    console.print(table)
    total = sum(r.total for r in rows)
    mastered = sum(r.mastered for r in rows)
    answered = sum(r.answered for r in rows)
    if graded:
        console.print(Text(f"Answered {answered}/{total}. Correctness is graded on submission.",
                           style="bold"))
    else:
        console.print(Text(f"Mastery {mastered}/{total}", style="bold"))
