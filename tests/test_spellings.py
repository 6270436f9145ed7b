"""Spellings people really type (issue 18, item 3): every realistic spelling of a right answer in
tests/spellings.py is read and graded correct, by the rule and through 'grade check' as a student
writes it in answers.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.items.instance import numeric_key
from grader.model.bank import Bank
from grader.responses.quantity import parse_quantity
from grader.rules.numeric import grade_numeric
from tests.spellings import SPELLINGS
from tests.workspace_helpers import grade, write_answers

ROWS = [(kind, item_id, text) for kind, rows in SPELLINGS.items() for item_id, text in rows]


def test_the_sample_is_many_spellings_of_every_class():
    assert len(SPELLINGS) == 6 and all(len(rows) >= 10 for rows in SPELLINGS.values())
    assert len({text for _kind, _item, text in ROWS}) == len(ROWS)


@pytest.mark.parametrize("kind, item_id, text", ROWS)
def test_a_realistic_spelling_of_the_answer_is_correct(bank: Bank, kind: str, item_id: str, text: str):
    item = bank.items[item_id]
    result = grade_numeric(numeric_key(item, item.defaults()), text)
    assert result.status == "correct", (kind, result.feedback)


@pytest.mark.parametrize("text, value, unit", [
    ("≈ 34360", 34360, ""), ("~34,360 MFLOP", 34360, "MFLOP"), ("about 1e3", 1000, ""),
    ("approx. 2^10", 1024, ""), ("∼ -1.5", -1.5, ""), ("≈$256", 256, "USD"),
    ("10⁹", 1e9, ""), ("3.44·10¹⁰ FLOPs", 3.44e10, "FLOPs"), ("2⁻³", 0.125, ""), ("10⁻⁹", 1e-9, ""),
    ("(1+2)²", 9, ""), ("2^3²", 512, ""), ("3 ⋅ 4", 12, ""), ("3∙4", 12, ""),
])
def test_signs_superscripts_and_dots_read_as_numbers(text: str, value: float, unit: str):
    read = parse_quantity(text)
    assert read.value == pytest.approx(value) and read.unit_text == unit and not read.working


@pytest.mark.parametrize("text, message", [
    ("≈", "no number after the sign of approximation"), ("about", "expected a number"),
    ("¹⁰", "use the digits 0-9"), ("2²³⁴⁵", "exponent is too large"),
    ("aboutface 3", "expected a number"), ("≈ sqrt(2)", "function calls are not allowed"),
])
def test_half_spellings_still_say_what_is_wrong(text: str, message: str):
    with pytest.raises(ValueError) as info:
        parse_quantity(text)
    assert message in str(info.value)


def _rounds(rows: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The rows as answer sheets, each item at most once per sheet."""
    sheets: list[dict[str, str]] = []
    for item_id, text in rows:
        sheet = next((s for s in sheets if item_id not in s), None)
        if sheet is None:
            sheets.append(sheet := {})
        sheet[item_id] = text
    return sheets


@pytest.mark.parametrize("kind", list(SPELLINGS))
def test_every_spelling_class_is_correct_through_grade_check(tmp_path: Path, kind: str, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # one table row per feedback line
    rows = SPELLINGS[kind]
    ws = tmp_path / "ws"
    init = grade("init", ws, "--items", ",".join(sorted({item_id for item_id, _ in rows})))
    assert init.exit_code == 0, init.output
    for sheet in _rounds(rows):
        write_answers(ws, sheet, raw=True)  # unquoted, as a student types it
        result = grade("check", ws, "--json")
        assert result.exit_code == 0, result.output
        items = json.loads(result.output)["items"]
        wrong = {i: (text, items[i]["feedback"]) for i, text in sheet.items()
                 if items[i]["status"] != "correct"}
        assert not wrong, wrong
        table = grade("check", ws).output
        for item_id in sheet:
            row = next(line for line in table.splitlines() if line.startswith(f"│ {item_id} "))
            assert "✓ correct" in row
