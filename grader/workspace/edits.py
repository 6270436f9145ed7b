"""What ``grade serve`` writes into a workspace: one item's answer in ``answers.yaml``, and a code
item's file.

An answer replaces only that item's value: comments, order, blank lines and every other answer
stay byte for byte (the value is found by the position YAML gives it, never by a pattern). The
new text is read back with the answers file's own reader (``grader.responses.answers_file``)
and must hold exactly the new answer and every other answer unchanged, or nothing is written;
the file is then replaced atomically (``grader.core.fileio.write_atomic``). A code item's file
must be a regular file inside the workspace, reached through no link.
"""

from __future__ import annotations

import json
import os
import stat
import unicodedata
from pathlib import Path, PurePosixPath

import yaml

from grader.core.fileio import WorkspaceError, YamlError, compose_yaml, read_capped, write_atomic
from grader.items.code_runs import MAX_FILE_BYTES
from grader.responses.answers_file import MAX_ANSWERS_BYTES, MAX_LIST, parse_answers

MAX_ANSWER_CHARS = 1000
_BOM = "\ufeff"

Answer = str | list[str]


def _one_line(value: str) -> str:
    """``value`` without its outer spaces; WorkspaceError when it holds a line break or a
    control character (an answer is one line of text)."""
    if len(value) > MAX_ANSWER_CHARS:
        raise WorkspaceError(f"an answer is at most {MAX_ANSWER_CHARS} characters")
    if any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in value):
        raise WorkspaceError("an answer is one line of text, without control characters")
    return value.strip()


def _spellings(value: Answer) -> list[str]:
    """The YAML texts that may stand for ``value``, most readable first: plain (``52000``,
    ``[A, C]``), then quoted as JSON (a JSON string is a YAML double-quoted scalar)."""
    if isinstance(value, list):
        return ["[" + ", ".join(value) + "]", json.dumps(value, ensure_ascii=False), json.dumps(value)]
    if not value:
        return [""]
    return [value, json.dumps(value, ensure_ascii=False), json.dumps(value)]


def _end(node: yaml.Node) -> int:
    """Where ``node``'s text ends. A block list or mapping ends with its last entry (YAML puts
    its end at the next key, past the comments between)."""
    if isinstance(node, yaml.SequenceNode | yaml.MappingNode) and not node.flow_style and node.value:
        last = node.value[-1]
        return _end(last[1] if isinstance(last, tuple) else last)
    return node.end_mark.index


def _replaced(text: str, item_id: str, spelling: str) -> str:
    """``text`` with the value of the last ``item_id`` key replaced by ``spelling`` (appended
    as a new line when the file has no such key)."""
    root = compose_yaml(text, label="answers.yaml", max_bytes=MAX_ANSWERS_BYTES, strings=True)
    pairs = root.value if isinstance(root, yaml.MappingNode) else []
    matches = [(k, v) for k, v in pairs if isinstance(k, yaml.ScalarNode) and str(k.value).strip() == item_id]
    if not matches:
        line = f"{json.dumps(item_id, ensure_ascii=False)}:{' ' + spelling if spelling else ''}\n"
        return text + ("\n" if text and not text.endswith("\n") else "") + line
    key, value = matches[-1]
    start, end = value.start_mark.index, _end(value)
    end = start + len(text[start:end].rstrip())  # a block scalar's span holds the lines after it
    colon = text.find(":", key.end_mark.index, start + 1)
    if colon >= 0 and not text[colon + 1:start].strip():  # only spaces (and line breaks) between
        start = colon + 1
        spelling = " " + spelling if spelling else ""
    return text[:start] + spelling + text[end:]


