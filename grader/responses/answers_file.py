"""Read a student's ``answers.yaml`` (item id -> answer) without trusting it.

Every scalar is read as a string (no tag is resolved), so ``1.1: 34360`` keeps the
id ``"1.1"`` and the answer text ``"34360"`` exactly as typed; the grading rules
parse the text themselves. The file is read by ``grader.core.fileio``: capped in size,
UTF-8, no anchors or aliases, no deep nesting; and it must be a mapping. Answers
given twice are reported, not silently overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from grader.core.fileio import WorkspaceError, YamlError, compose_yaml, construct_yaml, read_capped

MAX_ANSWERS_BYTES = 256 * 1024
MAX_LIST = 64
_BLANK = {"", "~", "null", "Null", "NULL"}


@dataclass
class AnswerSheet:
    """Answers by item id (str, list of str, or None for blank) and where each was given."""

    answers: dict[str, object] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class WrongShape:
    """An answer of a shape no rule reads (a mapping, a nested or very long list)."""

    what: str

    def message(self) -> str:
        return (f"Could not read your answer: it is {self.what}. Write a number, an option id, "
                "or a list of option ids such as [A, C].")


def _shape(value: object) -> object:
    """None for YAML's null spellings, a string, a flat list of strings, or WrongShape."""
    if isinstance(value, str):
        return None if value.strip() in _BLANK else value
    if isinstance(value, list):
        if len(value) > MAX_LIST:
            return WrongShape(f"a list of {len(value)} entries (at most {MAX_LIST})")
        if all(isinstance(v, str) for v in value):
            return value
        return WrongShape("a list that contains lists or mappings")
    return WrongShape("a mapping (key: value pairs)" if isinstance(value, dict) else "not text")


def parse_answers(text: str | bytes, name: str = "answers.yaml") -> AnswerSheet:
    """Parse an answers file's text (or its bytes, UTF-8); raise WorkspaceError when it is
    unusable."""
    try:
        root = compose_yaml(text, label=name, max_bytes=MAX_ANSWERS_BYTES, strings=True)
    except YamlError as exc:
        raise WorkspaceError(_yaml_message(exc)) from None
    sheet = AnswerSheet()
    if root is None:
        return sheet
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        raise WorkspaceError(f"{name} must map item ids to answers (\"1.1\": 52000), "
                             f"but it holds {kind}")
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise WorkspaceError(f"{name} line {line}: an item id must be plain text such as \"1.1\"")
        item_id = str(key_node.value).strip()
        if item_id in sheet.lines:
            sheet.duplicates.setdefault(item_id, [sheet.lines[item_id]]).append(line)
        sheet.lines[item_id] = line
        try:
            value = construct_yaml(value_node, label=name, strings=True)
        except YamlError:
            raise WorkspaceError(f"{name} line {line}: the answer to {item_id} is not a number, "
                                 "text or a list of option ids") from None
        sheet.answers[item_id] = _shape(value)
    return sheet


def _yaml_message(exc: YamlError) -> str:
    message = str(exc)
    if exc.kind == "encoding":
        message += "; save it as UTF-8"
    elif exc.kind == "yaml" and "opened here" not in exc.problem and any(
            w in exc.problem for w in ("mapping values", "found character", "expected", "aliases")):
        message += (". Put quotes around the whole answer when it contains ': ' or starts with "
                    "one of [ { * & ! | > % @ ` (e.g. \"4.2\": \"*2\")")
    return message


def read_answers(path: Path) -> AnswerSheet:
    """Read and parse ``path``; every failure is a WorkspaceError with a clear reason."""
    try:
        data = read_capped(path, label=path.name, max_bytes=MAX_ANSWERS_BYTES)
    except FileNotFoundError:
        raise WorkspaceError(f"{path} does not exist; 'grade init' creates it") from None
    except YamlError as exc:
        raise WorkspaceError(_yaml_message(exc)) from None
    return parse_answers(data, path.name)
