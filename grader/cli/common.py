"""What the command modules share: the context object, the shared options, bank loading, the
user-cache wrapper of the student commands, the command group, and printing helpers.

Nothing heavy is imported here: ``grade check --json`` with a warm cache imports neither rich,
jsonschema nor the sandbox (tests/test_user_cache.py), so each command imports what it uses.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import click

from grader.bank.user_cache import user_cache
from grader.core.paths import default_bank_dir

if TYPE_CHECKING:
    from rich.console import Console

    from grader.assignments.assignment import Assignment
    from grader.core.fileio import WorkspaceError
    from grader.model.bank import Bank

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliContext:
    """One command's context (click's ``ctx.obj``): what the shared options (``--bank``,
    ``--json``, ``--allow-weak-sandbox``) set, and the bank they name, loaded once."""

    bank_dir: Path | None = None
    as_json: bool = False
    allow_weak: bool = False
    _bank: Bank | None = field(default=None, repr=False)

    @property
    def bank_folder(self) -> Path:
        """``--bank``, else $GRADE_BANK, else the course's bank."""
        return self.bank_dir or default_bank_dir()

    def bank(self) -> Bank:
        """The bank, loaded on first use; a bank without chapters is an error (exit 1), and a
        bank with problems a warning."""
        if self._bank is None:
            self._bank = _load(self.bank_dir)
        return self._bank

    def assignment(self, spec: Path) -> Assignment:
        """The assignment ``spec`` over the bank, or exit 2 with its problem."""
        from grader.assignments.assignment import AssignmentError, load_assignment

        try:
            return load_assignment(spec, self.bank())
        except AssignmentError as exc:
            raise click.UsageError(str(exc)) from None

    def workspace_error(self, exc: WorkspaceError) -> NoReturn:
        """Report an unusable workspace (as JSON too with ``--json``) and exit 2."""
        if self.as_json:
            print_json({"error": str(exc)})
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


pass_cli = click.make_pass_decorator(CliContext, ensure=True)
"""Passes the command's ``CliContext`` as its first argument."""


def _setter(attribute: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """An option callback that stores the option's value in the command's ``CliContext``."""
    def store(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        setattr(ctx.ensure_object(CliContext), attribute, value)
        return value
    return store


bank_option = click.option(
    "--bank", "bank_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
    expose_value=False, callback=_setter("bank_dir"),
    help="Bank folder (default: $GRADE_BANK or the bundled bank/).")
json_option = click.option("--json", "as_json", is_flag=True, expose_value=False,
                           callback=_setter("as_json"), help="Print JSON.")
allow_weak_option = click.option(
    "--allow-weak-sandbox", "allow_weak", is_flag=True, expose_value=False, callback=_setter("allow_weak"),
    help="Grade student code even where the sandbox cannot isolate it (it could read your files "
         "and other students' work). Without it, such a machine refuses.")
spec_argument = click.argument("spec", type=click.Path(path_type=Path, dir_okay=False, exists=True))


def _load(bank_dir: Path | None) -> Bank:
    from grader.bank.loader import load_bank

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


def uses_user_cache(command: F) -> F:
    """A student's command: the bank and the manifest may come from the user's cache of them,
    validated before (grader.bank.user_cache). Grading commands (batch, Gradescope) never use it."""
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        with user_cache():
            return command(*args, **kwargs)
    run.uses_user_cache = True  # type: ignore[attr-defined]  # a mark: which commands use the cache
    return cast(F, run)


def console() -> Console:
    from rich.console import Console

    return Console(soft_wrap=True)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def first_sentence(text: str) -> str:
    """The first sentence of a help text's first paragraph, whole (click's own rule for where a
    sentence ends, without its cut to fit the line)."""
    words = text.partition("\n\n")[0].split()
    for i, word in enumerate(words):
        if word.endswith(".") and (i == len(words) - 1 or not words[i + 1][0].islower()):
            return " ".join(words[:i + 1])
    return " ".join(words)


def _whole_short_help(command: click.Command) -> None:
    """Give ``command`` and its subcommands their whole first sentence as the short help, so a
    group's listing wraps it over lines instead of cutting it with '...'."""
    if command.short_help is None and command.help:
        command.short_help = first_sentence(command.help)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _whole_short_help(sub)


@contextlib.contextmanager
def ending_on_signals() -> Iterator[None]:
    """SIGTERM (``timeout``, ``kill``) and SIGINT (Ctrl-C) end the command by an exception, so
    every ``finally`` runs and stops its sandbox (SIGTERM's default would end the process on
    the spot and leave them running). Further signals are ignored while that cleanup runs.
    Outside the main thread (where handlers cannot be set) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = (signal.SIGINT, signal.SIGTERM)

    def end(signum: int, frame: Any) -> None:
        for name in names:
            signal.signal(name, signal.SIG_IGN)
        runners = sys.modules.get("grader.sandbox.runner")  # code items' runners, in other threads
        if runners is not None:
            runners.stop_all_runners()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    previous = {name: signal.getsignal(name) for name in names}
    for name in names:
        signal.signal(name, end)
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(name, handler)


class Group(click.Group):
    """A command group whose ``--help`` lists each command with its whole first sentence; the
    groups named in ``lazy`` (name: "module:attribute") are imported when used or listed."""

    def __init__(self, *args: Any, lazy: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _whole_short_help(cmd)
        super().add_command(cmd, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def invoke(self, ctx: click.Context) -> Any:
        """Every command ends on SIGTERM or SIGINT by an exception, so the sandboxes it started
        are stopped and their folders removed."""
        with ending_on_signals():
            return super().invoke(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, attr = self.lazy[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)
