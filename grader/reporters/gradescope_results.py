"""gradescope/<student>/results.json: each student's Gradescope autograder results, one test per
item (``grade gradescope-grade`` writes the same for the one student it grades)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from grader.reporters import ClassResults, StudentResult, reporter


@reporter("gradescope/")
def render(results: ClassResults) -> dict[str, str]:
    return {f"gradescope/{s.student}/results.json": dump(gradescope_results(s, results.titles))
            for s in results.students}


def dump(results: dict[str, Any]) -> str:
    return json.dumps(results, indent=2, ensure_ascii=False) + "\n"


def gradescope_results(student: StudentResult | Mapping[str, Any], titles: Mapping[str, str] | None = None,
                       visibility: str = "visible") -> dict[str, Any]:
    """One student's results.json: score, max_score and one test per item (named by id and,
    given ``titles``, title), its status the Status's Gradescope status. ``student``: the
    typed result, or its document (what ``grade gradescope-grade`` has)."""
    if not isinstance(student, StudentResult):
        student = StudentResult.from_json(student)
    tests = []
    for number, (item_id, item) in enumerate(student.items.items(), 1):
        name = f"{item_id} {titles[item_id]}" if titles and item_id in titles else item_id
        tests.append({"name": name, "number": str(number), "score": item.score,
                      "max_score": item.max_score, "status": item.status.gradescope,
                      "output": f"{item.status.label}: {item.feedback}", "visibility": visibility})
    out: dict[str, Any] = {"score": student.total, "max_score": student.max_total, "tests": tests,
                           "visibility": visibility, "stdout_visibility": "hidden"}
    if student.error:
        out["output"] = f"Your submission could not be graded: {student.error}"
    return out
