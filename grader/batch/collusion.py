"""``grade collusion``: signs of copying in a graded class, for a person to review.

Run after ``grade batch`` on its output folder, with the assignment's spec (it says each
student's variant) and, for code items, the submissions folder. Two checks:

- answers right for another student's variant and not the student's own, weighed by how
  unlikely they are by chance (``grader.batch.answer_matches``); pairs too unlikely for honest
  work are flagged;
- code items: the most alike pairs of submissions by normalised token fingerprints
  (``grader.batch.code_similarity``), listed for reading.

Both go to ``collusion.md`` and ``collusion.json`` in the output folder; no result or grade
changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.assignments.assignment import Assignment, student_manifest
from grader.assignments.roster import Roster
from grader.batch.answer_matches import ALPHA, COMMON_SHARE, AnswerMatches, AnswerPair, answer_matches
from grader.batch.code_similarity import COMMON, CodeItem, rank_code
from grader.batch.outputs import read_results, result_files
from grader.batch.run import write_atomic
from grader.batch.sources import read_submissions
from grader.model.bank import Bank
from grader.reporters.report_md import markdown_text

COLLUSION_MD, COLLUSION_JSON = "collusion.md", "collusion.json"


class CollusionError(ValueError):
    """The check cannot run: no results, or results of another assignment."""


@dataclass
class CollusionReport:
    """What the check found."""

    assignment: str
    per_student: bool
    answers: AnswerMatches | None = None  # None: the variants are not per student
    code: list[CodeItem] = field(default_factory=list)
    code_compared: bool = False  # a submissions folder was given
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        answers = None
        if self.answers is not None:
            a = self.answers
            answers = {"students": a.students, "answering": a.answering, "items": list(a.items),
                       "pool": a.pool, "alpha": ALPHA, "flagged": [p.to_json() for p in a.flagged],
                       "unflagged": a.unflagged, "closest": [p.to_json() for p in a.closest]}
        return {"assignment": self.assignment, "per_student": self.per_student, "answers": answers,
                "code": [c.to_json() for c in self.code] if self.code_compared else None,
                "warnings": self.warnings}


def check_collusion(out: Path, bank: Bank, assignment: Assignment, submissions: Path | None = None,
                    roster: Roster | None = None) -> CollusionReport:
    """Compare the class graded into ``out`` (and the code in ``submissions``); raises
    CollusionError when ``out`` holds no results of ``assignment``."""
    files = sorted(result_files(out).items())
    warnings: list[str] = []
    first = next(read_results(files), None)
    if first is None:
        raise CollusionError(f"{out} holds no readable results: grade the class with 'grade batch' first")
    if first.assignment != assignment.name:
        graded = f"assignment {first.assignment!r}" if first.assignment else "the whole bank"
        raise CollusionError(f"the results in {out} are of {graded}, not of {assignment.name!r}: "
                             "give the spec they were graded with")
    report = CollusionReport(assignment.name, assignment.per_student, code_compared=submissions is not None,
                             warnings=warnings)
    if assignment.per_student:
        students = [s for s, _ in files]
        report.answers = answer_matches(bank, assignment, read_results(files, warnings), students)
        failed = report.answers.failed
        warnings += [f"no variant could be drawn for {m}; left out of the comparison" for m in failed[:10]]
        if len(failed) > 10:
            warnings.append(f"... and for {len(failed) - 10} more")
    if submissions is not None:
        intake = read_submissions(submissions, roster)
        warnings += intake.warnings
        warnings += [f"not compared: {u.entry}: {u.reason}" for u in intake.unmatched]
        entries = list(student_manifest(bank, assignment, None).entries)
        report.code = rank_code(bank, entries, intake.submissions)
    return report


def write_report(out: Path, report: CollusionReport) -> list[str]:
    """Write collusion.md and collusion.json into ``out``; returns their names."""
    write_atomic(out / COLLUSION_JSON, json.dumps(report.to_json(), indent=1, ensure_ascii=False) + "\n")
    write_atomic(out / COLLUSION_MD, "\n".join(markdown_lines(report)) + "\n")
    return [COLLUSION_MD, COLLUSION_JSON]


def summary_lines(report: CollusionReport) -> list[str]:
    """What ``grade collusion`` prints: the flagged pairs and each code item's most alike pair."""
    lines = []
    if report.answers is None:
        lines.append("Answers not compared: the assignment's variants are not per student.")
    else:
        flagged = report.answers.flagged
        lines.append(f"Answers: {len(flagged)} pair(s) flagged among {report.answers.answering} graded "
                     "students.")
        lines += [f"  {p.student}: {len(p.items)} answers right for {p.source}'s variant, not their own "
                  f"({', '.join(c.item for c in p.items)}); honest pairs this alike, expected: "
                  f"{_chance(p.expected)}" for p in flagged]
    for item in report.code:
        top = item.pairs[0] if item.pairs else None
        lines.append(f"Code item {item.item}: {len(item.pairs)} pair(s) listed, of {item.compared} "
                     "submissions with code of their own"
                     + (f"; the most alike: {top.students[0]} and {top.students[1]} ({top.shared} shared "
                        "fingerprints)" if top else ""))
    return lines


