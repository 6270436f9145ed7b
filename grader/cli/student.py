"""The student's commands: ``init``, ``check``, ``progress``, ``serve`` (the same workspace in the
browser, ``grader.serve``), and the read-only views ``list``, ``show`` and ``errata``. Each may
use the user's cache of the validated bank and manifest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader.cli.common import (
    CliContext,
    bank_option,
    console,
    json_option,
    pass_cli,
    print_json,
    uses_user_cache,
)
from grader.core.fileio import WorkspaceError
from grader.core.paths import default_bank_dir
from grader.model.bank import ERRATUM_KINDS, ITEM_TYPES

if TYPE_CHECKING:
    from grader.workspace.folder import Workspace


def _open(directory: Path | None) -> Workspace:
    from grader.workspace.folder import find_workspace, open_workspace

    root = directory if directory is not None else find_workspace(Path.cwd())
    return open_workspace(root)


def _chapter_titles(workspace: Workspace) -> dict[int, str]:
    """Chapter titles from the bank when it loads; numbers alone otherwise."""
    from grader.bank.loader import load_bank

    bank_dir = Path(workspace.manifest.bank) if workspace.manifest.bank else default_bank_dir()
    try:
        return {c.number: c.title for c in load_bank(bank_dir).bank.chapters}
    except OSError:
        return {}


@click.command("list")
@bank_option
@json_option
@click.option("--chapter", type=int, help="Only this chapter.")
@click.option("--type", "kind", type=click.Choice(ITEM_TYPES), help="Only this type.")
@uses_user_cache
@pass_cli
def list_items(cli: CliContext, chapter: int | None, kind: str | None) -> None:
    """List the items of the bank."""
    from rich.table import Table

    from grader.bank import catalog

    bank = cli.bank()
    entries = catalog.list_entries(bank, chapter, kind)
    if cli.as_json:
        print_json(entries)
        return
    table = Table("id", "type", "title", title=f"{len(entries)} items")
    current = None
    for e in entries:
        if e["chapter"] != current:
            current = e["chapter"]
            ch = bank.chapter(current)
            table.add_row("", "", f"[bold]Chapter {current}: {ch.title if ch else ''}[/bold]")
        table.add_row(e["id"], e["type"], e["title"])
    console().print(table)


@click.command()
@click.argument("item_id")
@bank_option
@json_option
@click.option("--solution", is_flag=True, help="Include the answer, hints and derivation.")
@uses_user_cache
@pass_cli
def show(cli: CliContext, item_id: str, solution: bool) -> None:
    """Show one item, ITEM_ID ('grade list' shows the ids)."""
    from grader.bank import catalog

    item = cli.bank().items.get(item_id)
    if item is None:
        raise click.UsageError(f"no item {item_id!r}; 'grade list' shows the ids")
    card = catalog.show_entry(item, solution)
    if cli.as_json:
        print_json(card)
        return
    out = console()
    out.print(f"[bold]{item.id} {item.title}[/bold] ({item.type})\n")
    out.print(card["prompt"], markup=False)
    if "unit" in card:
        from grader.responses.units import asked_in_words

        out.print(f"\nAnswer {asked_in_words(card['unit'])} (checked {card['tolerance']})", markup=False)
    for opt in card.get("options", []):
        out.print(f"  {opt['id']}. {opt['text']}", markup=False)
    if solution:
        first, *more = card["answer_text"]
        out.print(f"\nAnswer: {first}", markup=False)
        for line in more:
            out.print(f"  {line}", markup=False)
        for i, hint in enumerate(card["hints"], 1):
            out.print(f"Hint {i}: {hint}", markup=False)
        out.print(f"\n{card['derivation']}", markup=False)


_KIND_HELP = "; ".join(f"{kind}: {meaning}" for kind, meaning in ERRATUM_KINDS.items())


@click.command()
@bank_option
@json_option
@click.option("--kind", "kinds", multiple=True, type=click.Choice([*ERRATUM_KINDS, "all"]),
              help=f"List the errata of this kind (repeatable; default: error; all: every kind). "
                   f"{_KIND_HELP}.")
@uses_user_cache
@pass_cli
def errata(cli: CliContext, kinds: tuple[str, ...]) -> None:
    """List the workbook's mistakes recorded in the bank (by default its errors; --kind all also
    lists ambiguities, unit conventions and notes)."""
    from grader.bank import catalog

    bank = cli.bank()
    chosen = [k for k in ERRATUM_KINDS if "all" in kinds or k in kinds] or ["error"]
    entries = catalog.errata_entries(bank, chosen)
    if cli.as_json:
        print_json(entries)
        return
    out = console()
    for kind in chosen:
        of_kind = [e for e in entries if e["kind"] == kind]
        out.print(f"[bold]{kind}[/bold] ({len(of_kind)}): {ERRATUM_KINDS[kind]}\n", highlight=False)
        for e in of_kind:
            out.print(f"[bold]{e['where']}[/bold] ({kind}, {e['about']})", highlight=False)
            out.print(f"  workbook: {e['workbook']}", markup=False)
            out.print(f"  correct:  {e['correct']}", markup=False)
            out.print(f"  why:      {e['why']}\n", markup=False)
    others = {k: len(catalog.errata_entries(bank, [k])) for k in ERRATUM_KINDS if k not in chosen}
    if any(others.values()):
        listed = ", ".join(f"{n} {k}" for k, n in others.items() if n)
        out.print(f"Not listed: {listed} (grade errata --kind all).", markup=False)


@click.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--chapter", "chapters", type=int, multiple=True, help="Take this chapter (repeatable).")
@click.option("--items", "item_lists", multiple=True, metavar="ID,...",
              help="Take these items, comma-separated (repeatable).")
@click.option("--kernel", "kernel_lists", multiple=True, metavar="TASK,...",
              help="Add these GPU kernel tasks, comma-separated, or 'all' ('grade kernel list'); "
                   "alone, the workspace holds only them.")
@bank_option
@uses_user_cache
@pass_cli
def init(cli: CliContext, directory: Path, chapters: tuple[int, ...], item_lists: tuple[str, ...],
         kernel_lists: tuple[str, ...]) -> None:
    """Create a practice workspace in DIRECTORY (the whole bank by default)."""
    from grader.workspace.folder import init_workspace, select_items, select_kernels

    bank = cli.bank()
    ids = [i for text in item_lists for i in text.split(",")]
    try:
        kernels = select_kernels(bank, [k for text in kernel_lists for k in text.split(",")])
        selected = select_items(bank, chapters, ids) if chapters or ids or not kernels else []
        workspace = init_workspace(directory, bank, selected, cli.bank_dir, kernels)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except WorkspaceError as exc:
        cli.workspace_error(exc)
    code = [e for e in workspace.manifest.items if e.files]
    parts = ([f"{len(selected)} item(s)" + (f", {len(code)} of them code items" if code else "")]
             if selected else []) + ([f"{len(kernels)} kernel task(s) in kernels/"] if kernels else [])
    click.echo(f"Created {directory} with {' and '.join(parts)}.")
    where = directory / "answers.yaml" if selected else directory / "kernels"
    click.echo(f"Next: write your {'answers' if selected else 'kernels'} in {where}, "
               f"then run 'grade check {directory}'.")


@click.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--item", "only", multiple=True, metavar="ID", help="Check only this item (repeatable).")
@click.option("--explain", is_flag=True, help="Show the worked solution of every correct item.")
@json_option
@uses_user_cache
@pass_cli
def check(cli: CliContext, directory: Path | None, only: tuple[str, ...], explain: bool) -> None:
    """Check the answers of the workspace DIRECTORY (default: the one containing the current
    folder)."""
    from grader.grading.check import check_workspace

    try:
        workspace = _open(directory)
        unknown = [i for i in only if workspace.manifest.item(i) is None]
        if unknown:
            raise click.UsageError(f"no item {', '.join(map(repr, unknown))} in this workspace")
        report = check_workspace(workspace, only)
    except WorkspaceError as exc:
        cli.workspace_error(exc)
    if cli.as_json:
        print_json(report.to_json())
        return
    from grader.reporters.terminal import print_check

    print_check(report, console(), report.titles or _chapter_titles(workspace), explain)


@click.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@json_option
@uses_user_cache
@pass_cli
def progress(cli: CliContext, directory: Path | None) -> None:
    """Mastery per chapter and overall, as recorded by the last checks of the workspace DIRECTORY
    (default: the one containing the current folder), and the day streak."""
    from grader.workspace.progress import day_streak, load_progress, mastery

    try:
        workspace = _open(directory)
        state, warning = load_progress(workspace.state_dir)
    except WorkspaceError as exc:
        cli.workspace_error(exc)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    entries = [(e.id, e.chapter) for e in workspace.manifest.entries]
    rows = mastery(entries, state, _chapter_titles(workspace))
    if cli.as_json:
        print_json({"mode": workspace.manifest.mode,
                    "mastered": sum(r.mastered for r in rows),
                    "answered": sum(r.answered for r in rows),
                    "total": sum(r.total for r in rows),
                    "day_streak": day_streak(state),
                    "chapters": [vars(r) for r in rows]})
        return
    from grader.reporters.terminal import print_progress

    print_progress(rows, console(), workspace.manifest.mode == "graded")
    streak = day_streak(state)
    click.echo(f"Day streak: {streak} day{'s' * (streak != 1)} in a row with a check")


@click.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--no-browser", is_flag=True, help="Print the link instead of opening the browser.")
@uses_user_cache
@pass_cli
def serve(cli: CliContext, directory: Path | None, port: int, no_browser: bool) -> None:
    """Practise in the browser: a page for each item of the workspace DIRECTORY (default: the
    one containing the current folder), on this machine only.

    Answers typed there go to the same answers.yaml and are checked exactly as 'grade check'
    checks them; code items are saved to their files and run in the sandbox. The page is served
    on 127.0.0.1 with a secret token in the link it prints; Ctrl-C stops it."""
    from grader.serve import app

    try:
        server = app.make_server(_open(directory).root, port)
    except WorkspaceError as exc:
        cli.workspace_error(exc)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); "
                                   "choose another --port, or leave it out for a free one") from None
    app.serve(server, open_browser=not no_browser, echo=click.echo)


COMMANDS = (init, check, progress, list_items, show, errata, serve)
