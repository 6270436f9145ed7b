"""The ``grade`` command line. Thin: it parses options and calls the library."""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from grader.answers_file import WorkspaceError
from grader.model import ITEM_TYPES, Bank
from grader.paths import default_bank_dir
from grader.user_cache import user_cache
from grader.validate import DEFAULT_SAMPLES

if TYPE_CHECKING:  # each command imports what it uses: 'grade check --json' needs no rich
    from rich.console import Console

bank_option = click.option(
    "--bank", "bank_dir", type=click.Path(path_type=Path, file_okay=False),
    default=None, help="Bank folder (default: $GRADE_BANK or the bundled bank/).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
allow_weak_option = click.option(
    "--allow-weak-sandbox", "allow_weak", is_flag=True,
    help="Grade student code even where the sandbox cannot isolate it (it could read your files "
         "and other students' work). Without it, such a machine refuses.")


def _out() -> Console:
    from rich.console import Console

    return Console(soft_wrap=True)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _load(bank_dir: Path | None) -> Bank:
    from grader.loader import load_bank

    folder = bank_dir or default_bank_dir()
    result = load_bank(folder)
    if not result.bank.chapters:  # nothing to work with: an empty list or workspace would mislead
        source = "--bank" if bank_dir else "$GRADE_BANK" if os.environ.get("GRADE_BANK") else "the bank"
        why = result.problems[0].message if result.problems else "no chapters"
        raise click.ClickException(f"{source} {folder}: {why}")
    if result.problems:
        click.echo(f"warning: the bank has {len(result.problems)} problem(s); "
                   "run 'grade validate' for details", err=True)
    return result.bank


def _student(command: Callable[..., None]) -> Callable[..., None]:
    """A student's command: the bank and the manifest may come from the user's cache of them,
    validated before (grader.user_cache). Grading commands (batch, Gradescope) never use it."""
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        with user_cache():
            command(*args, **kwargs)
    return run


_LAZY_COMMANDS = {"kernel": "grader.kernels.cli:kernel"}  # command groups of their own modules


class _Commands(click.Group):
    """The command group; the groups of ``_LAZY_COMMANDS`` are imported when used or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in _LAZY_COMMANDS and name not in self.commands:
            module, attr = _LAZY_COMMANDS[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


@click.group(cls=_Commands)
@click.version_option(package_name="lm-workbook-grader")
def main() -> None:
    """Exercise bank and grader for building language models from scratch."""


@main.command()
@bank_option
@json_option
@click.option("--samples", default=DEFAULT_SAMPLES, show_default=True,
              help="Sampled variants per derive item.")
@click.option("--code", is_flag=True,
              help="Also run each code item's and kernel task's reference, template and mutants "
                   "in the sandbox.")
def validate(bank_dir: Path | None, as_json: bool, samples: int, code: bool) -> None:
    """Check the bank: schema, ids, solvers, workbook cross-checks, units, options, files."""
    from grader import catalog
    from grader.validate import validate_bank

    report = validate_bank(bank_dir or default_bank_dir(), samples=samples, code=code)
    bank = report.bank
    if as_json:
        _print_json({"ok": report.ok, "items": len(bank.items), "chapters": len(bank.chapters),
                     "solver_runs": report.solver_runs, "code_runs": report.code_runs,
                     "kernel_tasks": report.kernel_tasks, "kernel_runs": report.kernel_runs,
                     "notes": report.notes, "problems": [p.to_json() for p in report.problems]})
    elif report.ok:
        n_errata = len(catalog.errata_entries(bank))
        click.echo(f"Bank OK: {len(bank.items)} items in {len(bank.chapters)} chapters; "
                   f"{report.solver_runs} solver runs (defaults + {samples} variants per "
                   f"derive item); {n_errata} errata recorded; {report.kernel_tasks} kernel tasks."
                   + (f" Code items: {report.code_runs} sandboxed runs of references, templates "
                      f"and mutants as expected. Kernel tasks: {report.kernel_runs} sandboxed "
                      "checks of solutions, templates and mutants as expected." if code else ""))
        for note in report.notes:
            click.echo(f"note: {note}")
    else:
        for problem in report.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(report.problems)} problem(s) found.", err=True)
    sys.exit(0 if report.ok else 1)


@main.command("list")
@bank_option
@json_option
@click.option("--chapter", type=int, help="Only this chapter.")
@click.option("--type", "kind", type=click.Choice(ITEM_TYPES), help="Only this type.")
@_student
def list_items(bank_dir: Path | None, as_json: bool, chapter: int | None, kind: str | None) -> None:
    """List the items of the bank."""
    from rich.table import Table

    from grader import catalog

    bank = _load(bank_dir)
    entries = catalog.list_entries(bank, chapter, kind)
    if as_json:
        _print_json(entries)
        return
    table = Table("id", "type", "title", title=f"{len(entries)} items")
    current = None
    for e in entries:
        if e["chapter"] != current:
            current = e["chapter"]
            ch = bank.chapter(current)
            table.add_row("", "", f"[bold]Chapter {current}: {ch.title if ch else ''}[/bold]")
        table.add_row(e["id"], e["type"], e["title"])
    _out().print(table)


@main.command()
@click.argument("item_id")
@bank_option
@json_option
@click.option("--solution", is_flag=True, help="Include the answer, hints and derivation.")
@_student
def show(item_id: str, bank_dir: Path | None, as_json: bool, solution: bool) -> None:
    """Show one item."""
    from grader import catalog

    bank = _load(bank_dir)
    item = bank.items.get(item_id)
    if item is None:
        raise click.UsageError(f"no item {item_id!r}; 'grade list' shows the ids")
    card = catalog.show_entry(item, solution)
    if as_json:
        _print_json(card)
        return
    console = _out()
    console.print(f"[bold]{item.id} {item.title}[/bold] ({item.type})\n")
    console.print(card["prompt"], markup=False)
    if "unit" in card:
        unit = "a plain number" if card["unit"] in ("1", "") else card["unit"]
        console.print(f"\nAnswer in: {unit} (checked {card['tolerance']})", markup=False)
    for opt in card.get("options", []):
        console.print(f"  {opt['id']}. {opt['text']}", markup=False)
    if solution:
        console.print(f"\nAnswer: {json.dumps(card['answer'], ensure_ascii=False)}", markup=False)
        for i, hint in enumerate(card["hints"], 1):
            console.print(f"Hint {i}: {hint}", markup=False)
        console.print(f"\n{card['derivation']}", markup=False)


def _assignment(spec: Path, bank: Bank) -> Any:
    """Load a spec or exit 2 with its problem."""
    from grader.assignment import AssignmentError, load_assignment

    try:
        return load_assignment(spec, bank)
    except AssignmentError as exc:
        raise click.UsageError(str(exc)) from None


spec_argument = click.argument("spec", type=click.Path(path_type=Path, dir_okay=False, exists=True))


@main.command()
@bank_option
@json_option
@click.option("--assignment", "spec", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="An assignment spec: print its items, points and (with --student) variant.")
@click.option("--student", help="The student whose variant to print (per-student assignments).")
def key(bank_dir: Path | None, as_json: bool, spec: Path | None, student: str | None) -> None:
    """Print the answer key (instructors only): the bank's, or one student's in an assignment."""
    from rich.table import Table

    from grader import catalog

    bank = _load(bank_dir)
    if spec is None:
        if student:
            raise click.UsageError("--student needs --assignment SPEC")
        entries = catalog.answer_key(bank)
    else:
        from grader.assignment import student_key, student_manifest

        assignment = _assignment(spec, bank)
        if assignment.per_student and not student:
            raise click.UsageError(f"{spec.name} gives every student their own numbers: add --student ID")
        if student and assignment.roster and not assignment.lists(student):
            click.echo(f"warning: {student} is not on the roster of {spec.name}", err=True)
        entries = student_key(bank, student_manifest(bank, assignment, student).entries)
    if as_json:
        _print_json(entries)
        return
    table = Table("id", "type", "answer", "unit", "also accepted",
                  *(("points", "given") if spec is not None else ()))
    for item_id, e in entries.items():
        accept = "; ".join(f"{a['value']:g} {a['unit']}" for a in e.get("accept", []))
        answer = e["answer"]
        shown = f"{answer:g}" if isinstance(answer, float) else (
            " ".join(answer) if isinstance(answer, list) else str(answer))
        extra = (f"{e['points']:g}", ", ".join(f"{k}={v:g}" for k, v in e.get("params", {}).items())) \
            if spec is not None else ()
        table.add_row(item_id, e["type"], shown, e.get("unit", ""), accept, *extra)
    _out().print(table)


@main.command()
@spec_argument
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Empty folder for students/ (or shared/) and instructor/.")
@click.option("--zip", "zips", is_flag=True, help="Also write a .zip of every student folder.")
@bank_option
def assign(spec: Path, out: Path, zips: bool, bank_dir: Path | None) -> None:
    """Write an assignment's release: student workspaces, and keys for the instructor."""
    from grader.release import write_release

    bank = _load(bank_dir)
    assignment = _assignment(spec, bank)
    try:
        release = write_release(bank, assignment, out, zips)
    except WorkspaceError as exc:
        raise click.UsageError(str(exc)) from None
    for warning in release.warnings:
        click.echo(f"warning: {warning}", err=True)
    if release.leaks:
        for leak in release.leaks:
            click.echo(f"secret in a student folder: {leak}", err=True)
        click.echo(f"{len(release.leaks)} secret(s) found: do not release {out}.", err=True)
        sys.exit(1)
    who = f"{len(release.folders)} student folders in {out / 'students'}" if assignment.per_student \
        else f"one shared folder, {out / 'shared'}"
    click.echo(f"Released {assignment.name} ({assignment.mode} mode, {len(assignment.items)} items, "
               f"{sum(assignment.items.values()):g} points): {who}; keys in {out / 'instructor'}. "
               "Scanned every student file: no answers, solutions or hidden tests.")


@main.command()
@bank_option
@json_option
@_student
def errata(bank_dir: Path | None, as_json: bool) -> None:
    """List the workbook's mistakes recorded in the bank."""
    from grader import catalog

    entries = catalog.errata_entries(_load(bank_dir))
    if as_json:
        _print_json(entries)
        return
    console = _out()
    console.print(f"[bold]{len(entries)} errata[/bold]\n")
    for e in entries:
        console.print(f"[bold]{e['where']}[/bold] ({e['kind']})")
        console.print(f"  workbook: {e['workbook']}", markup=False)
        console.print(f"  correct:  {e['correct']}", markup=False)
        console.print(f"  why:      {e['why']}\n", markup=False)


def _workspace_error(exc: WorkspaceError, as_json: bool = False) -> None:
    """Report an unusable workspace and exit 2."""
    if as_json:
        _print_json({"error": str(exc)})
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


def _open(directory: Path | None) -> Any:
    from grader.workspace import find_workspace, open_workspace

    root = directory if directory is not None else find_workspace(Path.cwd())
    return open_workspace(root)


def _chapter_titles(workspace: Any) -> dict[int, str]:
    """Chapter titles from the bank when it loads; numbers alone otherwise."""
    from grader.loader import load_bank

    bank_dir = Path(workspace.manifest.bank) if workspace.manifest.bank else default_bank_dir()
    try:
        return {c.number: c.title for c in load_bank(bank_dir).bank.chapters}
    except OSError:
        return {}


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--chapter", "chapters", type=int, multiple=True, help="Take this chapter (repeatable).")
@click.option("--items", "item_lists", multiple=True, metavar="ID,...",
              help="Take these items, comma-separated (repeatable).")
@click.option("--kernel", "kernel_lists", multiple=True, metavar="TASK,...",
              help="Add these GPU kernel tasks, comma-separated, or 'all' ('grade kernel list'); "
                   "alone, the workspace holds only them.")
@bank_option
@_student
def init(directory: Path, chapters: tuple[int, ...], item_lists: tuple[str, ...],
         kernel_lists: tuple[str, ...], bank_dir: Path | None) -> None:
    """Create a practice workspace in DIRECTORY (the whole bank by default)."""
    from grader.workspace import init_workspace, select_items, select_kernels

    bank = _load(bank_dir)
    ids = [i for text in item_lists for i in text.split(",")]
    try:
        kernels = select_kernels(bank, [k for text in kernel_lists for k in text.split(",")])
        selected = select_items(bank, chapters, ids) if chapters or ids or not kernels else []
        workspace = init_workspace(directory, bank, selected, bank_dir, kernels)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except WorkspaceError as exc:
        _workspace_error(exc)
    code = [e for e in workspace.manifest.items if e.files]
    click.echo(f"Created {directory} with {len(selected)} item(s)"
               + (f", {len(code)} of them code items" if code else "")
               + (f", and {len(kernels)} kernel task(s) in kernels/" if kernels else "") + ".")
    click.echo(f"Next: write your answers in {directory / 'answers.yaml'}, "
               f"then run 'grade check {directory}'.")


@main.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--item", "only", multiple=True, metavar="ID", help="Check only this item (repeatable).")
@click.option("--explain", is_flag=True, help="Show the worked solution of every correct item.")
@json_option
@_student
def check(directory: Path | None, only: tuple[str, ...], explain: bool, as_json: bool) -> None:
    """Check the answers of a workspace (default: the one containing the current folder)."""
    from grader.check import check_workspace

    try:
        workspace = _open(directory)
        unknown = [i for i in only if workspace.manifest.item(i) is None]
        if unknown:
            raise click.UsageError(f"no item {', '.join(map(repr, unknown))} in this workspace")
        report = check_workspace(workspace, only)
    except WorkspaceError as exc:
        _workspace_error(exc, as_json)
    if as_json:
        _print_json(report.to_json())
        return
    from grader.terminal import print_check

    print_check(report, _out(), report.titles or _chapter_titles(workspace), explain)


@main.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@json_option
@_student
def progress(directory: Path | None, as_json: bool) -> None:
    """Mastery per chapter and overall, as recorded by the last checks."""
    from grader.progress import load_progress, mastery

    try:
        workspace = _open(directory)
        state, warning = load_progress(workspace.state_dir)
    except WorkspaceError as exc:
        _workspace_error(exc, as_json)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    entries = [(e.id, e.chapter) for e in workspace.manifest.entries]
    rows = mastery(entries, state, _chapter_titles(workspace))
    if as_json:
        _print_json({"mode": workspace.manifest.mode,
                     "mastered": sum(r.mastered for r in rows),
                     "answered": sum(r.answered for r in rows),
                     "total": sum(r.total for r in rows),
                     "chapters": [vars(r) for r in rows]})
        return
    from grader.terminal import print_progress

    print_progress(rows, _out(), workspace.manifest.mode == "graded")


@main.command()
@click.argument("submissions", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for results/, grades.csv and the other outputs.")
@click.option("--workers", default=2, show_default=True, help="Submissions graded at once.")
@click.option("--resume", is_flag=True, help="Grade only the students without a result yet.")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Student ids (one per line, or first CSV column); absent ones get 'no submission'.")
@click.option("--timeout", "timeout_s", type=float, help="Seconds per call of student code.")
@click.option("--shard", help="Grade only shard K of N (e.g. 2/8); 'grade merge' combines shards.")
@click.option("--assignment", "spec", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Grade each student on this assignment's items, points and their own variant "
                   "(its roster is used when --roster is not given). Default: the whole bank.")
@allow_weak_option
@bank_option
def batch(submissions: Path, out: Path, workers: int, resume: bool, roster: Path | None,
          timeout_s: float | None, shard: str | None, spec: Path | None, allow_weak: bool,
          bank_dir: Path | None) -> None:
    """Grade every submission (folders, .zip, .tar.gz) in SUBMISSIONS into OUT."""
    from grader.batch import run_batch
    from grader.batch_outputs import write_aggregates
    from grader.batch_progress import progress_reporter
    from grader.roster import read_roster

    shard_kn = _parse_shard(shard) if shard else None
    if not resume and any((out / "results").glob("*.json")):
        raise click.UsageError(f"{out} already holds results: add --resume to continue that run, "
                               "or choose an empty folder")
    roster_ids, roster_warnings = read_roster(roster) if roster else (None, [])
    bank = _load(bank_dir)
    assignment = _assignment(spec, bank) if spec else None
    if assignment is not None and roster_ids is None and assignment.roster:
        roster_ids, roster_warnings = list(assignment.roster), list(assignment.roster_warnings)
    from rich.console import Console

    console = Console(stderr=True)
    from grader.batch import MissingRequirementError
    from grader.sandbox.isolation import WeakSandboxError

    with progress_reporter(console) as reporter:
        try:
            summary = run_batch(submissions, out, bank, workers, resume, roster_ids, timeout_s,
                                reporter.done, shard_kn, assignment, reporter.start, allow_weak)
        except (WeakSandboxError, MissingRequirementError) as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            console.print("Stopped. Every finished student is saved in "
                          f"{out / 'results'}; run again with --resume to grade the rest.")
            sys.exit(130)
    for warning in [*roster_warnings, *summary.warnings]:
        console.print(f"warning: {warning}", markup=False)
    files = write_aggregates(out, titles={i: item.title for i, item in bank.items.items()})
    from grader.batch import write_atomic

    write_atomic(out / "timings.json", json.dumps(dict(sorted(summary.timings.items())), indent=1) + "\n")
    mean = sum(summary.scores) / len(summary.scores) if summary.scores else 0.0
    console.print(f"Graded {summary.graded}, errors {summary.errors}, no submission {summary.missing}"
                  + (f", already graded {summary.skipped}" if summary.skipped else "")
                  + f"; mean score {mean:.2f}; {summary.seconds:.1f} s "
                  f"({summary.rate:.1f} submissions/s). Wrote {', '.join(files)} and results/ in {out}.",
                  markup=False)


def _parse_shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise click.UsageError(f"--shard takes K/N such as 2/8, not {text!r}") from None
    if not 1 <= k <= n:
        raise click.UsageError(f"--shard {text}: K must be between 1 and N")
    return k, n


@main.command()
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False,
                                                                   exists=True))
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True)
@bank_option
def merge(shards: tuple[Path, ...], out: Path, bank_dir: Path | None) -> None:
    """Combine the outputs of 'grade batch --shard' runs into the files one run would write."""
    from grader.batch_outputs import merge as merge_outputs

    try:
        titles = {i: item.title for i, item in _load(bank_dir).items.items()}
        count = merge_outputs(list(shards), out, titles)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Merged {count} student results from {len(shards)} shard(s) into {out}.")


