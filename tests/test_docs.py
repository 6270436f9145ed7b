"""The documentation as users find it: the site builds in strict mode, the CLI reference lists
every command, every `grade ...` the docs and the README show names a command and options that
exist, and the README stays a short front page whose links resolve and whose test command is
the one CI runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from grader.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`mkdocs build --strict` from the repository root: any warning (a broken link or anchor, a
    page missing from the nav, a CLI reference that does not import) fails the build."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def _subcommand(group: click.Group, name: str) -> click.Command | None:
    # through click's API, not group.commands: some groups are imported only when asked for
    with click.Context(group) as ctx:
        return group.get_command(ctx, name)


def _names(group: click.Group) -> list[str]:
    with click.Context(group) as ctx:
        return group.list_commands(ctx)


def _commands(group: click.Group, prefix: str = "grade") -> list[str]:
    """'grade NAME' for every command, and 'grade GROUP NAME' for the commands of a group."""
    found = []
    for name in _names(group):
        command = _subcommand(group, name)
        assert command is not None, f"{prefix} {name} is listed but does not load"
        found.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix} {name}")
    return found


def test_the_site_builds_in_strict_mode(site: Path) -> None:
    assert (site / "index.html").is_file()
    for page in sorted(DOCS.glob("*.md")):
        assert (site / ("" if page.stem == "index" else page.stem) / "index.html").is_file(), page.name


def test_the_cli_reference_lists_every_command(site: Path) -> None:
    page = (site / "cli" / "index.html").read_text(encoding="utf-8")
    # the usage line mkdocs-click writes, e.g. "grade check [OPTIONS] [DIRECTORY]": only the
    # generated part of the page has it, so a command missing from the generation is noticed
    missing = [name for name in _commands(main) if f"{name} [OPTIONS]" not in page]
    assert missing == [], f"not in the generated CLI reference: {missing}"
    assert {"check", "batch", "assign", "kernel"} <= set(_names(main))
    assert "Sentinel" not in page  # click 8.2+ defaults leak into mkdocs-click's table style


def _code_snippets(text: str) -> list[str]:
    """Each line of every fenced block, and every inline code span (spaces normalised)."""
    snippets = []
    fences = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.M | re.S)
    for block in fences.findall(text):
        snippets += [re.sub(r"\s#.*", "", line) for line in block.splitlines()]
    for span in re.findall(r"`([^`]+)`", fences.sub("", text)):
        snippets.append(" ".join(span.split()))
    return snippets


def _check_invocation(tokens: list[str]) -> str | None:
    """None when 'grade TOKENS...' names an existing command and only its options, else why not."""
    command: click.Command = main
    path = "grade"
    position = 0
    while (position < len(tokens) and isinstance(command, click.Group)
           and not tokens[position].startswith("-")):
        sub = _subcommand(command, tokens[position])
        if sub is None:
            return f"'{path} {tokens[position]}': no such command"
        command, path = sub, f"{path} {tokens[position]}"
        position += 1
    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    options.add("--help")
    for token in tokens[position:]:
        match = re.match(r"\[*(--[a-z][a-z0-9-]*)", token)
        if match and match.group(1) not in options:
            return f"'{path} {match.group(1)}': no such option"
    return None


def test_every_grade_command_the_docs_show_exists() -> None:
    problems = []
    for page in [README, *sorted(DOCS.glob("*.md"))]:
        for snippet in _code_snippets(page.read_text(encoding="utf-8")):
            for segment in re.split(r"&&|\|\||;|\||\(|\)", snippet):
                tokens = segment.split()
                for i, token in enumerate(tokens[:-1]):
                    if token == "grade" and re.fullmatch(r"[a-z][a-z-]*", tokens[i + 1]):
                        why = _check_invocation(tokens[i + 1:])
                        if why:
                            problems.append(f"{page.relative_to(ROOT)}: `{segment.strip()}`: {why}")
    assert problems == [], "\n".join(problems)


def test_the_invocation_check_notices_a_missing_command_or_option() -> None:
    assert _check_invocation(["check", "ws/", "--json"]) is None
    assert _check_invocation(["kernel", "check", "ws/", "[--task", "softmax]"]) is None
    assert _check_invocation(["export", "nbgrader", "ps1.yaml", "--out", "x/"]) is None
    assert "no such command" in _check_invocation(["grade-all"])
    assert "no such command" in _check_invocation(["kernel", "time"])
    assert "no such option" in _check_invocation(["batch", "subs/", "--parallel", "4"])


def test_the_readme_is_a_short_front_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200
    ci_command = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci_command.startswith("(command -v bwrap")
    assert lines.count(ci_command) == 1, "the README's test command must be .ci/run's, byte for byte"
    assert "pip install -e . && grade validate && grade check examples/workspace" in lines


def _slug(heading: str) -> str:
    """GitHub's and MkDocs' anchor for a heading (close enough for the headings used here)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_relative_link_in_the_readme_resolves() -> None:
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    relative = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert relative, "the README should link to the documentation"
    broken = []
    for link in relative:
        path, _, anchor = link.partition("#")
        target = (ROOT / path) if path else README
        if not target.is_file():
            broken.append(f"{link}: no such file")
        elif anchor:
            headings = re.findall(r"^#+\s+(.*)$", target.read_text(encoding="utf-8"), re.M)
            if anchor not in {_slug(h) for h in headings}:
                broken.append(f"{link}: no such heading")
    assert broken == [], broken
