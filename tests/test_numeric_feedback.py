"""Feedback for near misses and readings (issue 18, item 4), as a student gets it from 'grade check':
the terminal table and --json. Every answer here is written into answers.yaml as a student types it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.results.status import Status
from grader.workspace.progress import load_progress
from tests.workspace_helpers import grade, wide_workspace, write_answers

ITEMS = "1.1,1.3,1.6,6.1,9.6"


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return wide_workspace(tmp_path, monkeypatch, ITEMS)


def check(ws: Path, answers: dict[str, str]) -> tuple[dict[str, dict[str, object]], dict[str, str]]:
    """Write ``answers`` unquoted, then (the --json items, each item's table text)."""
    write_answers(ws, answers, raw=True)
    as_json = grade("check", ws, "--json")
    assert as_json.exit_code == 0, as_json.output
    table = grade("check", ws)
    assert table.exit_code == 0, table.output
    rows: dict[str, str] = {}
    current = None
    for line in table.output.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) < 5:
            continue
        current = cells[1] or current
        if current:
            rows[current] = (rows.get(current, "") + " " + " ".join(cells[2:])).strip()
    return json.loads(as_json.output)["items"], rows


def test_a_near_miss_is_close_and_says_the_precision_wanted(ws: Path):
    items, rows = check(ws, {"1.1": "3.4e10 FLOPs", "6.1": "3.2", "9.6": "331M"})
    for item_id, wanted, rule in (("1.1", "at least 3 significant figures", "within 1%"),
                                  ("6.1", "2 decimal places", "to 2 decimal places"),
                                  ("9.6", "at least 3 significant figures", "within 1%")):
        feedback = str(items[item_id]["feedback"])
        assert items[item_id]["status"] == "incorrect"
        assert f"Close, but outside the tolerance (checked {rule})" in feedback
        assert f"The question wants {wanted}" in feedback
        assert "Close, but outside the tolerance" in rows[item_id] and wanted in rows[item_id]
        assert "Not correct" not in feedback


def test_a_bare_number_says_how_it_was_read(ws: Path):
    items, rows = check(ws, {"1.6": "6e10", "6.1": "3.15e23", "1.1": "3.436e10"})
    expected = {"1.6": ("10^9", "6e10 was read as 6e10 billion tokens"),
                "6.1": ("10^23", "3.15e23 was read as 3.15e23 x 10^23 FLOPs"),
                "1.1": ("10^6", "3.436e10 was read as 3.436e10 MFLOPs")}
    for item_id, (factor, reading) in expected.items():
        feedback = str(items[item_id]["feedback"])
        assert f"off by a factor of {factor}" in feedback
        assert f"A number without a unit is read in the asked unit: {reading}" in feedback
        assert reading in rows[item_id]


def test_a_bare_number_in_the_asked_unit_gets_no_reading_note(ws: Path):
    items, _rows = check(ws, {"1.6": "60", "6.1": "3.15"})
    assert items["1.6"]["feedback"].startswith("Correct.")  # type: ignore[union-attr]
    assert "was read as" not in json.dumps(items)


@pytest.mark.parametrize("answer, read", [
    ("34360 MFLOP (2*1024*4096*4096)", "34360 MFLOP"),
    ("34.36 GFLOPs (2 × 1024 × 4096 × 4096 = 34,359,738,368)", "34.36 GFLOPs"),
    ('"34360 # 2^35 / 10^6"', "34360"),
    ("34360#2*1024*4096*4096", "34360"),
])
def test_working_after_the_answer_is_set_aside_with_advice(ws: Path, answer: str, read: str):
    items, rows = check(ws, {"1.1": answer})
    feedback = str(items["1.1"]["feedback"])
    assert items["1.1"]["status"] == "correct", feedback
    assert f"only {read} was read. Keep working in a YAML comment after the answer" in feedback
    assert "function calls" not in feedback and "Keep working in a YAML comment" in rows["1.1"]


def test_working_in_a_yaml_comment_needs_no_advice(ws: Path):
    items, _rows = check(ws, {"1.1": "34360 MFLOP  # 2*1024*4096*4096"})
    assert items["1.1"]["status"] == "correct"
    assert str(items["1.1"]["feedback"]).startswith("Correct.\nWorked solution")  # no note between


