"""The instructor's commands: ``validate``, ``key``, ``assign``, ``export nbgrader`` and
``gradescope-autograder``. They load and validate everything: no user cache."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from grader.bank.validate import DEFAULT_SAMPLES
from grader.cli.common import (
    CliContext,
    Group,
    allow_weak_option,
    bank_option,
    console,
    json_option,
    pass_cli,
    print_json,
    spec_argument,
)
from grader.core.fileio import WorkspaceError


@click.command()
@bank_option
@json_option
@click.option("--samples", default=DEFAULT_SAMPLES, show_default=True,
              help="Sampled variants per derive item.")
@click.option("--code", is_flag=True,
              help="Also run each code item's and kernel task's reference, template and mutants "
                   "in the sandbox.")
@pass_cli
def validate(cli: CliContext, samples: int, code: bool) -> None:
    """Check the bank: schema, ids, solvers, workbook cross-checks, units, options, files, and
    that every derive item's text follows its variant."""
    from grader.bank import catalog
    from grader.bank.validate import validate_bank
    from grader.rules.code import sandbox_unavailable

    unavailable = sandbox_unavailable() if code else None
    if unavailable is not None:  # --code runs the references and mutants in the sandbox
        raise click.ClickException(unavailable.feedback[0])
    report = validate_bank(cli.bank_folder, samples=samples, code=code)
    bank = report.bank
    if cli.as_json:
        print_json({"ok": report.ok, "items": len(bank.items), "chapters": len(bank.chapters),
                    "solver_runs": report.solver_runs, "code_runs": report.code_runs,
                    "kernel_tasks": report.kernel_tasks, "kernel_runs": report.kernel_runs,
                    "notes": report.notes, "problems": [p.to_json() for p in report.problems]})
    elif report.ok:
        n_errata = len(catalog.errata_entries(bank))
        n_errors = len(catalog.errata_entries(bank, ["error"]))
        click.echo(f"Bank OK: {len(bank.items)} items in {len(bank.chapters)} chapters; "
                   f"{report.solver_runs} solver runs (defaults + {samples} variants per "
                   f"derive item); {n_errata} errata recorded ({n_errors} errors); "
                   f"{report.kernel_tasks} kernel tasks."
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


@click.command()
@bank_option
@json_option
@click.option("--assignment", "spec", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="An assignment spec: print its items, points and (with --student) variant.")
@click.option("--student", help="The student whose variant to print (per-student assignments).")
@pass_cli
def key(cli: CliContext, spec: Path | None, student: str | None) -> None:
    """Print the answer key (instructors only): the bank's, or one student's in an assignment."""
    from rich.table import Table

    from grader.bank import catalog

    bank = cli.bank()
    if spec is None:
        if student:
            raise click.UsageError("--student needs --assignment SPEC")
        entries = catalog.answer_key(bank)
    else:
        from grader.assignments.assignment import student_key, student_manifest

        assignment = cli.assignment(spec)
        if assignment.per_student and not student:
            raise click.UsageError(f"{spec.name} gives every student their own numbers: add --student ID")
        if student and assignment.roster and not assignment.lists(student):
            click.echo(f"warning: {student} is not on the roster of {spec.name}", err=True)
        entries = student_key(bank, student_manifest(bank, assignment, student).entries)
    if cli.as_json:
        print_json(entries)
        return
    from grader.responses.units import unit_words, with_unit

    table = Table("id", "type", "answer", "unit", "also accepted",
                  *(("points", "given") if spec is not None else ()))
    for item_id, e in entries.items():
        accept = "; ".join(with_unit(f"{a['value']:g}", a["unit"]) for a in e.get("accept", []))
        answer = e["answer"]
        shown = f"{answer:g}" if isinstance(answer, float) else (
            " ".join(answer) if isinstance(answer, list) else str(answer))
        extra = (f"{e['points']:g}", ", ".join(f"{k}={v:g}" for k, v in e.get("params", {}).items())) \
            if spec is not None else ()
        table.add_row(item_id, e["type"], shown, unit_words(e.get("unit", "")), accept, *extra)
    console().print(table)


@click.command()
@spec_argument
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Empty folder for students/ (or shared/) and instructor/.")
@click.option("--zip", "zips", is_flag=True, help="Also write a .zip of every student folder.")
@bank_option
@pass_cli
def assign(cli: CliContext, spec: Path, out: Path, zips: bool) -> None:
    """Write the release of the assignment SPEC: student workspaces, and keys for the instructor."""
    from grader.assignments.release import write_release

    bank = cli.bank()
    assignment = cli.assignment(spec)
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
    kernels = f", {len(assignment.kernels)} kernel task(s)" if assignment.kernels else ""
    points = sum(assignment.items.values()) + sum(p for p, _ in assignment.kernels.values())
    click.echo(f"Released {assignment.name} ({assignment.mode} mode, {len(assignment.items)} items{kernels}, "
               f"{points:g} points): {who}; keys in {out / 'instructor'}. "
               "Scanned every student file: no answers, solutions or hidden tests.")


@click.group(cls=Group)
def export() -> None:
    """Export an assignment to another grading system."""


@export.command("nbgrader")
@spec_argument
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The assignment's source folder, COURSE/source/ASSIGNMENT/.")
@bank_option
@pass_cli
def export_nbgrader_command(cli: CliContext, spec: Path, out: Path) -> None:
    """Write nbgrader source notebooks (one per chapter) for the assignment SPEC."""
    from grader.integrations.nbgrader_export import export_nbgrader

    bank = cli.bank()
    written, warnings = export_nbgrader(bank, cli.assignment(spec), out)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"Wrote {len(written)} notebook(s) to {out}: {', '.join(p.name for p in written)}. "
               f"Next: nbgrader generate_assignment {out.name}")
    if out.resolve().parent.name != "source":
        click.echo(f"warning: nbgrader looks for assignments in COURSE/source/<name>/; {out} is not "
                   f"in a folder named source, so nbgrader will not find '{out.name}' there", err=True)


@click.command("gradescope-autograder")
@spec_argument
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The zip to upload as the assignment's autograder.")
@click.option("--wheel", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The grader's wheel to install in the image (default: this grader's own).")
@allow_weak_option
@bank_option
@pass_cli
def gradescope_autograder(cli: CliContext, spec: Path, out: Path, wheel: Path | None) -> None:
    """Build the Gradescope autograder zip (setup.sh, run_autograder, the grader's wheel) for SPEC."""
    from grader.integrations.gradescope import AutograderError, build_autograder

    bank = cli.bank()
    assignment = cli.assignment(spec)
    try:
        names = build_autograder(bank, assignment, spec, out, cli.bank_folder, cli.allow_weak, wheel)
    except AutograderError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Wrote {out} ({len(names)} files) for {assignment.name}: upload it as the "
               "autograder; each submission's results.json has one test per item.")


COMMANDS = (validate, key, assign, export, gradescope_autograder)
