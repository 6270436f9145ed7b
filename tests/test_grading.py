"""One grading pipeline: grade check (practice and graded), grade batch (and through it the
Gradescope autograder) and the notebook checks all grade through grader.grading.pipeline.grade_entries;
files go to the runner each caller supplies, answers to their rule, and one item's failure is
that item's error."""

from __future__ import annotations

import ast

import pytest

from grader.grading import pipeline as grading
from grader.items.instance import key_entry
from grader.results.result import Result
from grader.workspace.manifest import manifest_item
from tests.workspace_helpers import CHECKOUT

SURFACES = ("grader/grading/check.py", "grader/batch/run.py", "grader/integrations/notebook.py")


def _calls(path: str) -> set[str]:
    tree = ast.parse((CHECKOUT / path).read_text("utf-8"))
    return {n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
            for n in ast.walk(tree) if isinstance(n, ast.Call)}


@pytest.mark.parametrize("path", SURFACES)
def test_every_surface_grades_through_the_pipeline(path: str):
    calls = _calls(path)
    assert "grade_entries" in calls, path
    assert not calls & {"grade_response", "grade_practice"}, path  # no loop of its own


def test_only_the_pipeline_calls_an_items_rule():
    callers = [p.relative_to(CHECKOUT).as_posix() for p in (CHECKOUT / "grader").rglob("*.py")
               if "grade_response" in _calls(p.relative_to(CHECKOUT).as_posix())]
    assert callers == ["grader/grading/pipeline.py"]


def test_files_go_to_the_runner_and_answers_to_their_rule(bank):
    entries = [manifest_item(bank.items["1.1"]), manifest_item(bank.items["0.6"]),
               manifest_item(bank.items["2.5"])]
    asked: list[str] = []

    def runner(code):
        asked.extend(e.id for e in code)
        return {e.id: Result("correct", 1.0, ("Correct.",)) for e in code}

    answers = {"1.1": "34359.74", "2.5": key_entry(bank.items["2.5"])["answer"]}
    practice = {e.id: r for e, r in grading.grade_entries(entries, answers, bank, runner)}
    assert asked == ["0.6"] and {i: r.status for i, r in practice.items()} == \
        {"1.1": "correct", "0.6": "correct", "2.5": "correct"}
    graded = {e.id: r for e, r in grading.grade_entries(entries, answers, bank, runner, graded=True)}
    assert {r.status for r in graded.values()} == {"pending"}
    assert not any("Correct" in " ".join(r.feedback) for r in graded.values())  # nothing said early


def test_a_grader_bug_on_one_item_is_that_items_error(bank, monkeypatch):
    entries = [manifest_item(bank.items["1.1"]), manifest_item(bank.items["1.2"])]

    def broken(item, response, params=None):
        if item.id == "1.1":
            raise RuntimeError("a bug")
        return Result("correct", 1.0, ())

    monkeypatch.setattr(grading, "grade_response", broken)
    results = grading.grade_entries(entries, {"1.1": "1", "1.2": "1"}, bank, lambda code: {})
    statuses = {e.id: r.status for e, r in results}
    assert statuses == {"1.1": "error", "1.2": "correct"}


def test_a_code_item_has_no_answer_to_check_and_says_where_the_code_goes(bank):
    entry = manifest_item(bank.items["0.6"])
    result = grading.check_format(entry, "1")
    assert result.status == "error" and "count_pairs/count_pairs.py" in result.feedback[0], result
    assert "check_code" not in result.feedback[0]  # a function that no longer exists
