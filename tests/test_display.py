"""What people read: points rounded in every human view and exact in JSON, a graded check's
pending items as "–" instead of a zero, and a YAML mistake reported at the line to fix (in
answers.yaml, grade.yaml and the bank), each through the command that shows it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.results.points import points_text, score_text
from tests.workspace_helpers import check_json, grade, write_answers


@pytest.mark.parametrize("value, of, shown", [
    (0.423077, 1, "0.42"), (0.666667, 1, "0.67"), (1.666667, 5, "1.67"), (2.5, 3, "2.5"), (3.0, 5, "3"),
    (0, 1, "0"), (1, 1, "1"), (0.999, 1, "0.99"), (4.996, 5, "4.99"), (0.001, 1, "0.01"), (0.004, 2, "0.01"),
    (0.004, None, "0"), (0.999, None, "1"),
])
def test_points_are_rounded_for_people_and_never_round_to_full_or_to_zero(value, of, shown):
    assert points_text(value, of) == shown
    if of is not None:
        assert score_text(value, of) == f"{shown}/{points_text(of)}"


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one line per table row


def _row(output: str, item_id: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"│ {item_id} "))


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip("│").split("│")]


def _design_answer_with_partial_credit(ws: Path) -> float:
    """Write 2.5's steps with the first two swapped; the exact score it earns (not round)."""
    write_answers(ws, {"2.5": "DABC"})
    score = check_json(ws, "--item", "2.5")["items"]["2.5"]["score"]
    assert 0 < score < 1 and round(score, 2) != score, score
    return score


# -- practice ------------------------------------------------------------------------------------
def test_the_practice_table_rounds_partial_credit_and_json_keeps_it_exact(tmp_path: Path, wide):
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "2.5,2.1").exit_code == 0
    score = _design_answer_with_partial_credit(ws)
    shown = points_text(score, 1)
    out = grade("check", ws).output
    assert _cells(_row(out, "2.5"))[2] == f"{shown}/1"
    assert f"{shown}/2" in out  # the chapter's row
    assert f"Total {shown} / 2  (1 partial, 1 unanswered)" in out
    assert str(score) not in out and f"{score:g}" not in out
    doc = check_json(ws)
    assert doc["items"]["2.5"]["score"] == score and doc["total"] == score  # exact in JSON


# -- graded --------------------------------------------------------------------------------------
SPEC = """\
name: ps1
title: Problem set 1
mode: graded
due: 2026-12-01
items:
  - "1.1"
  - "1.5"
  - {id: "2.5", points: 2}
"""


@pytest.fixture
def graded_ws(tmp_path: Path) -> Path:
    (tmp_path / "spec.yaml").write_text(SPEC)
    result = grade("assign", tmp_path / "spec.yaml", "--out", tmp_path / "release")
    assert result.exit_code == 0, result.output
    return tmp_path / "release/shared"


def test_a_graded_check_shows_pending_items_as_a_dash_and_no_total_of_zero(graded_ws: Path, wide):
    write_answers(graded_ws, {"1.1": "17180", "2.5": "ABZ"})  # readable; an unknown step; 1.5 empty
    out = grade("check", graded_ws).output
    assert _cells(_row(out, "1.1"))[1:3] == ["… pending", "–/1"]
    assert _cells(_row(out, "1.5"))[1:3] == ["· unanswered", "0/1"]  # what it scores as it is
    assert _cells(_row(out, "2.5"))[1:3] == ["! error", "0/2"]
    assert "–/2" in out and "0/2" in out  # chapter 1 waits for grading; chapter 2 scores 0 as it is
    assert "Total – / 4: graded after you submit (due 2026-12-01)  (1 unanswered, 1 error, 1 pending)" in out
    assert "Total 0" not in out
    assert ("Graded workspace: answers were checked for format only. Readable now: 1 of 3 items, worth "
            "1 of 4 points. An item with an error or no answer scores 0 if you submit it as it is.") in out
    doc = check_json(graded_ws)  # JSON keeps the numbers: nothing is earned before grading
    assert doc["total"] == 0 and doc["max_total"] == 4
    assert {k: doc["items"]["1.1"][k] for k in ("status", "score", "max_score")} == {
        "status": "pending", "score": 0.0, "max_score": 1.0}
    progress = grade("progress", graded_ws).output  # what is known before grading: readable answers
    header = next(line for line in progress.splitlines() if "chapter" in line)
    assert "readable" in header and "answered" not in header and "mastered" not in header
    assert _cells(_row(progress, "1"))[2] == "1/2" and "Answered 1/3." in progress


def test_a_graded_check_with_everything_readable_says_so(graded_ws: Path, wide):
    write_answers(graded_ws, {"1.1": "17180", "1.5": "A", "2.5": "ABCD"})
    out = grade("check", graded_ws).output
    assert "Total – / 4: graded after you submit" in out and "–/2" in out
    assert "Readable now: 3 of 3 items, worth 4 of 4 points." in out and "scores 0" not in out


