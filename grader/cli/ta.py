"""The grading commands a TA (or Gradescope) runs: ``batch``, ``merge``, ``gradescope-grade``,
``collusion`` and ``feedback``. They load and validate everything: no user cache."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader.cli.common import CliContext, allow_weak_option, bank_option, pass_cli, spec_argument

if TYPE_CHECKING:
    from grader.assignments.assignment import Assignment
    from grader.batch.adjustments import Adjustments
    from grader.batch.settle import Settler


def _parse_ids(text: str) -> list[str]:
    """--regrade's ids: comma-separated, each a student id."""
    from grader.assignments.roster import valid_student_id

    ids = [part.strip() for part in text.split(",") if part.strip()]
    bad = [i for i in ids if not valid_student_id(i)]
    if not ids or bad:
        raise click.BadParameter(f"{ascii(bad[0]) if bad else 'nothing'} is not a student id; give ids "
                                 "separated by commas, e.g. alice,bob", param_hint="--regrade")
    return ids


overrides_option = click.option(
    "--overrides", type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Scores given by hand: a CSV (student, item, points or score, reason) or a YAML list. Applied "
         "in every output and the student's feedback, kept in OUT for later runs, each change logged "
         "in OUT/audit.jsonl.")
times_option = click.option(
    "--times", type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="When each student submitted, for the spec's late policy: a CSV of student, submitted_at "
         "(ISO 8601 with a zone) and optionally the student's own due date. Kept in OUT for later runs.")


def _adjustments(out: Path, overrides: Path | None, times: Path | None,
                 points: Mapping[str, float]) -> tuple[Adjustments, dict[str, str]]:
    """The adjustments kept in OUT, with the files given replacing theirs; and which were given
    (option -> file name). A file that cannot be used is a usage error naming its line."""
    from grader.batch.adjustments import (
        AdjustmentError,
        Adjustments,
        by_student,
        check_items,
        read_overrides,
        read_times,
    )

    try:
        adjustments, given = Adjustments.load(out), {}
    except AdjustmentError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        if overrides is not None:
            read = read_overrides(overrides)
            check_items(read, points)
            adjustments.overrides, given["overrides"] = by_student(read), overrides.name
    except AdjustmentError as exc:
        raise click.BadParameter(str(exc), param_hint="--overrides") from None
    try:
        if times is not None:
            adjustments.times, given["times"] = read_times(times), times.name
    except AdjustmentError as exc:
        raise click.BadParameter(str(exc), param_hint="--times") from None
    return adjustments, given


def _adjustment_notes(settler: Settler, assignment: Assignment | None) -> list[str]:
    """What the summary says of the late policy, the audit log and the feedback files."""
    notes = []
    if settler.untimed:
        notes.append(f"warning: {settler.untimed} submission(s) have no submission time, so the late policy "
                     "was not applied to them (report.md names them; give --times)")
    if settler.audit.count:
        notes.append(f"{settler.audit.count} change(s) to grades logged in {settler.audit.path}.")
    if assignment is not None:
        notes.append(f"Each student's feedback to hand back: grade feedback {settler.out}"
                     + (" (after the due date)" if assignment.mode == "graded" else "") + ".")
    return notes


def _parse_shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise click.UsageError(f"--shard takes K/N such as 2/8, not {text!r}") from None
    if not 1 <= k <= n:
        raise click.UsageError(f"--shard {text}: K must be between 1 and N")
    return k, n


@click.command()
@click.argument("submissions", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for results/, grades.csv and the other outputs.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1),
              help="Submissions graded at once.")
@click.option("--resume", is_flag=True, help="Grade only the students without a result yet.")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The class: ids one per line, or a CSV with a header row (id, name, email, lms_id, "
                   "sis_id, login, section, github). LMS downloads are matched to it; absent students "
                   "get 'no submission'.")
@click.option("--timeout", "timeout_s", type=float, help="Seconds per call of student code.")
@click.option("--shard", help="Grade only shard K of N (e.g. 2/8); 'grade merge' combines shards.")
@click.option("--assignment", "spec", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Grade each student on this assignment's items, points and their own variant "
                   "(its roster is used when --roster is not given). Default: the whole bank.")
@click.option("--regrade", "regrade", metavar="ID,...",
              help="Grade these students again (ids, comma-separated), keeping every other result.")
