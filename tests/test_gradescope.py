"""`grade gradescope-autograder` builds the zip Gradescope expects; its run_autograder,
run the way Gradescope runs it, writes a results.json that follows the spec."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from grader.integrations.distribution import grader_wheel
from grader.integrations.gradescope import FORMAT_TEST
from tests.answer_forms import in_asked_unit
from tests.test_assign import write_spec
from tests.workspace_helpers import CHECKOUT, grade, write_answers

# Gradescope runs autograders on Ubuntu: bash, the sandbox
pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox]

# The required parts of https://gradescope-autograders.readthedocs.io/en/latest/specs/
RESULTS_SCHEMA = {
    "type": "object",
    "anyOf": [{"required": ["score"]}, {"required": ["tests"]}],
    "properties": {
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "output": {"type": "string"},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "tests": {"type": "array", "items": {
            "type": "object",
            "required": ["score", "max_score", "name", "status", "output", "visibility"],
            "properties": {
                "score": {"type": "number"}, "max_score": {"type": "number"},
                "name": {"type": "string"}, "number": {"type": "string"},
                "status": {"enum": ["passed", "failed"]}, "output": {"type": "string"},
                "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
            }}},
    },
}


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The grader's wheel, built once (``--wheel``: the tests of the zip's contents need not
    build it again each time)."""
    return grader_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def autograder(tmp_path: Path, wheel: Path) -> tuple[Path, Path]:
    """(spec, the unzipped autograder as Gradescope lays it out in /autograder)."""
    spec = write_spec(tmp_path / "spec", items=[{"chapter": 1}, "0.6"])
    zip_path = tmp_path / "autograder.zip"
    result = grade("gradescope-autograder", spec, "--out", zip_path, "--wheel", wheel)
    assert result.exit_code == 0, result.output
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # zipfile drops the mode bits; Gradescope keeps them
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, mode)
    (root / "results").mkdir()
    return spec, root