# -- class outputs -------------------------------------------------------------------------------
def test_batch_summary_gradescope_line_and_report_md_round_the_scores(tmp_path: Path, graded_ws: Path):
    ann = tmp_path / "subs/ann"
    ann.parent.mkdir()
    graded_ws.rename(ann)
    write_answers(ann, {"2.5": "DABC"})  # the first two steps swapped: part of its 2 points
    result = grade("batch", tmp_path / "subs", "--out", tmp_path / "out",
                   "--assignment", tmp_path / "spec.yaml")
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out/results/ann.json").read_text())
    score = doc["items"]["2.5"]["score"]
    assert 0 < score < 2 and round(score, 2) != score and doc["total"] == score  # exact in the results
    shown = points_text(score, 4)
    assert f"mean score {shown};" in result.output
    report = (tmp_path / "out/report.md").read_text()
    assert f"Mean total of graded students: {shown} / 4." in report
    assert f"| 2.5 | {points_text(score, 2)} | 0% |" in report

    metadata = tmp_path / "submission_metadata.json"
    metadata.write_text(json.dumps({"users": [{"sid": "ann"}]}))
    result = grade("gradescope-grade", tmp_path / "spec.yaml", "--submission", ann, "--metadata", metadata,
                   "--out", tmp_path / "results.json")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(f"score {shown} of 4")
    assert json.loads((tmp_path / "results.json").read_text())["score"] == score


def test_the_notebook_check_prints_rounded_points(capsys):
    from grader.integrations.notebook import score

    earned = score("2.5", "DABC", points=2)
    assert 0 < earned < 2 and round(earned, 2) != earned
    assert capsys.readouterr().out.startswith(f"2.5: partial, {points_text(earned, 2)}/2 points. ")


# -- grade show --solution ------------------------------------------------------------------------
def _answer_lines(item_id: str) -> list[str]:
    result = grade("show", item_id, "--solution")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("Answer: "))
    end = next(n for n, line in enumerate(lines) if line.startswith("Hint 1: "))
    return lines[start:end]


@pytest.mark.parametrize("item_id, shown", [
    ("1.1", ["Answer: 34,360 MFLOPs"]),  # the unit as people write it, the number grouped
    ("1.2", ["Answer: 20.3"]),  # "give x to one decimal place"
    ("2.4", ["Answer: 536.9 MB", "  Also accepted: 512 MiB (binary reading)"]),
    ("6.1", ["Answer: 3.15 x 10^23 FLOPs"]),
    ("8.5", ["Answer: 0.000"]),  # "round to three decimal places": 6.46 x 10^-9 is 0.000
])
def test_show_solution_writes_a_derive_answer_as_people_do(item_id, shown):
    assert _answer_lines(item_id) == shown


@pytest.mark.parametrize("value, tolerance, shown", [
    (6.45512692225e-09, {"relative": 0.01}, "6.455 x 10^-9"), (2.5e7, {"relative": 0.01}, "2.5 x 10^7"),
    (171153.846154, {"relative": 0.01}, "171,154"), (0.176408982732, {"decimals": 3}, "0.176"),
    (4.0, {"relative": 0.01}, "4"), (20.3070679507, {"sig_figs": 3}, "20.3"),
    (1.0000049, {"relative": 1e-6}, "1.000005"),  # more figures when the tolerance needs them
])
def test_a_reference_number_is_written_with_the_figures_people_use(value, tolerance, shown):
    from grader.items.written_number import written_number
    from grader.rules.tolerance import Tolerance

    assert written_number(value, Tolerance.from_spec(tolerance)) == shown


def test_show_solution_writes_a_trace_answer_as_its_letter_and_text(bank):
    lines = _answer_lines("3.4")
    card = json.loads(grade("show", "3.4", "--solution", "--json").output)
    text = {o["id"]: o["text"] for o in card["options"]}
    assert lines == [f"Answer: {card['answer']['answer']}",
                     f"  {card['answer']['answer']}. {text[card['answer']['answer']]}"]
    assert card["answer_text"] == [line.removeprefix("Answer: ").strip() for line in lines]


def test_show_solution_writes_a_design_answer_as_letters_then_the_steps_in_order():
    card = json.loads(grade("show", "2.5", "--solution", "--json").output)
    order, text = card["answer"]["answer"], {o["id"]: o["text"] for o in card["options"]}
    assert _answer_lines("2.5") == [f"Answer: {' '.join(order)}",
                                    *(f"  {n}. {label}. {text[label]}" for n, label in enumerate(order, 1))]
    assert "RMSNorm" in text[order[0]] and "FFN" in text[order[-1]]  # Pre-Norm: norm first, FFN last


def test_every_answer_show_solution_gives_is_marked_right_when_written(tmp_path: Path, bank):
    """The shown answer is what a student may copy: written into answers.yaml, it is correct."""
    ws = tmp_path / "ws"
    answered = [i for i, item in bank.items.items() if item.type in ("derive", "trace", "design")]
    assert grade("init", ws, "--items", ",".join(answered)).exit_code == 0
    cards = {i: json.loads(grade("show", i, "--solution", "--json").output) for i in answered}
    for card in cards.values():
        assert "{" not in card["answer_text"][0] and "e+" not in card["answer_text"][0], card["answer_text"]
    write_answers(ws, {i: card["answer_text"][0] for i, card in cards.items()})
    doc = check_json(ws)
    wrong = {i: e for i, e in doc["items"].items() if e["status"] != "correct"}
    assert wrong == {}


