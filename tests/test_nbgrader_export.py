"""`grade export nbgrader` checked by the real nbgrader: generate_assignment accepts the
notebooks, the release hides solutions and hidden tests, and autograde gives a blank
submission 0, the reference answers full marks and a partly wrong one partial credit."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.core.paths import COURSE_ROOT
from grader.model.mutants import mutant_source
from tests.workspace_helpers import grade

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader]  # runs the real nbgrader

SPEC = """\
name: ps1
title: Problem set 1
due: 2026-12-01T23:59:00Z  # a time and a zone: the late policy is applied
late_policy: {penalty_per_day: 0.2}
explain: {points: 1}
items:
  - "0.1"
  - "0.4"
  - {id: "0.6", points: 2}
  - "2.5"
  - {id: "1.4", points: 2}
  - {id: "3.5", points: 3}
"""


def nbgrader(course: Path, *args: str) -> None:
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def cells_by_id(path: Path) -> dict[str, dict]:
    """Cells by grade id, each source as one string (nbgrader writes lists of lines)."""
    cells = json.loads(path.read_text())["cells"]
    return {c["metadata"]["nbgrader"]["grade_id"]: {**c, "source": "".join(c["source"])} for c in cells}


def submit(course: Path, student: str, answers: dict[str, str]) -> None:
    """Copy the released notebooks into submitted/STUDENT and set the given answer cells."""
    folder = course / "submitted" / student / "ps1"
    shutil.copytree(course / "release/ps1", folder)
    for path in folder.glob("*.ipynb"):
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell["source"] = answers[grade_id]
        path.write_text(json.dumps(notebook))


def reference_answers(course: Path) -> dict[str, str]:
    """Each code solution cell of the source notebooks, without the solution markers."""
    out = {}
    for path in (course / "source/ps1").glob("*.ipynb"):
        for grade_id, cell in cells_by_id(path).items():
            if cell["metadata"]["nbgrader"]["solution"] and cell["cell_type"] == "code":
                out[grade_id] = "\n".join(line for line in cell["source"].splitlines()
                                          if not line.startswith("### "))
    return out


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nbgrader")
    (root / "spec.yaml").write_text(SPEC)
    course = root / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "lm"\n')
    result = grade("export", "nbgrader", root / "spec.yaml", "--out", course / "source/ps1")
    assert result.exit_code == 0, result.output
    nbgrader(course, "generate_assignment", "ps1", "--force")
    reference = reference_answers(course)
    submit(course, "blank", {})
    submit(course, "ref", reference)
    partly = dict(reference)
    partly["q0_1_answer"] = "answer_0_1 = 32000  # forgot the base alphabet"
    partly["q0_6_answer"] = mutant_source(COURSE_ROOT, "solutions/code/mutants/count_pairs.yaml",
                                          "solutions/code/count_pairs.py", "skips_overlaps")
    partly["q1_4_answer"] = 'answer_1_4 = "12 apples"'
    submit(course, "partly", partly)
    nbgrader(course, "autograde", "ps1")
    return course


def scores(course: Path, student: str) -> dict[str, tuple[float | None, float]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission("ps1", student)
        return {g.name: (g.auto_score, g.max_score) for nb in submission.notebooks for g in nb.grades}


def test_source_notebooks_are_valid_and_carry_nbgrader_metadata(course):
    paths = sorted((course / "source/ps1").glob("*.ipynb"))
    assert [p.name for p in paths] == ["ch00_tokenization_bpe.ipynb", "ch01_resource_accounting.ipynb",
                                       "ch02_architecture_details.ipynb", "ch03_mixture_of_experts.ipynb"]
    for path in paths:
        nbformat.validate(nbformat.read(path, as_version=4))
    cells = cells_by_id(paths[0])
    assert cells["q0_1_prompt"]["metadata"]["nbgrader"]["locked"] is True
    assert cells["q0_1_answer"]["metadata"]["nbgrader"]["solution"] is True
    tests = cells["q0_6_tests"]["metadata"]["nbgrader"]
    assert tests["grade"] is True and tests["points"] == 2 and tests["locked"] is True
    explain = cells["q0_6_explain"]["metadata"]["nbgrader"]
    assert explain["grade"] and explain["solution"] and explain["points"] == 1  # graded by hand
    assert "### BEGIN HIDDEN TESTS" in cells["q0_1_tests"]["source"]
    assert "Due:** 2026-12-01" in cells["ch0_header"]["source"]


def test_released_notebooks_hold_no_solutions_or_hidden_tests(course):
    reference = {gid: src.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
                 for path in (course / "source/ps1").glob("*.ipynb")
                 for gid, cell in cells_by_id(path).items()
                 for src in [cell["source"]] if "### BEGIN SOLUTION" in src}
    given = {line for p in (COURSE_ROOT / "student_templates").rglob("*.py")
             for line in p.read_text().splitlines()}
    for path in (course / "release/ps1").glob("*.ipynb"):
        text = "\n".join(c["source"] for c in cells_by_id(path).values())
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
        assert "score(" not in text and 'suite=\\"hidden\\"' not in text
        for grade_id, cell in cells_by_id(path).items():
            if grade_id in reference:
                markdown = cell["cell_type"] == "markdown"
                stub = "YOUR ANSWER HERE" if markdown else "raise NotImplementedError()"
                assert stub in cell["source"], grade_id
                solution_lines = {line for line in reference[grade_id].splitlines() if len(line) > 12}
                assert not (solution_lines - given) & set(text.splitlines()), grade_id
    release = cells_by_id(course / "release/ps1/ch00_tokenization_bpe.ipynb")
    assert "32256" not in release["q0_1_answer"]["source"]  # the answer to 0.1


def test_blank_submission_autogrades_to_zero(course):
    assert all(auto == 0 for auto, _max in scores(course, "blank").values())


def test_reference_answers_autograde_to_full_marks(course):
    got = scores(course, "ref")
    auto = {name: s for name, s in got.items() if not name.endswith("_explain")}
    assert auto and all(score == maximum for score, maximum in auto.values()), auto
    assert sum(m for _s, m in got.values()) == 1 + 1 + 2 + 1 + 2 + 3 + 6  # with six explain cells


def test_wrong_answers_lose_points_and_a_buggy_function_gets_partial_credit(course):
    got = scores(course, "partly")
    assert got["q0_1_tests"] == (0, 1) and got["q1_4_tests"] == (0, 2)
    assert 0 < got["q0_6_tests"][0] < 2
    assert got["q0_4_tests"] == (1, 1) and got["q3_5_tests"] == (3, 3)


def test_an_export_outside_a_source_folder_is_warned_about(tmp_path: Path):
    """nbgrader finds assignments in COURSE/source/<name>/ only."""
    (tmp_path / "ps1.yaml").write_text("name: ps1\ntitle: PS1\nmode: practice\nitems: ['1.1']\n")
    result = grade("export", "nbgrader", tmp_path / "ps1.yaml", "--out", tmp_path / "nb")
    assert result.exit_code == 0 and "is not in a folder named source" in result.output, result.output
    ok = grade("export", "nbgrader", tmp_path / "ps1.yaml", "--out", tmp_path / "course/source/ps1")
    assert ok.exit_code == 0 and "warning" not in ok.output, ok.output