def run_autograder(root: Path, submission: Path, metadata: object) -> dict:
    shutil.copytree(submission, root / "submission")
    (root / "submission_metadata.json").write_text(json.dumps(metadata))
    run = subprocess.run(["bash", str(root / "source/run_autograder")], cwd=root, timeout=300,
                         env={**os.environ, "AUTOGRADER_ROOT": str(root)}, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads((root / "results/results.json").read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    return results


def test_the_zip_has_the_scripts_at_its_root_and_is_deterministic(tmp_path, autograder, wheel):
    spec, root = autograder
    built = [tmp_path / "built.zip", tmp_path / "built-again.zip"]  # the wheel built from the checkout
    for path in built:
        assert grade("gradescope-autograder", spec, "--out", path).exit_code == 0
    assert built[0].read_bytes() == built[1].read_bytes()
    first = tmp_path / "autograder.zip"
    names = zipfile.ZipFile(first).namelist()
    assert names[:5] == ["setup.sh", "run_autograder", "assignment.yaml", "roster.txt", f"dist/{wheel.name}"]
    assert zipfile.ZipFile(first).read(f"dist/{wheel.name}") == wheel.read_bytes()
    assert "course/bank/ch01_resource_accounting.yaml" in names
    assert "course/solutions/hidden_tests/test_count_pairs_hidden.py" in names
    assert not any("__pycache__" in n or n.startswith(("grader/", "tests/", "grader-src/")) for n in names)
    assert os.access(root / "source/run_autograder", os.X_OK) and os.access(root / "source/setup.sh", os.X_OK)
    setup = (root / "source/setup.sh").read_text()
    assert f'pip install "./dist/{wheel.name}"' in setup and "download.pytorch.org" not in setup
    assert 'ROOT="${AUTOGRADER_ROOT:-/autograder}"' in setup and 'python3 -m venv "$ROOT/venv"' in setup


def test_setup_installs_cpu_torch_only_for_items_that_need_it(tmp_path, wheel):
    spec = write_spec(tmp_path / "spec", items=["3.5"])
    assert grade("gradescope-autograder", spec, "--out", tmp_path / "a.zip", "--wheel", wheel).exit_code == 0
    setup = zipfile.ZipFile(tmp_path / "a.zip").read("setup.sh").decode()
    assert "--index-url https://download.pytorch.org/whl/cpu" in setup
    assert f'pip install "./dist/{wheel.name}[code]"' in setup


def test_a_file_that_is_not_the_graders_wheel_is_refused(tmp_path):
    spec = write_spec(tmp_path / "spec", items=["1.1"])
    fake = tmp_path / "grader.whl"
    fake.write_bytes(b"not a zip")
    result = grade("gradescope-autograder", spec, "--out", tmp_path / "a.zip", "--wheel", fake)
    assert result.exit_code == 2 and "is not a wheel" in result.output and not (tmp_path / "a.zip").exists()


def bobs_answered_workspace(tmp_path: Path, spec: Path, bank) -> tuple[Path, dict]:
    """Bob's released workspace with his key's answers written in (code left untouched)."""
    release = tmp_path / "release"
    assert grade("assign", spec, "--out", release).exit_code == 0
    keys = json.loads((release / "instructor/keys.json").read_text())["bob"]
    ws = release / "students/bob"
    write_answers(ws, {i: in_asked_unit(bank.items[i], e.get("params")) if e["type"] == "derive"
                       else e["answer"] for i, e in keys.items() if e["type"] != "build"})
    return ws, keys


def test_run_autograder_grades_the_submitter_against_their_variant(tmp_path, autograder, bank):
    spec, root = autograder
    ws, _keys = bobs_answered_workspace(tmp_path, spec, bank)
    results = run_autograder(root, ws, {"users": [{"sid": "bob", "email": "bob@uni.edu", "name": "Bob"}]})
    tests = {t["name"].split()[0]: t for t in results["tests"]}
    assert results["max_score"] == 7 and results["score"] == 6  # all but the untouched code item
    assert tests["1.1"]["status"] == "passed" and tests["1.1"]["name"].startswith("1.1 FLOPs")
    assert tests["0.6"]["status"] == "failed" and "template" in tests["0.6"]["output"]
    assert "graded as bob" in results["output"]
    # a graded-mode assignment shows results after the due date, not on upload; only the format
    # check (no points) shows at once
    check, *items = results["tests"]
    assert results["visibility"] == "after_due_date"
    assert {t["visibility"] for t in items} == {"after_due_date"}
    assert (check["name"], check["visibility"], check["max_score"]) == (FORMAT_TEST, "visible", 0)
    assert check["status"] == "failed" and "0.6: unanswered" in check["output"]  # the code is the template


def test_the_same_answers_from_another_student_do_not_pass(tmp_path, autograder, bank):
    spec, root = autograder
    ws, keys = bobs_answered_workspace(tmp_path, spec, bank)
    results = run_autograder(root, ws, {"users": [{"sid": "carol", "email": "c@uni.edu"}]})
    derive = [t for t in results["tests"] if t["name"] != FORMAT_TEST and keys[t["name"].split()[0]]["type"]
              == "derive"]
    assert derive and all(t["status"] == "failed" for t in derive)


@pytest.mark.parametrize("metadata", [{}, {"users": []}, {"users": [{"sid": "../x", "email": None}]},
                                      "not an object"])
def test_unusable_metadata_still_writes_results(tmp_path, autograder, metadata):
    _spec, root = autograder
    (tmp_path / "sub").mkdir()
    results = run_autograder(root, tmp_path / "sub", metadata)
    assert results["score"] == 0 and "Could not tell who submitted" in results["output"]


def test_an_empty_submission_gets_a_reason_not_a_crash(tmp_path, autograder):
    _spec, root = autograder
    (tmp_path / "sub").mkdir()
    results = run_autograder(root, tmp_path / "sub", {"users": [{"email": "dan@uni.edu"}]})
    assert results["score"] == 0 and "the submission is empty" in results["output"]
    assert "graded as dan@uni.edu" in results["output"]


def test_a_roster_outside_the_spec_folder_is_refused(tmp_path):
    spec = write_spec(tmp_path / "spec", roster="../roster.txt")
    (tmp_path / "roster.txt").write_text("alice\n")
    result = grade("gradescope-autograder", spec, "--out", tmp_path / "a.zip")
    assert result.exit_code == 2 and "must lie in the spec's folder" in result.output


def test_a_course_bank_outside_the_checkout_is_bundled_as_the_course(tmp_path, bank_copy, wheel):
    hidden = bank_copy.parent / "solutions/hidden_tests/test_count_pairs_hidden.py"
    hidden.write_text("# the course's own\n")
    spec = write_spec(tmp_path / "spec", items=["1.1", "0.6"])
    result = grade("gradescope-autograder", spec, "--out", tmp_path / "a.zip", "--bank", bank_copy,
                   "--wheel", wheel)
    assert result.exit_code == 0, result.output
    archive = zipfile.ZipFile(tmp_path / "a.zip")
    assert {"course/bank/ch01_resource_accounting.yaml", "course/solutions/code/count_pairs.py",
            "course/student_templates/count_pairs/count_pairs.py"} <= set(archive.namelist())
    assert archive.read("course/solutions/hidden_tests/test_count_pairs_hidden.py") == b"# the course's own\n"


def test_the_autograder_as_gradescope_runs_it_from_a_fresh_environment(tmp_path, bank):
    """setup.sh into a fresh virtual environment holding only what it installs, then
    run_autograder on a correct and on a blank count_pairs: full marks and 0. (The base install
    once lacked pytest, the trusted runner: every student got 0 on count_pairs.)"""
    spec = write_spec(tmp_path / "spec", items=["0.6"])
    assert grade("gradescope-autograder", spec, "--out", tmp_path / "a.zip").exit_code == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        archive.extractall(root / "source")
    (root / "results").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    setup = subprocess.run(["bash", str(root / "source/setup.sh")], cwd=root, timeout=600,
                           env={**env, "AUTOGRADER_ROOT": str(root)}, capture_output=True, text=True)
    assert setup.returncode == 0, (setup.stdout + setup.stderr)[-3000:]
    venv_grade = root / "venv/bin/grade"
    assert venv_grade.exists()
    scores = {}
    reference = (Path(__file__).parents[1] / "solutions/code/count_pairs.py").read_text()
    for name, source in (("correct", reference), ("blank", None)):
        ws = tmp_path / name
        assert grade("init", ws, "--items", "0.6").exit_code == 0
        if source is not None:
            (ws / "count_pairs/count_pairs.py").write_text(source)
        shutil.rmtree(root / "submission", ignore_errors=True)
        results = run_autograder(root, ws, {"users": [{"sid": name, "email": f"{name}@uni.edu"}]})
        scores[name] = (results["score"], results["tests"][0]["output"][:200])
    assert scores["correct"][0] == 1.0 and scores["blank"][0] == 0.0, scores


def test_the_zip_leaves_out_a_courses_hidden_files_and_backups_and_refuses_links(tmp_path, bank_copy, wheel):
    """Found by review: an instructor's .env, an editor's backup and a symbolic link (which
    copies whatever it points at) went into the zip."""
    course = bank_copy.parent
    (bank_copy / ".env").write_text("TOKEN=secret\n")
    (course / "student_templates/count_pairs/count_pairs.py~").write_text("# backup\n")
    spec = write_spec(tmp_path / "spec", items=["1.1"])
    args = ("gradescope-autograder", spec, "--bank", bank_copy, "--wheel", wheel)
    assert grade(*args, "--out", tmp_path / "a.zip").exit_code == 0
    names = zipfile.ZipFile(tmp_path / "a.zip").namelist()
    assert not any(n.endswith((".env", "~")) for n in names), names
    (course / "solutions/host.py").symlink_to("/etc/hostname")
    refused = grade(*args, "--out", tmp_path / "b.zip")
    assert refused.exit_code == 2 and "symbolic link" in refused.output and not (tmp_path / "b.zip").exists()


def test_a_wheel_built_from_a_checkout_holds_only_what_git_tracks(tmp_path):
    """An instructor's untracked notes beside the grader's sources stay out of the wheel, and an
    untracked module of the grader stops the build (the image would fail without it)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(CHECKOUT), str(clone)], check=True, timeout=120)
    (clone / "solutions/private_keys.yaml").write_text("keys: do not ship\n")  # package data's kind
    (tmp_path / "ps.yaml").write_text("name: ps\ntitle: PS\nmode: practice\nitems: ['1.1']\n")
    env = {**os.environ, "PYTHONPATH": str(clone)}
    command = [sys.executable, "-m", "grader", "gradescope-autograder", "ps.yaml", "--out", "a.zip"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        (name,) = [n for n in archive.namelist() if n.startswith("dist/")]
        inside = zipfile.ZipFile(io.BytesIO(archive.read(name))).namelist()
    assert "grader/cli/__init__.py" in inside and "grader/course/solutions/private_keys.yaml" not in inside
    # an untracked module of the grader's own: tracked code may import it, so no wheel without it
    (clone / "grader/helper_module.py").write_text("VALUE = 1\n")
    done = subprocess.run([*command[:-1], "b.zip"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 2, done.stderr
    assert "grader/helper_module.py is not tracked by git" in done.stderr, done.stderr