# -- YAML mistakes -------------------------------------------------------------------------------
def _line(text: str, item_id: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(f'"{item_id}":'))


def _replace_line(ws: Path, item_id: str, new: str) -> None:
    path = ws / "answers.yaml"
    text = path.read_text("utf-8")
    path.write_text(re.sub(rf'^"{re.escape(item_id)}":.*$', lambda _m: new, text, flags=re.M), "utf-8")


# (what the student did, the line written for 1.2 or 1.3, the item whose line is at fault, its
# column, what the message says)
MISTAKES = [
    ("a quote left open", '"1.2": "20.3', "1.2", 8,
     'the quote " opened here is not closed on this line, so YAML read on to line {1.3}'),
    ("a single quote left open", "\"1.2\": '20.3", "1.2", 8,
     "the quote ' opened here is not closed on this line, so YAML read on to the end of the file"),
    ("a list left open", '"1.2": [20.3', "1.2", 8, "the bracket [ opened here is not closed on this line"),
    ("an id indented", '  "1.3": 112 GB', "1.3", 3, "this line's indentation (2 spaces) does not line up "
                                                      "with the lines above it"),
    ("a tab before an id", '\t"1.3": 112 GB', "1.3", 1, "a tab character here breaks the indentation: "
                                                         "indent with spaces, not tabs"),
    ("a colon in an unquoted answer", '"1.2": x: 20.3', "1.2", 9,
     "mapping values are not allowed in this context. Put quotes around the whole answer when it "
     "contains ': '"),
    ("a unit after the closing quote", '"1.3": "112" GB', "1.3", 14,
     "text after a closing quote: put the whole value inside the quotes"),
]


@pytest.mark.parametrize("mistake, written, at, column, says", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_yaml_mistake_in_answers_yaml_is_reported_at_its_line(tmp_path: Path, mistake, written, at,
                                                               column, says):
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "1.1,1.2,1.3").exit_code == 0
    write_answers(ws, {"1.1": "34360", "1.2": "20.3"})
    text = (ws / "answers.yaml").read_text("utf-8")
    lines = {i: _line(text, i) for i in ("1.2", "1.3")}
    _replace_line(ws, at, written)
    result = grade("check", ws)
    assert result.exit_code == 2
    expected = (f"answers.yaml line {lines[at]}, column {column} is not valid YAML: "
                + says.replace("{1.3}", str(lines["1.3"])))
    assert expected in " ".join(result.output.split()), result.output
    error = json.loads(grade("check", ws, "--json").stdout)["error"]
    assert error.startswith(f"answers.yaml line {lines[at]}, column {column} ")


def test_an_answer_given_twice_is_graded_once_and_both_lines_are_named(tmp_path: Path):
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "1.1,1.2").exit_code == 0
    write_answers(ws, {"1.2": "20.3"})
    path = ws / "answers.yaml"
    path.write_text(path.read_text("utf-8") + '"1.2": 20.4\n', "utf-8")
    lines = [n for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if line.startswith('"1.2":')]
    result = grade("check", ws)
    assert result.exit_code == 0
    assert (f"warning: answers.yaml gives 1.2 more than once (lines {lines[0]}, {lines[1]}); the last one "
            "is graded") in " ".join(result.output.split())


def test_a_yaml_mistake_in_grade_yaml_is_reported_at_its_line(tmp_path: Path):
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "1.1,1.2").exit_code == 0
    path = ws / "grade.yaml"
    text = path.read_text("utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("title: "))
    path.write_text(text.replace("title: ", "title: '", 1), "utf-8")  # closed by the quote of '1.1'
    result = grade("check", ws)
    assert result.exit_code == 2
    assert (f"grade.yaml line {line}, column 8 is not valid YAML: the quote ' opened here is not closed on "
            "this line") in " ".join(result.output.split())


@pytest.mark.parametrize("old, new, says", [
    ("    title: Parameters saved per layer by RMSNorm", '    title: "Parameters saved per layer by RMSNorm',
     'column 12: the quote " opened here is not closed on this line, so YAML read on to line'),
    ("    title: Parameters saved per layer by RMSNorm", "      title: Parameters saved per layer by RMSNorm",
     "column 7: this line is indented more than the line above it"),
    ("    title: Parameters saved per layer by RMSNorm", "    title: RMSNorm: parameters saved per layer",
     "column 19: mapping values are not allowed in this context"),
])
def test_a_yaml_mistake_in_the_bank_is_reported_at_its_line(bank_copy: Path, old, new, says):
    chapter = bank_copy / "ch02_architecture.yaml"
    text = chapter.read_text("utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row == old)
    chapter.write_text(text.replace(old, new, 1), "utf-8")
    result = CliRunner().invoke(main, ["validate", "--bank", str(bank_copy), "--samples", "1"])
    assert result.exit_code != 0
    assert f"ch02_architecture.yaml: invalid YAML: line {line}, {says}" in result.output, result.output