def with_answer(text: str, item_id: str, value: Answer) -> str:
    """``text`` (an answers.yaml) with ``value`` as the answer to ``item_id``: a line of text (a
    number, arithmetic, an option id; empty to skip the item) or a list of option ids.

    Raises WorkspaceError when the file cannot be read (its reader's message) or the answer
    cannot be written so that it reads back unchanged.
    """
    before = parse_answers(text)
    if isinstance(value, list):
        if len(value) > MAX_LIST or not all(isinstance(v, str) and v.isalnum() for v in value):
            raise WorkspaceError(f"a list answer holds at most {MAX_LIST} option ids (letters or digits)")
    else:
        value = _one_line(value)
    expected = parse_answers(f'"x": {json.dumps(value, ensure_ascii=False)}\n').answers["x"]
    others = {k: v for k, v in before.answers.items() if k != item_id}
    for spelling in _spellings(value):
        try:
            new = _replaced(text, item_id, spelling)
            after = parse_answers(new)
        except (WorkspaceError, YamlError):
            continue
        if after.answers.get(item_id) == expected and \
                {k: v for k, v in after.answers.items() if k != item_id} == others:
            return new
    raise WorkspaceError(f"could not write the answer to {item_id} into answers.yaml so that it "
                         "reads back the same; write it there in your editor")


def _read_text(path: Path, max_bytes: int) -> tuple[str, str]:
    """(a byte-order mark or '', the text) of a UTF-8 file; WorkspaceError when it cannot be read."""
    try:
        data = read_capped(path, label=path.name, max_bytes=max_bytes)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise WorkspaceError(f"{path} does not exist") from None
    except YamlError as exc:
        raise WorkspaceError(str(exc)) from None
    except UnicodeDecodeError:
        raise WorkspaceError(f"{path.name} is not UTF-8 text; save it as UTF-8") from None
    return (_BOM, text[1:]) if text.startswith(_BOM) else ("", text)


def _replace_file(path: Path, text: str) -> None:
    """Write ``text`` over ``path`` atomically, keeping its permissions."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o644
    write_atomic(path, text, mode=mode)


def set_answer(path: Path, item_id: str, value: Answer) -> None:
    """Write ``value`` as the answer to ``item_id`` in the answers file ``path``; only that
    value changes (see ``with_answer``)."""
    bom, text = _read_text(path, MAX_ANSWERS_BYTES)
    _replace_file(path, bom + with_answer(text, item_id, value))


def code_path(root: Path, relative: str) -> Path:
    """The workspace file ``relative`` (a code item's file from grade.yaml): inside ``root``,
    through no link, and a regular file when it exists; WorkspaceError otherwise."""
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or any(p in ("..", ".", "") for p in parts):
        raise WorkspaceError(f"{relative} is not a path inside the workspace")
    path = root
    for depth, part in enumerate(parts, 1):
        path = path / part
        st = os.lstat(path) if os.path.lexists(path) else None
        if st is not None and stat.S_ISLNK(st.st_mode):
            raise WorkspaceError(f"{relative} goes through a symbolic link; grade serve does not follow it")
        if st is not None and depth < len(parts) and not stat.S_ISDIR(st.st_mode):
            raise WorkspaceError(f"{relative}: {part} is not a folder")
    if path.exists() and not path.is_file():
        raise WorkspaceError(f"{relative} is not a regular file")
    return path


def read_code(root: Path, relative: str) -> str:
    """The text of a code item's file ('' when it does not exist yet)."""
    path = code_path(root, relative)
    if not path.exists():
        return ""
    return _read_text(path, MAX_FILE_BYTES)[1]


def write_code(root: Path, relative: str, text: str) -> None:
    """Replace a code item's file with ``text`` (at most the size a code run reads)."""
    path = code_path(root, relative)
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise WorkspaceError(f"{relative}: the text is not valid Unicode") from None
    if size > MAX_FILE_BYTES:
        raise WorkspaceError(f"{relative} would be over {MAX_FILE_BYTES >> 10} KiB, more than a code "
                             "run reads")
    if not path.parent.is_dir():
        raise WorkspaceError(f"{path.parent.name}/ is missing from the workspace")
    _replace_file(path, text)