@overrides_option
@times_option
@allow_weak_option
@bank_option
@pass_cli
def batch(cli: CliContext, submissions: Path, out: Path, workers: int, resume: bool, roster: Path | None,
          timeout_s: float | None, shard: str | None, spec: Path | None, regrade: str | None,
          overrides: Path | None, times: Path | None) -> None:
    """Grade every submission in SUBMISSIONS into OUT: folders, .zip or .tar.gz named by student,
    or a Canvas, Gradescope or GitHub Classroom download."""
    from grader.assignments.roster import load_roster
    from grader.batch.outputs import item_infos, write_aggregates
    from grader.batch.progress_bar import progress_reporter
    from grader.batch.run import run_batch

    shard_kn = _parse_shard(shard) if shard else None
    regrade_ids = _parse_ids(regrade) if regrade is not None else []
    if not resume and not regrade_ids and any((out / "results").glob("*.json")):
        raise click.UsageError(f"{out} already holds results: add --resume to continue that run, "
                               "or choose an empty folder")
    people, roster_warnings = load_roster(roster) if roster else (None, [])
    bank = cli.bank()
    assignment = cli.assignment(spec) if spec else None
    if assignment is not None and people is None and assignment.people:
        people, roster_warnings = assignment.people, list(assignment.roster_warnings)
    from rich.console import Console

    console = Console(stderr=True)
    from grader.batch.audit import AuditLog
    from grader.batch.run import AssignmentRequiredError, MissingRequirementError, UnknownStudentError
    from grader.batch.settle import Settler, item_points
    from grader.sandbox.isolation import WeakSandboxError

    adjustments, given = _adjustments(out, overrides, times, item_points(bank, assignment))
    settler = Settler(out, adjustments, AuditLog(out, "grade batch"),
                      assignment.record() if assignment else None, regrade_ids)
    from grader.batch.adjustments import named_students

    with progress_reporter(console) as reporter:
        try:
            summary = run_batch(submissions, out, bank, workers, resume, people, timeout_s,
                                reporter.done, shard_kn, assignment, reporter.start, cli.allow_weak,
                                regrade_ids, named_students(adjustments, regrade_ids, given), settler.finish)
        except (WeakSandboxError, MissingRequirementError, AssignmentRequiredError,
                UnknownStudentError) as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            console.print("Stopped. Every finished student is saved in "
                          f"{out / 'results'}; run again with --resume to grade the rest.")
            sys.exit(130)
    for warning in [*roster_warnings, *summary.warnings]:
        console.print(f"warning: {warning}", markup=False)
    for entry in summary.unmatched:
        console.print(f"not graded: {entry.entry}: {entry.reason}", markup=False)
    if given:
        adjustments.save(out)
    settler.settle_folder()
    for line in _adjustment_notes(settler, assignment):
        console.print(line, markup=False)
    files = write_aggregates(out, items=item_infos(bank))
    from grader.batch.run import write_atomic

    write_atomic(out / "timings.json", json.dumps(dict(sorted(summary.timings.items())), indent=1) + "\n")
    console.print(f"Graded {summary.graded}, errors {summary.errors}, no submission {summary.missing}"
                  + (f", already graded {summary.skipped}" if summary.skipped else "")
                  + _mean_text(summary.scores, bool(summary.skipped)) + f"; {summary.seconds:.1f} s "
                  f"({summary.rate:.1f} submissions/s). Wrote {', '.join(files)} and results/ in {out}."
                  + (f" {len(summary.unmatched)} entr{'y' if len(summary.unmatched) == 1 else 'ies'} of "
                     f"{submissions} matched no student: listed above and in report.md."
                     if summary.unmatched else ""), markup=False)


def _mean_text(scores: list[float], kept_others: bool) -> str:
    """The summary's mean of the scores graded in this run: none when nobody was (a --resume that
    kept every result), and said to be of those alone when other results were kept."""
    from grader.results.points import points_text

    if not scores:
        return ""
    mean = points_text(sum(scores) / len(scores))
    return f"; mean score {mean} of the {len(scores)} graded now" if kept_others else f"; mean score {mean}"