@main.group()
def export() -> None:
    """Export an assignment to another grading system."""


@export.command("nbgrader")
@spec_argument
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The assignment's source folder, COURSE/source/ASSIGNMENT/.")
@bank_option
def export_nbgrader_command(spec: Path, out: Path, bank_dir: Path | None) -> None:
    """Write nbgrader source notebooks (one per chapter) for an assignment."""
    from grader.nbgrader_export import export_nbgrader

    bank = _load(bank_dir)
    written, warnings = export_nbgrader(bank, _assignment(spec, bank), out)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"Wrote {len(written)} notebook(s) to {out}: {', '.join(p.name for p in written)}. "
               f"Next: nbgrader generate_assignment {out.name}")


@main.command("gradescope-autograder")
@spec_argument
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The zip to upload as the assignment's autograder.")
@click.option("--wheel", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The grader's wheel to install in the image (default: this grader's own).")
@allow_weak_option
@bank_option
def gradescope_autograder(spec: Path, out: Path, wheel: Path | None, allow_weak: bool,
                          bank_dir: Path | None) -> None:
    """Build the Gradescope autograder zip (setup.sh, run_autograder, the grader's wheel) for SPEC."""
    from grader.gradescope import AutograderError, build_autograder

    bank = _load(bank_dir)
    assignment = _assignment(spec, bank)
    try:
        names = build_autograder(bank, assignment, spec, out, bank_dir or default_bank_dir(), allow_weak,
                                 wheel)
    except AutograderError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Wrote {out} ({len(names)} files) for {assignment.name}: upload it as the "
               "autograder; each submission's results.json has one test per item.")


@main.command("gradescope-grade")
@spec_argument
@click.option("--submission", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--metadata", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Gradescope's submission_metadata.json (who submitted).")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--id-field", "fields", default="sid,email", show_default=True,
              help="Metadata fields tried in order for the student id (match your roster).")
@allow_weak_option
@bank_option
def gradescope_grade(spec: Path, submission: Path, metadata: Path, out: Path, fields: str,
                     allow_weak: bool, bank_dir: Path | None) -> None:
    """Grade one Gradescope submission into results.json (run_autograder calls this)."""
    from grader.gradescope import grade_one

    bank = _load(bank_dir)
    results = grade_one(bank, _assignment(spec, bank), submission, metadata, out,
                        tuple(f.strip() for f in fields.split(",") if f.strip()), allow_weak)
    click.echo(f"score {results.get('score', 0)} of {results.get('max_score', '?')}")
