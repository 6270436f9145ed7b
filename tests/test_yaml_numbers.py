"""What a number or a mapping in YAML can hide, refused by the one loader (grader/core/fileio.py)
with its line and column, through every entry point: integers too long for int() or a float,
YAML 1.1's base-60 numbers (quadratic to build), .nan/.inf where a number is wanted, a key
given twice; and control characters in the text the grader writes back into answers.yaml."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from grader.core.fileio import MAX_DIGITS, YamlError, read_yaml
from grader.responses.answers_file import parse_answers
from grader.workspace.answers_template import render_answers_file
from grader.workspace.manifest import manifest_item
from tests.workspace_helpers import grade

HUGE = "9" * 5000  # beyond Python's 4,300-digit int() limit
FINITE = "is not a finite number (no .nan or .inf, nothing beyond about 1.8e308)"


@pytest.mark.parametrize("text, line, column, problem", [
    (f"a: {HUGE}\n", 1, 4, f"integer with 5000 digits (at most {MAX_DIGITS})"),
    ("a: 0x" + "f" * 300 + "\n", 1, 4, f"integer with 300 digits (at most {MAX_DIGITS})"),
    ("a: -0b" + "1" * 101 + "\n", 1, 4, f"integer with 101 digits (at most {MAX_DIGITS})"),
    ("a: 1\nb: 1:30\n", 2, 4, "base-60 number '1:30' is not allowed (quote it if it is text)"),
    ("a: 1:30.5\n", 1, 4, "base-60 number '1:30.5' is not allowed (quote it if it is text)"),
    ("a: .nan\n", 1, 4, f"'.nan' {FINITE}"),
    ("a: [1, -.inf]\n", 1, 8, f"'-.inf' {FINITE}"),
    ("a: 1.0e+400\n", 1, 4, f"'1.0e+400' {FINITE}"),
    ("a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key 'a' (first given on line 1)"),
    ("x:\n  k: 1\n  j: 2\n  k: 3\n", 4, 3, "duplicate key 'k' (first given on line 2)"),
    ("{1: a, 01: b}\n", 1, 8, "duplicate key '01' (first given on line 1)"),
])
def test_numbers_and_duplicate_keys_are_refused_with_their_place(text, line, column, problem):
    with pytest.raises(YamlError) as info:
        read_yaml(text, label="f.yaml", max_bytes=1 << 20)
    assert (info.value.line, info.value.column, info.value.problem) == (line, column, problem)
    assert str(info.value) == f"f.yaml line {line}, column {column} is not valid YAML: {problem}"


def test_what_is_still_read():
    text = "a: 1_000\nb: 0x1f\nc: -1.5e+3\nd: '1:30'\ne: " + "9" * MAX_DIGITS + "\nf: 1e400\n"
    assert read_yaml(text, label="f", max_bytes=1000) == {
        "a": 1000, "b": 31, "c": -1500.0, "d": "1:30", "e": int("9" * MAX_DIGITS), "f": "1e400"}
    nan = read_yaml("a: .nan\nb: .inf\n", label="f", max_bytes=100, nonfinite=True)
    assert nan["a"] != nan["a"] and nan["b"] == float("inf")
    # strings only (answers.yaml): nothing is a number, nothing changes
    assert read_yaml("a: .nan\nb: 1:30\nc: " + HUGE, label="f", max_bytes=1 << 20, strings=True) == {
        "a": ".nan", "b": "1:30", "c": HUGE}


def test_base_60_is_refused_in_linear_time():
    text = "a: " + "1:" * 170_000 + "1\n"  # 340 KB took 7 s to build
    start = time.perf_counter()
    with pytest.raises(YamlError, match="base-60 number"):
        read_yaml(text, label="f", max_bytes=1 << 20)
    assert time.perf_counter() - start < 2


# -- through each entry point: a clear message and an exit code, never a traceback -------------
def _no_traceback(result, code: int, *needles: str) -> None:
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    for needle in needles:
        assert needle in result.output, result.output


def _chapter(bank_copy: Path) -> Path:
    return bank_copy / "ch01_resource_accounting.yaml"


@pytest.mark.parametrize("old, new, needle", [
    ("chapter: 1\n", f"chapter: {HUGE}\n", "line 1, column 10: integer with 5000 digits"),
    ("chapter: 1\n", "chapter: 0x" + "f" * 400 + "\n", "line 1, column 10: integer with 400 digits"),
    ("chapter: 1\n", "chapter: 1:1:1\n", "line 1, column 10: base-60 number '1:1:1'"),
    ("default: 1024,", "default: .nan,", f"'.nan' {FINITE}"),
    ("title: Resource Accounting\n", "title: Resource Accounting\nchapter: 1\n",
     "line 3, column 1: duplicate key 'chapter' (first given on line 1)"),
    ("title: FLOPs of one matrix multiply\n", 'title: "FLOPs\\e[2J"\n', "does not match"),
    ("title: FLOPs of one matrix multiply\n", 'title: "FLOPs\\u2028\\"1.5\\": 1"\n', "does not match"),
    ("title: FLOPs of one matrix multiply\n", 'title: "FLOPs\\n"\n', "does not match"),
    ("title: Resource Accounting\n", 'title: "Resource\\0Accounting"\n', "does not match"),
    ("      A linear layer takes", "      A linear layer \x1b takes", "control characters are not allowed"),
])
def test_bad_numbers_repeated_keys_and_control_characters_in_a_chapter_fail_validate(
        bank_copy: Path, old, new, needle):
    chapter = _chapter(bank_copy)
    text = chapter.read_text("utf-8")
    assert old in text
    chapter.write_text(text.replace(old, new, 1), "utf-8")
    _no_traceback(grade("validate", "--bank", bank_copy, "--samples", "1"), 1, needle)


@pytest.mark.parametrize("body, needle", [
    ("items:\n  - {id: '1.1', points: .nan}\n", f"line 4, column 25: '.nan' {FINITE}"),
    (f"items:\n  - {{id: '1.1', points: {HUGE}}}\n", "integer with 5000 digits"),
    ("items:\n  - {id: '1.1', points: 0x" + "f" * 300 + "}\n", "integer with 300 digits"),
    ("items: ['1.1']\nitems: ['1.5']\n", "line 4, column 1: duplicate key 'items' (first given on line 3)"),
    ("title: \"a\\u2028b\"\nitems: ['1.1']\n", "does not match"),
    ("title: \"a\\eb\"\nitems: ['1.1']\n", "does not match"),
])
def test_a_bad_spec_fails_assign_and_key(tmp_path: Path, body, needle):
    spec = tmp_path / "ps.yaml"
    spec.write_text("name: ps\nmode: graded\n" + body, "utf-8")
    _no_traceback(grade("assign", spec, "--out", tmp_path / "out"), 2, needle)
    _no_traceback(grade("key", "--assignment", spec), 2, needle)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    assert grade("init", folder, "--items", "1.1,1.5").exit_code == 0
    return folder


@pytest.mark.parametrize("old, new, needle", [
    ("format: 1\n", f"format: {HUGE}\n", "integer with 5000 digits"),
    ("points: 1.0\n", "points: .nan\n", f"'.nan' {FINITE}"),
    ("points: 1.0\n", "points: 1:0\n", "base-60 number '1:0'"),
    ("mode: practice\n", "mode: practice\nmode: graded\n", "duplicate key 'mode' (first given on line"),
])
def test_a_bad_manifest_fails_check(ws: Path, old, new, needle):
    manifest = ws / "grade.yaml"
    text = manifest.read_text("utf-8")
    assert old in text
    manifest.write_text(text.replace(old, new, 1), "utf-8")
    _no_traceback(grade("check", ws), 2, "grade.yaml", needle)


def test_answers_stay_text(ws: Path):
    """answers.yaml is read as strings: .nan, 1:30 and a long number are answers to judge, and a
    repeated id keeps its own report."""
    (ws / "answers.yaml").write_text(f'"1.1": .nan\n"1.5": {HUGE}\n', "utf-8")
    result = grade("check", ws)
    assert "Traceback" not in result.output and result.exit_code in (0, 1), result.output
    (ws / "answers.yaml").write_text('"1.1": 1:30\n"1.5": 2\n"1.1": 3\n', "utf-8")
    result = grade("check", ws)
    assert "Traceback" not in result.output and result.exit_code in (0, 1, 2), result.output
    assert parse_answers('"1.1": .nan\n"1.5": 1:30\n').answers == {"1.1": ".nan", "1.5": "1:30"}


# -- the answers.yaml writer never writes what the reader refuses ----------------------------------
def _entries(items):
    return [manifest_item(item) for item in items]


def test_every_bank_items_answers_file_reads_back(bank):
    items = list(bank.items.values())
    text = render_answers_file(bank, _entries(items), "Every item")
    sheet = parse_answers(text)
    ids = {item.id for item in items if f'\n"{item.id}":' in text}
    assert ids and set(sheet.answers) == ids and all(v is None for v in sheet.answers.values())
    for item in items:  # and each one's on its own, as 'grade init --items' writes it
        parse_answers(render_answers_file(bank, _entries([item]), item.title))


def test_control_characters_that_get_past_the_schema_do_not_break_answers_yaml(bank):
    nasty = "a\x00b\x1b[2J\u2028\"9.9\": x\r\"9.8\": y\x85z\ufeff\ud800 \t\u2029end\x7f"
    items = {i: dataclasses.replace(item, title=nasty, prompt=nasty) for i, item in bank.items.items()}
    chapters = [dataclasses.replace(c, title=nasty) for c in bank.chapters]
    copy = dataclasses.replace(bank, items=items, chapters=chapters)
    text = render_answers_file(copy, _entries(items.values()), nasty)
    sheet = parse_answers(text)
    assert set(sheet.answers) <= set(items) and "9.9" not in sheet.answers and "9.8" not in sheet.answers
