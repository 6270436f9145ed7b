"""report.md: item analysis for the instructor: scores, share correct, the most common wrong
answers, the feedback that fired, and the students by name: the submissions that could not be
graded (with the whole message), those without a submission, and those not on the roster.
Written from the class's statistics once every student has passed."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain

from grader.reporters import ERROR, GRADED, NO_SUBMISSION, Reporter, StudentResult, reporter
from grader.reporters.adjustment_summary import AdjustmentSummary
from grader.reporters.statistics import ClassStatistics, TopCounts
from grader.results.points import points_text


@reporter("report.md")
class ReportMd(Reporter):
    reads_statistics = True

    def start(self) -> None:
        self.adjusted = AdjustmentSummary()

    def add(self, student: StudentResult) -> None:
        self.adjusted.add(student)

    def close(self) -> None:
        sink = self.out.stream("report.md")
        try:
            for line in chain(report_lines(self.stats), adjustment_lines(self.adjusted)):
                sink.write(line + "\n")
        finally:
            self.adjusted.close()


def report_lines(stats: ClassStatistics) -> Iterator[str]:
    yield from ["# Batch report", "",
                f"{stats.students} students: {stats.statuses[GRADED]} graded, "
                f"{stats.statuses[ERROR]} with an error, {stats.statuses[NO_SUBMISSION]} without a submission"
                + (f"; {stats.unknown.count} not on the roster" if stats.unknown.count else "")
                + (f"; {len(stats.info.unmatched)} entries matched no student"
                   if stats.info.unmatched else "")
                + ".", ""]
    if stats.graded:
        possible = stats.max_total or 0.0
        yield from [f"Mean total of graded students: {points_text(stats.mean_total, possible)} / "
                    f"{points_text(possible)}.", ""]
    yield from ["Item statistics and figures (score histogram, difficulty, discrimination, the options "
                "chosen): report.html.", "",
                "## Items", "", "| item | mean score | share correct | most common wrong answers | "
                "feedback that fired |", "|---|---|---|---|---|"]
    for k, item in enumerate(stats.items()):
        answers = "; ".join(f"{markdown_text(a)} ×{n}" for a, n in _counted(stats.wrong[k]))
        labels = "; ".join(f"{markdown_text(m)} ×{n}" for m, n in _counted(stats.fired[k]))
        mean = points_text(item.mean, item.max_score if item.students else None)
        yield f"| {markdown_text(item.item_id)} | {mean} | {item.share_correct:.0%} | {answers} | {labels} |"
    if not all(t.exact for t in (*stats.wrong, *stats.fired)):
        yield from ["", "A count written as a range is bounded, not exact: past "
                    f"{2 * stats.wrong[0].capacity} different answers to an item, only the most frequent "
                    "are counted exactly."]
    sections: list[tuple[str, Iterable[Sequence[str]], int]] = [
        ("Submissions that could not be graded", stats.errors, stats.errors.count),
        ("No submission", stats.missing, stats.missing.count),
        ("Graded, but not on the roster", stats.unknown, stats.unknown.count),
        ("Entries matched to no student (not graded)", stats.info.unmatched, len(stats.info.unmatched))]
    for title, rows, count in sections:
        if count:
            yield from ["", f"## {title}", ""]
            for who, *message in rows:  # the whole message: a cut one misleads
                yield f"- {markdown_text(who, None)}" + "".join(f": {markdown_text(m, None)}"
                                                                for m in message)


def adjustment_lines(adjusted: AdjustmentSummary) -> Iterator[str]:
    """The late submissions (points before, penalty, final), those of unknown time, and the items
    scored by hand, by student."""
    if adjusted.late.count:
        yield from ["", f"## Late submissions ({adjusted.late.count})", "",
                    "Points before the late penalty − the penalty = the final score:", ""]
        for student, days, submitted, due, raw, penalty, final in adjusted.late:
            yield (f"- {markdown_text(student, None)}: {days} day{'s' * (days != '1')} late (submitted "
                   f"{markdown_text(submitted)}, due {markdown_text(due)}): {raw} − {penalty} = {final}")
    if adjusted.untimed.count:
        yield from ["", f"## No submission time known ({adjusted.untimed.count})", "",
                    "The late policy was not applied to these submissions: give their times with "
                    "`grade batch --times`.", ""]
        yield from (f"- {markdown_text(student, None)}" + (f" ({said})" if said else "")
                    for student, said in adjusted.untimed)
    if adjusted.overrides.count:
        yield from ["", f"## Scored by hand ({adjusted.overrides.count})", ""]
        for student, item_id, before, after, reason in adjusted.overrides:
            yield (f"- {markdown_text(student, None)}, item {markdown_text(item_id)}: {before} → {after}: "
                   f"{markdown_text(reason, None)}")


def _counted(counts: TopCounts, k: int = 3) -> list[tuple[str, str]]:
    """The ``k`` most frequent values and their counts as text: a range where the summary is
    bounded (the true count lies in it)."""
    return [(value, str(n) if counts.exact else f"{n}–{n + counts.slack}") for value, n in counts.top(k)]


_LINE_BREAKS = str.maketrans({c: " " for c in "\r\n\t\v\f\x1c\x1d\x1e\x85\u2028\u2029"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MARKDOWN = re.compile(r"([\\`*_\[\]!|~$])")
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_LINK = re.compile(r"(?i)(?<=:)//|(?<=www)\.")
# any character the lines above change, or the start of a link: text without one is left as it is
_SPECIAL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029\\\\`*_\\[\\]!|~$&<>]|://|(?i:www)\\.")


def markdown_text(text: object, limit: int | None = 80) -> str:
    """Student-derived text (an id, an answer, an error quoting a file) as inert Markdown on one
    line: at most ``limit`` characters of it, line breaks as spaces, control characters as
    U+FFFD, Markdown's inline punctuation backslash-escaped (so no emphasis, code span, link,
    image or table cell boundary), ``& < >`` as HTML entities (no tag, no ``<url>`` autolink),
    and ``://`` and ``www.`` broken up so a bare URL is not made a link either."""
    return _markdown_text(str(text)[:limit])  # limit None: all of it


@functools.lru_cache(maxsize=4096)  # a class's files repeat the same feedback lines a million times
def _markdown_text(text: str) -> str:
    if not _SPECIAL.search(text):  # most text has nothing to escape
        return text
    text = _CONTROL.sub("\ufffd", text.translate(_LINE_BREAKS))
    text = _MARKDOWN.sub(r"\\\1", text).translate(_HTML)
    return _LINK.sub(lambda m: "".join("\\" + c for c in m.group()), text)
