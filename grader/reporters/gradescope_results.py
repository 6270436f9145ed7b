"""gradescope/<student>/results.json: each student's Gradescope autograder results, one test per
item (``grade gradescope-grade`` writes the same for the one student it grades)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from grader.reporters import Reporter, StudentResult, reporter
from grader.reporters.feedback import score_lines


@reporter("gradescope/")
class GradescopeResults(Reporter):
    """Each student's file, written as the student passes."""

    per_student = True

    def add(self, s: StudentResult) -> None:
        self.out.write(f"gradescope/{s.student}/results.json", dump(gradescope_results(s, self.titles)))

    def start(self) -> None:
        self.titles = self.info.titles


_FLAT = json.JSONEncoder(ensure_ascii=False, separators=(",\n      ", ": "))  # a test's keys, one a line
_VALUE = json.JSONEncoder(ensure_ascii=False)


def dump(results: dict[str, Any]) -> str:
    """A ``gradescope_results`` document as ``json.dumps(results, indent=2, ensure_ascii=False)``
    and a newline write it, byte for byte (a test compares them), twice as fast: its tests,
    flat objects of text and numbers, go through the C encoder in one call, with a test's line
    breaks and indentation as the separators (a line break inside a JSON string is always
    escaped, so no separator is mistaken for text)."""
    lines = []
    for key, value in results.items():
        if key == "tests" and value:
            body = _FLAT.encode(value)[2:-2].replace("},\n      {", "\n    },\n    {\n      ")
            text = "[\n    {\n      " + body + "\n    }\n  ]"
        else:
            text = _VALUE.encode(value)
        lines.append(f"  {_VALUE.encode(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


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
    if student.late is not None:  # the score's sentences: what the late policy took off
        out["output"] = "\n".join(score_lines(student))
    elif student.error:
        out["output"] = f"Your submission could not be graded: {student.error}"
    return out