@click.command()
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False,
                                                                   exists=True))
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for the combined results/, grades.csv and the other outputs.")
@overrides_option
@times_option
@bank_option
@pass_cli
def merge(cli: CliContext, shards: tuple[Path, ...], out: Path, overrides: Path | None,
          times: Path | None) -> None:
    """Combine the outputs of 'grade batch --shard' runs, the folders SHARDS, into the files one
    run would write."""
    from grader.batch.audit import AuditLog, merge_logs
    from grader.batch.outputs import item_infos, result_files, write_aggregates
    from grader.batch.outputs import merge as merge_outputs
    from grader.batch.settle import Settler, class_points

    warnings: list[str] = []
    items = item_infos(cli.bank())
    try:
        count = merge_outputs(list(shards), out, items, warnings)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    merge_logs(list(shards), out)
    adjustments, given = _adjustments(out, overrides, times, class_points(out))
    if given:
        known = {s.lower() for s in result_files(out)}
        from grader.batch.adjustments import named_students

        strangers = [f"{s} ({where})" for s, where in named_students(adjustments, [], given).items()
                     if s.lower() not in known]
        if strangers:
            raise click.UsageError(f"no student {', '.join(strangers[:10])} among the merged results")
        adjustments.save(out)
    if adjustments.overrides is not None or adjustments.times is not None:
        settler = Settler(out, adjustments, AuditLog(out, "grade merge"))
        if settler.settle_folder():
            write_aggregates(out, warnings, items)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"Merged {count} student results from {len(shards)} shard(s) into {out}.")


@click.command("gradescope-grade")
@spec_argument
@click.option("--submission", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The folder of the student's submitted files.")
@click.option("--metadata", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Gradescope's submission_metadata.json (who submitted).")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The results.json to write for Gradescope.")
@click.option("--id-field", "fields", default="sid,email", show_default=True,
              help="Metadata fields tried in order for the student id (match your roster).")
@allow_weak_option
@bank_option
@pass_cli
def gradescope_grade(cli: CliContext, spec: Path, submission: Path, metadata: Path, out: Path,
                     fields: str) -> None:
    """Grade one Gradescope submission of the assignment SPEC into results.json (run_autograder
    calls this)."""
    from grader.integrations.gradescope import grade_one

    bank = cli.bank()
    results = grade_one(bank, cli.assignment(spec), submission, metadata, out,
                        tuple(f.strip() for f in fields.split(",") if f.strip()), cli.allow_weak)
    from grader.results.points import points_text

    score, possible = results.get("score", 0), results.get("max_score")
    click.echo(f"score {points_text(score, possible)} of "
               + ("?" if possible is None else points_text(possible)))


@click.command()
@click.argument("out", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--assignment", "spec", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              required=True, help="The spec the class was graded with: it says each student's variant.")
@click.option("--submissions", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="The folder 'grade batch' graded: its code items' files are compared too.")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The roster 'grade batch' was given (default: the spec's), to match the submissions.")
@bank_option
@pass_cli
def collusion(cli: CliContext, out: Path, spec: Path, submissions: Path | None, roster: Path | None) -> None:
    """Look for copying in the class graded into OUT: answers right for another student's variant
    and not their own, and the most alike code; writes OUT/collusion.md and collusion.json for a
    person to review (no grade changes)."""
    from grader.assignments.roster import load_roster
    from grader.batch.collusion import CollusionError, check_collusion, summary_lines, write_report

    assignment = cli.assignment(spec)
    people, roster_warnings = load_roster(roster) if roster else (assignment.people or None, [])
    try:
        report = check_collusion(out, cli.bank(), assignment, submissions, people)
    except CollusionError as exc:
        raise click.UsageError(str(exc)) from None
    files = write_report(out, report)
    for warning in [*roster_warnings, *report.warnings]:
        click.echo(f"warning: {warning}", err=True)
    click.echo("\n".join([*summary_lines(report), f"Wrote {' and '.join(files)} in {out}: for review; "
                                                  "no grade was changed."]))


@click.command()
@click.argument("out", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--before-due", is_flag=True,
              help="Write them although the results' due date has not passed (they show the scores).")
@bank_option
@pass_cli
def feedback(cli: CliContext, out: Path, before_due: bool) -> None:
    """Write each student's feedback from the results in OUT, as OUT/feedback/<id>.md and .html:
    their score (the late penalty and scores given by hand included) and each item's status,
    points and feedback, to hand back after the due date."""
    from grader.batch.feedback_files import NotDueYetError, write_feedback
    from grader.batch.outputs import item_infos

    warnings: list[str] = []
    try:
        count = write_feedback(out, item_infos(cli.bank()), before_due, warnings)
    except NotDueYetError as exc:
        raise click.ClickException(f"Refusing to write the feedback files: {exc}") from None
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if not count:
        raise click.UsageError(f"{out} holds no results of 'grade batch' (results/*.json)")
    click.echo(f"Wrote the feedback of {count} student(s) into {out / 'feedback'} (one .md and one .html "
               "each).")


COMMANDS = (batch, merge, gradescope_grade, collusion, feedback)