def _chance(value: float) -> str:
    return f"{value:.2g}"


def _pair_table(pairs: list[AnswerPair]) -> list[str]:
    lines = ["| student | answers right for the variant of | items | honest pairs this alike, expected |",
             "|---|---|---|---|"]
    lines += [f"| {markdown_text(p.student)} | {markdown_text(p.source)} | "
              f"{', '.join(markdown_text(c.item) for c in p.items)} | {_chance(p.expected)} |" for p in pairs]
    return lines


def _pair_details(pair: AnswerPair) -> list[str]:
    who, source = markdown_text(pair.student), markdown_text(pair.source)
    lines = ["", f"### {who}: answers right for {source}'s variant",
             "", f"| item | {who}'s answer | share of variants it is right for |",
             "|---|---|---|"]
    return lines + [f"| {markdown_text(c.item)} | {markdown_text(c.answer)} | {_chance(c.chance)} |"
                    for c in pair.items]


def _answer_lines(report: CollusionReport) -> list[str]:
    lines = ["## Answers right for another student's variant", ""]
    a = report.answers
    if a is None:
        return [*lines, "Not checked: the assignment's variants are not per student, so every student has "
                "the same right answers and a copied answer looks like any other."]
    items = f"{len(a.items)} item{'s' * (len(a.items) != 1)}"
    lines += [f"Compared: the wrong answers of {a.answering} graded students to {items}, "
              f"each with the right answers of {a.pool} variants ({a.students} of the class, the rest "
              "drawn to measure how common each answer is). An answer right for more than "
              f"{COMMON_SHARE:.0%} of them is too common to count. A pair is flagged when fewer than "
              f"{ALPHA:g} pairs of honest students of a class this size would be as alike by chance "
              "(see the TA guide).", ""]
    if not a.flagged:
        lines.append("No pair is flagged.")
    else:
        lines += [f"Flagged: {len(a.flagged)} pair(s).", "", *_pair_table(a.flagged)]
        for pair in a.flagged:
            lines += _pair_details(pair)
    lines += ["", f"Pairs with matches on two or more items, not flagged: {a.unflagged}."]
    if a.closest:
        lines += ["", "The least likely of them:", "", *_pair_table(a.closest)]
    return lines


def _code_lines(report: CollusionReport) -> list[str]:
    lines = ["", "## Code items: the most alike pairs", ""]
    if not report.code_compared:
        return [*lines, "Not checked: give the submissions folder (--submissions) to compare code."]
    if not report.code:
        return [*lines, "The assignment has no code item."]
    lines += ["Tokens compared after renaming every identifier, literal and comment away; the "
              f"starter files' code and code found in more than {COMMON} submissions are left out. "
              "Read the listed lines before concluding anything: short exercises have few ways to be "
              "written.", ""]
    for item in report.code:
        lines += [f"### Item {markdown_text(item.item)} ({', '.join(markdown_text(f) for f in item.files)})",
                  "", f"Submissions with code of their own: {item.compared}."]
        if item.unreadable:
            lines.append(f"Could not be unpacked: {', '.join(markdown_text(s) for s in item.unreadable)}.")
        if not item.pairs:
            lines += ["", "No pair shares code beyond the starter files."]
            continue
        lines += ["", "| rank | students | shared fingerprints | share of each | first's lines "
                  "| second's lines |", "|---|---|---|---|---|---|"]
        for rank, pair in enumerate(item.pairs, 1):
            (a, b), (sa, sb), (la, lb) = pair.students, pair.shares, pair.lines
            lines.append(f"| {rank} | {markdown_text(a)}, {markdown_text(b)} | {pair.shared} | "
                         f"{sa:.0%}, {sb:.0%} | {markdown_text(la, 200)} | {markdown_text(lb, 200)} |")
        lines.append("")
    return lines


def markdown_lines(report: CollusionReport) -> list[str]:
    """collusion.md: for review by a person; nothing in it changes a grade."""
    lines = [f"# Collusion report: {markdown_text(report.assignment)}", "",
             "For review by a person: a flag is a reason to look, not a finding, and nothing here "
             "changes a grade.", "", *_answer_lines(report), *_code_lines(report)]
    if report.warnings:
        lines += ["", "## Warnings", "", *(f"- {markdown_text(w, 200)}" for w in report.warnings)]
    return lines
