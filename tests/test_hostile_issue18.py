"""Issue 18's readings, attacked as a student (or a careless instructor) would: through
'grade check' (the terminal table and --json) and 'grade validate'. Each test is a finding that
failed before its fix."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest

from grader.items.derive_text import Varied, default_number_problems
from tests.workspace_helpers import grade, wide_workspace, write_answers

ITEMS = "1.1,1.3,3.1,5.3,6.1"


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return wide_workspace(tmp_path, monkeypatch, ITEMS)


def check(ws: Path, answers: dict[str, str]) -> tuple[dict[str, dict[str, object]], str]:
    """Write ``answers`` (as YAML double-quoted strings), then (the --json items, the table)."""
    write_answers(ws, answers)
    as_json = grade("check", ws, "--json")
    assert as_json.exit_code == 0, as_json.output
    table = grade("check", ws)
    assert table.exit_code == 0, table.output
    return json.loads(as_json.output)["items"], table.output


def test_the_times_sign_before_a_parenthesis_multiplies(ws: Path):
    # 'x (' was taken for a function call named x, then 'x' for an unknown unit
    items, table = check(ws, {"1.1": "2 x (1024 x 4096 x 4096) FLOPs", "6.1": "3.15 x (10^23) FLOPs",
                              "1.3": "7e9 X (8 + 8) bytes"})
    assert {i: items[i]["status"] for i in ("1.1", "6.1", "1.3")} == dict.fromkeys(("1.1", "6.1", "1.3"),
                                                                                  "correct"), items
    assert "unknown unit" not in table and "function calls" not in table


def test_a_function_call_is_still_refused(ws: Path):
    items, _table = check(ws, {"1.1": "exp(24)", "6.1": "2 x max(3) FLOPs"})
    for item_id in ("1.1", "6.1"):
        assert items[item_id]["status"] == "error"
        assert "function calls are not allowed" in str(items[item_id]["feedback"])


def test_an_answer_cannot_use_the_names_the_banks_expressions_may(ws: Path):
    # derived quantities read 'answer', parameters and sqrt(...): a student's answer reads none
    items, _table = check(ws, {"1.1": "answer", "1.3": "16 x n_params_b GB", "6.1": "sqrt(100)",
                               "3.1": "x 5", "5.3": "e"})
    for item_id in ("1.1", "1.3", "6.1", "3.1", "5.3"):
        assert items[item_id]["status"] == "error", (item_id, items[item_id])


def test_working_after_a_unit_is_set_aside(ws: Path):
    # '#' after a unit, and '(...)' after '%', were read as part of the unit ("unknown unit '#'")
    items, table = check(ws, {"1.3": "112 GB # 16 bytes x 7B", "6.1": "3.15e23 FLOPs # 6ND",
                              "5.3": "27.3% (rounded)", "1.1": "34.36 gigaflops #2*1024*4096*4096"})
    for item_id, answer, working in (("1.3", "112 GB", "16 bytes x 7B"), ("6.1", "3.15e23 FLOPs", "6ND"),
                                     ("5.3", "27.3 %", "rounded"),
                                     ("1.1", "34.36 gigaflops", "2*1024*4096*4096")):
        feedback = str(items[item_id]["feedback"])
        assert items[item_id]["status"] == "correct", (item_id, feedback)
        assert f"Your working '{working}' was set aside and only {answer} was read" in feedback
    assert "unknown unit" not in table and table.count("was set aside") == 4


def test_a_number_beyond_what_can_be_computed_says_so(ws: Path):
    # 10^300 YFLOP is 10^318 MFLOPs: beyond a float, it printed 'Not correct: inf MFLOPs'
    items, table = check(ws, {"1.1": "1e300 YFLOP", "3.1": "611e300"})
    assert items["1.1"]["status"] == "error", items["1.1"]
    assert "too large" in str(items["1.1"]["feedback"])
    # 6.11 x 10^302 billion params is a float: it is compared, not lost on the way (10^302 x 10^9)
    assert items["3.1"]["status"] == "incorrect"
    assert "6.11e+302 billion params" in str(items["3.1"]["feedback"])
    assert " inf " not in table and "inf MFLOPs" not in table


def test_control_characters_in_an_answer_do_not_reach_the_terminal(ws: Path):
    # A TA who runs 'grade check' on a student's folder must not get that student's escape sequences
    # (clear the screen, set the title, rewrite the line above) from the answers echoed back
    escapes = r"\e[2J\e]0;pwned\a\e[1A\x9b2K"  # YAML's escapes in a double-quoted string
    write_answers(ws, {"1.1": f'"34360 ({escapes})"', "1.3": f'"{escapes}112"'}, raw=True)
    (ws / "answers.yaml").write_text((ws / "answers.yaml").read_text("utf-8")
                                     + f'"9.9{escapes}": 5\n', "utf-8")
    table = grade("check", ws)
    assert table.exit_code == 0, table.output
    assert "was set aside" in table.output and "Could not read" in table.output
    assert not any(c in table.output for c in "\x1b\x07\x9b"), repr(table.output)


def test_validate_reads_a_long_list_of_numbers_in_linear_time(bank):
    # the literal-number check backtracked cubically on digits and commas before a '^':
    # a 20,000-character prompt would hold 'grade validate' for about an hour
    item = bank.items["1.1"]
    long = replace(item, prompt=item.prompt + " " + "1," * 1500 + "^2")
    varied = Varied()
    varied.see({"m": 1024.0}, {})
    varied.see({"m": 2048.0}, {})
    started = time.perf_counter()
    default_number_problems(long, varied)
    assert time.perf_counter() - started < 2.0


def test_the_first_answer_indented_is_reported_at_its_own_line(ws: Path):
    # with every id above it in comments, an indented first id set the file's indentation: YAML
    # failed at the next id, lines later ("did not find expected <document start>"), and the
    # advice was about quoting ': '
    path = ws / "answers.yaml"
    text = path.read_text("utf-8")
    first = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith('"1.1":'))
    path.write_text(re.sub(r'^"1\.1":.*$', '  "1.1": 34360', text, count=1, flags=re.M), "utf-8")
    result = grade("check", ws)
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert (f"answers.yaml line {first}, column 3 is not valid YAML: this line is indented (2 spaces) "
            "but the lines below it are not") in said, said
    assert "Put quotes" not in said


def test_a_close_answer_to_a_wide_absolute_tolerance_is_not_asked_for_the_exact_value(
        bank_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # 'within ±10' wanted 'the exact value' (a negative number of decimal places)
    chapter = bank_copy / "ch03_mixture_of_experts.yaml"
    text = chapter.read_text("utf-8")
    assert text.count("tolerance: {absolute: 1}") == 1
    chapter.write_text(text.replace("tolerance: {absolute: 1}", "tolerance: {absolute: 10}"), "utf-8")
    monkeypatch.setenv("GRADE_BANK", str(bank_copy))
    monkeypatch.setenv("COLUMNS", "1000")
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "3.3").exit_code == 0
    key = json.loads(grade("key", "--json").output)["3.3"]["answer"]
    items, table = check(ws, {"3.3": str(round(key * 1.04))})
    feedback = str(items["3.3"]["feedback"])
    assert "Close, but outside the tolerance (checked within ±10)" in feedback, feedback
    assert "The question wants the nearest 10;" in feedback and "exact value" not in table
