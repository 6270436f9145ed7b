"""The CLI's help: every option of every command says what it does, every command's text names
its arguments, and a group's listing (`grade --help`) shows each command's whole first sentence
rather than cutting it with '...'."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.cli.common import first_sentence


def _walk(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command under ``group`` with its path, through click's API (some groups are
    imported only when asked for)."""
    found = []
    with click.Context(group) as ctx:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, f"grade {' '.join((*path, name))} is listed but does not load"
            found.append(((*path, name), command))
            if isinstance(command, click.Group):
                found += _walk(command, (*path, name))
    return found


COMMANDS = [((), main), *_walk(main)]
GROUPS = [(path, command) for path, command in COMMANDS if isinstance(command, click.Group)]


def _id(path: tuple[str, ...]) -> str:
    return " ".join(("grade", *path))


def test_the_walk_finds_every_command_and_the_lazy_group():
    names = {_id(path) for path, _ in COMMANDS}
    assert {"grade check", "grade batch", "grade export nbgrader", "grade kernel check"} <= names
    assert len(names) > 20


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[_id(p) for p, _ in COMMANDS])
def test_every_option_has_help_and_every_argument_is_named_in_the_text(path, command):
    with click.Context(command, info_name=_id(path)) as ctx:
        params = command.get_params(ctx)
    assert command.help, f"{_id(path)} has no help text"
    for param in params:
        if isinstance(param, click.Option):
            assert param.help and param.help.strip(), f"{_id(path)} {param.opts[0]} has no help"
        else:  # click arguments take no help: the command's text says what they are
            name = param.human_readable_name
            assert re.search(rf"\b{re.escape(name)}\b", command.help), \
                f"{_id(path)}: its help does not name its argument {name}"


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize(("path", "group"), GROUPS, ids=[_id(p) for p, _ in GROUPS])
def test_a_group_lists_each_command_with_its_whole_first_sentence(path, group, width):
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="grade", terminal_width=width)
    assert result.exit_code == 0, result.output
    listing = result.output.partition("\nCommands:\n")[2]
    assert listing, result.output
    assert "..." not in listing, f"'{_id(path)} --help' cuts a description:\n{listing}"
    flat = re.sub(r"\s+", "", listing)  # lines wrap anywhere, even after a hyphen
    with click.Context(group) as ctx:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None and command.help
            sentence = first_sentence(command.help)
            assert re.sub(r"\s+", "", sentence) in flat, f"{_id((*path, name))}: {sentence!r} is cut"


def test_first_sentence_follows_clicks_rule_for_where_a_sentence_ends():
    assert first_sentence("Grade a class.\n\nMore.") == "Grade a class."
    assert first_sentence("Check the answers of a\n    workspace (default: the one). Then more.") == \
        "Check the answers of a workspace (default: the one)."
    assert first_sentence("Time it against the roofline (e.g. a GPU) fast. Next") == \
        "Time it against the roofline (e.g. a GPU) fast."
    assert first_sentence("No full stop") == "No full stop"
