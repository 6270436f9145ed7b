"""report.md: item analysis for the instructor: scores, share correct, the most common wrong
answers, the feedback that fired, and the submissions that could not be graded."""

from __future__ import annotations

import re
from collections import Counter

from grader.reporters import ERROR, GRADED, NO_SUBMISSION, ClassResults, reporter


@reporter("report.md")
def render(results: ClassResults) -> dict[str, str]:
    return {"report.md": report_md(results)}


def report_md(results: ClassResults) -> str:
    students = results.students
    graded = [s for s in students if s.status == GRADED]
    lines = ["# Batch report", "",
             f"{len(students)} students: {len(graded)} graded, "
             f"{sum(s.status == ERROR for s in students)} with an error, "
             f"{sum(s.status == NO_SUBMISSION for s in students)} without a submission.", ""]
    if graded:
        mean = sum(s.total for s in graded) / len(graded)
        lines += [f"Mean total of graded students: {mean:.2f} / {graded[0].max_total:g}.", ""]
    lines += ["## Items", "", "| item | mean score | share correct | most common wrong answers | "
              "feedback that fired |", "|---|---|---|---|---|"]
    for item_id in results.item_ids:
        entries = [s.items[item_id] for s in graded]
        mean = sum(e.score for e in entries) / len(entries) if entries else 0.0
        share = sum(e.status.passed for e in entries) / len(entries) if entries else 0.0
        written = [(s.analysis[item_id], s.items[item_id].status) for s in graded if item_id in s.analysis]
        # wrong answers: given, and not right (wrong, partly right or unreadable)
        common = Counter(a.answer for a, status in written if status.attempted and not status.passed)
        fired = Counter(a.matched for a, status in written if a.matched and not status.passed)
        answers = "; ".join(f"{markdown_text(a)} ×{n}" for a, n in _top(common))
        labels = "; ".join(f"{markdown_text(m)} ×{n}" for m, n in _top(fired))
        lines.append(f"| {markdown_text(item_id)} | {mean:.2f} | {share:.0%} | {answers} | {labels} |")
    errors = [s for s in students if s.status == ERROR]
    if errors:
        lines += ["", "## Submissions that could not be graded", ""]
        lines += [f"- {markdown_text(s.student)}: {markdown_text(s.error, 200)}" for s in errors]
    return "\n".join(lines) + "\n"


def _top(counts: Counter[str], k: int = 3) -> list[tuple[str, int]]:
    """The ``k`` most frequent, ties broken by text so the report is deterministic."""
    return sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:k]


_LINE_BREAKS = str.maketrans({c: " " for c in "\r\n\t\v\f\x1c\x1d\x1e\x85\u2028\u2029"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MARKDOWN = re.compile(r"([\\`*_\[\]!|~$])")
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def markdown_text(text: object, limit: int = 80) -> str:
    """Student-derived text (an id, an answer, an error quoting a file) as inert Markdown on one
    line: at most ``limit`` characters of it, line breaks as spaces, control characters as
    U+FFFD, Markdown's inline punctuation backslash-escaped (so no emphasis, code span, link,
    image or table cell boundary), ``& < >`` as HTML entities (no tag, no ``<url>`` autolink),
    and ``://`` and ``www.`` broken up so a bare URL is not made a link either."""
    text = _CONTROL.sub("\ufffd", str(text)[:limit].translate(_LINE_BREAKS))
    text = _MARKDOWN.sub(r"\\\1", text).translate(_HTML)
    return re.sub(r"(?i)(?<=:)//|(?<=www)\.", lambda m: "".join("\\" + c for c in m.group()), text)
