"""Create workspaces and write answers into them the way a student edits answers.yaml."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from grader.cli import main

CHECKOUT = Path(__file__).resolve().parents[1]  # the repository (not the course inside the wheel)


def grade(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def check_json(ws: Path, *args: str) -> dict[str, Any]:
    result = grade("check", ws, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def yaml_value(answer: object) -> str:
    if isinstance(answer, list):
        return "[" + ", ".join(answer) + "]"
    return json.dumps(answer, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def write_answers(ws: Path, answers: dict[str, object], raw: bool = False) -> None:
    """Fill ``"ID":`` lines of answers.yaml (``raw``: write the text as it is, unquoted)."""
    path = ws / "answers.yaml"
    text = path.read_text("utf-8")
    for item_id, answer in answers.items():
        value = str(answer) if raw else yaml_value(answer)
        text, n = re.subn(rf'^"{re.escape(item_id)}":.*$', lambda _m, v=value, i=item_id: f'"{i}": {v}',
                          text, flags=re.M)
        assert n == 1, item_id
    path.write_text(text, "utf-8")


def wide_workspace(tmp_path: Path, monkeypatch: Any, items: str) -> Path:
    """A workspace of ``items`` made by grade init, checked on a terminal wide enough that each
    feedback line stays on one table row."""
    monkeypatch.setenv("COLUMNS", "1000")
    root = tmp_path / "ws"
    assert grade("init", root, "--items", items).exit_code == 0
    return root
