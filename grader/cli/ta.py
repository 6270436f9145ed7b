"""The grading commands a TA (or Gradescope) runs: ``batch``, ``merge`` and ``gradescope-grade``.
They load and validate everything: no user cache."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from grader.cli.common import CliContext, allow_weak_option, bank_option, pass_cli, spec_argument


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
@click.option("--workers", default=2, show_default=True, help="Submissions graded at once.")
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
@allow_weak_option
@bank_option
@pass_cli
def batch(cli: CliContext, submissions: Path, out: Path, workers: int, resume: bool, roster: Path | None,
          timeout_s: float | None, shard: str | None, spec: Path | None) -> None:
    """Grade every submission in SUBMISSIONS into OUT: folders, .zip or .tar.gz named by student,
    or a Canvas, Gradescope or GitHub Classroom download."""
    from grader.assignments.roster import load_roster
    from grader.batch.outputs import write_aggregates
    from grader.batch.progress_bar import progress_reporter
    from grader.batch.run import run_batch

    shard_kn = _parse_shard(shard) if shard else None
    if not resume and any((out / "results").glob("*.json")):
        raise click.UsageError(f"{out} already holds results: add --resume to continue that run, "
                               "or choose an empty folder")
    people, roster_warnings = load_roster(roster) if roster else (None, [])
    bank = cli.bank()
    assignment = cli.assignment(spec) if spec else None
    if assignment is not None and people is None and assignment.people:
        people, roster_warnings = assignment.people, list(assignment.roster_warnings)
    from rich.console import Console

    console = Console(stderr=True)
    from grader.batch.run import AssignmentRequiredError, MissingRequirementError
    from grader.sandbox.isolation import WeakSandboxError

    with progress_reporter(console) as reporter:
        try:
            summary = run_batch(submissions, out, bank, workers, resume, people, timeout_s,
                                reporter.done, shard_kn, assignment, reporter.start, cli.allow_weak)
        except (WeakSandboxError, MissingRequirementError, AssignmentRequiredError) as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            console.print("Stopped. Every finished student is saved in "
                          f"{out / 'results'}; run again with --resume to grade the rest.")
            sys.exit(130)
    for warning in [*roster_warnings, *summary.warnings]:
        console.print(f"warning: {warning}", markup=False)
    for entry in summary.unmatched:
        console.print(f"not graded: {entry.entry}: {entry.reason}", markup=False)
    files = write_aggregates(out, titles={i: item.title for i, item in bank.items.items()})
    from grader.batch.run import write_atomic

    write_atomic(out / "timings.json", json.dumps(dict(sorted(summary.timings.items())), indent=1) + "\n")
    from grader.results.points import points_text

    mean = sum(summary.scores) / len(summary.scores) if summary.scores else 0.0
    console.print(f"Graded {summary.graded}, errors {summary.errors}, no submission {summary.missing}"
                  + (f", already graded {summary.skipped}" if summary.skipped else "")
                  + f"; mean score {points_text(mean)}; {summary.seconds:.1f} s "
                  f"({summary.rate:.1f} submissions/s). Wrote {', '.join(files)} and results/ in {out}."
                  + (f" {len(summary.unmatched)} entr{'y' if len(summary.unmatched) == 1 else 'ies'} of "
                     f"{submissions} matched no student: listed above and in report.md."
                     if summary.unmatched else ""), markup=False)


@click.command()
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False,
                                                                   exists=True))
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for the combined results/, grades.csv and the other outputs.")
@bank_option
@pass_cli
def merge(cli: CliContext, shards: tuple[Path, ...], out: Path) -> None:
    """Combine the outputs of 'grade batch --shard' runs, the folders SHARDS, into the files one
    run would write."""
    from grader.batch.outputs import merge as merge_outputs

    try:
        titles = {i: item.title for i, item in cli.bank().items.items()}
        count = merge_outputs(list(shards), out, titles)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
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


COMMANDS = (batch, merge, gradescope_grade)