def test_working_alone_is_still_unreadable(ws: Path):
    items, _rows = check(ws, {"1.1": "MFLOP (2*1024*4096*4096)"})
    assert items["1.1"]["status"] == "error"


def test_unknown_units_are_format_errors_that_cost_no_hint(ws: Path):
    items, rows = check(ws, {"1.1": "34360 XFLOPs", "1.3": "112 furlongs", "6.1": "315 ZFLOPs"})
    assert items["1.1"]["status"] == "error" and items["1.3"]["status"] == "error"
    assert "unknown prefix 'X' in 'XFLOPs'" in str(items["1.1"]["feedback"])
    assert "leave it out to answer in MFLOPs" in str(items["1.1"]["feedback"])
    assert "unknown unit 'furlongs'" in str(items["1.3"]["feedback"])
    assert "! error" in rows["1.1"] and "Hint" not in rows["1.1"] + rows["1.3"]
    assert items["6.1"]["status"] == "correct"  # Z (zetta) is an SI prefix: 315 ZFLOPs = 3.15e23
    items, _rows = check(ws, {"1.1": "34360 YYFLOP"})  # another unreadable answer
    assert items["1.1"]["status"] == "error"
    progress, _warning = load_progress(ws / ".grade")
    assert progress.of("1.1").wrong_answers == 0
    items, rows = check(ws, {"1.1": "1"})  # the first wrong answer gets the first hint
    assert "Hint 1/" in str(items["1.1"]["feedback"]) and "Hint 1/" in rows["1.1"]


def test_a_unit_of_another_quantity_is_still_a_wrong_answer(ws: Path):
    items, _rows = check(ws, {"1.1": "34360 GB"})
    assert items["1.1"]["status"] == "incorrect"
    assert "'GB' measures bytes, but the question asks for FLOPs (MFLOPs)" in str(items["1.1"]["feedback"])


def test_the_asked_unit_prints_as_people_write_it(ws: Path):
    items, rows = check(ws, {"6.1": "5", "1.1": "50000"})
    assert "Not correct: 5 x 10^23 FLOPs does not match" in str(items["6.1"]["feedback"])
    assert "Not correct: 50000 MFLOPs does not match" in str(items["1.1"]["feedback"])
    assert "5 x 10^23 FLOPs" in rows["6.1"]
    shown = grade("show", "6.1").output
    assert "Answer with X in X x 10^23 FLOPs (checked to 2 decimal places)" in shown
    template = (ws / "answers.yaml").read_text("utf-8")
    assert "#  Answer with X in X x 10^23 FLOPs (checked to 2 decimal places)." in template
    assert "10^23 FLOPs" in grade("key").output
    everything = json.dumps(items) + shown + template + "".join(rows.values())
    assert "1e23" not in everything


def test_a_graded_format_check_says_how_it_read_the_answer(tmp_path: Path, bank):
    from grader.workspace.folder import write_workspace
    from grader.workspace.manifest import Manifest, manifest_item

    manifest = Manifest(mode="graded", title="A1", items=tuple(manifest_item(bank.items[i])
                                                               for i in ("1.1", "1.6", "6.1")))
    ws = write_workspace(tmp_path / "a1", bank, manifest).root
    items, _rows = check(ws, {"1.1": "34360 MFLOP (2*1024*4096*4096)", "1.6": "6e10", "6.1": "315 XFLOPs"})
    assert items["1.1"]["status"] == items["1.6"]["status"] == Status.PENDING
    assert "Keep working in a YAML comment" in str(items["1.1"]["feedback"])
    assert "6e10 was read as 6e10 billion tokens" in str(items["1.6"]["feedback"])
    assert items["6.1"]["status"] == "error" and "unknown prefix 'X'" in str(items["6.1"]["feedback"])


def test_every_notebook_reference_answer_reads_as_right(bank):
    """The nbgrader solution cell writes the answer with the unit as people write it ('3.15 x 10^23
    FLOPs'; it wrote '3.15 1e23 FLOP', which does not read)."""
    from grader.items import bank_type
    from grader.items.instance import grade_response, key_entry

    derive = bank_type("derive")
    for item in (i for i in bank.items.values() if i.type == "derive"):
        reference, _what = derive.notebook_reference(item, key_entry(item))
        result = grade_response(item, json.loads(reference), {})
        assert result.status == "correct", (item.id, reference, result.feedback)
