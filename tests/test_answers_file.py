"""Reading answers.yaml: every malformed file is refused with a reason, and answers keep their text."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.responses.answers_file import (
    MAX_ANSWERS_BYTES,
    WorkspaceError,
    parse_answers,
    read_answers,
)


def test_scalars_stay_as_typed():
    sheet = parse_answers('"1.1": 34360\n1.2: 3.4 x 10^4\n1.10: 1e3\n0.4: [A, C]\n9.4: CADB\n'
                          '1.3:\n1.4: ~\n2.1: true\n2.2: 0x1F\n')
    assert sheet.answers == {"1.1": "34360", "1.2": "3.4 x 10^4", "1.10": "1e3", "0.4": ["A", "C"],
                             "9.4": "CADB", "1.3": None, "1.4": None, "2.1": "true", "2.2": "0x1F"}
    assert sheet.lines["1.2"] == 2


def test_python_tags_are_not_constructed():
    sheet = parse_answers("1.1: !!python/object/apply:os.system ['id']\n1.2: !!binary aGk=\n")
    assert sheet.answers == {"1.1": ["id"], "1.2": "aGk="}


def test_repeated_answers_are_reported():
    sheet = parse_answers("1.1: 1\n1.2: 5\n1.1: 2\n")
    assert sheet.answers["1.1"] == "2" and sheet.duplicates == {"1.1": [1, 3]}


@pytest.mark.parametrize("text, message", [
    ("- 1\n- 2\n", "must map item ids to answers"),
    ("just text\n", "holds a single value"),
    ("1.1: [A, B\n", "line 1, column 6 is not valid YAML: the bracket [ opened here is not closed"),
    ("1.1: a: b\n", "Put quotes around the whole answer"),
    ("1.1: \"\x00\"\n", "not valid YAML: unacceptable character"),
    ("? [1, 2]\n: 3\n", "an item id must be plain text"),
    ("1.1: &a [*a]\n", "line 1, column 6 is not valid YAML: anchors (&name) and aliases (*name) are not "
                       "allowed. Put quotes around"),
    ("1.1: *2\n", "line 1, column 6 is not valid YAML: anchors (&name) and aliases"),
    ("1.1: {[1]: 2}\n", "the answer to 1.1 is not a number"),
])
def test_malformed_files_are_refused_with_a_reason(text, message):
    with pytest.raises(WorkspaceError) as info:
        parse_answers(text)
    assert message in str(info.value)


def test_file_level_checks(tmp_path: Path):
    path = tmp_path / "answers.yaml"
    with pytest.raises(WorkspaceError, match="does not exist"):
        read_answers(path)
    path.write_bytes(b"1.1: \xff\xfe 12\n")
    with pytest.raises(WorkspaceError, match=r"not UTF-8 text \(byte 0xff at offset 5\)"):
        read_answers(path)
    path.write_bytes(b"#" * (MAX_ANSWERS_BYTES + 1))
    with pytest.raises(WorkspaceError, match="too large"):
        read_answers(path)
    path.write_bytes("\ufeff1.1: 34360\n".encode())
    assert read_answers(path).answers == {"1.1": "34360"}


def test_alias_bombs_are_refused():
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True))
    with pytest.raises(WorkspaceError, match=r"line 1, column 4 is not valid YAML: anchors"):
        parse_answers(text)  # 9^8 leaves if expanded


def test_shapes_no_rule_reads_are_marked():
    sheet = parse_answers("1.1: {a: 1}\n1.2: [" + ", ".join(["A"] * 65) + "]\n")
    assert "a mapping" in sheet.answers["1.1"].message()
    assert "65 entries" in sheet.answers["1.2"].message()
