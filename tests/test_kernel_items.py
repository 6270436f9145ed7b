"""Kernel tasks inside workspaces, assignments and batches: `grade init --kernel`, `grade check`
(practice and graded), `grade assign` (files, key, secret scan), `grade batch --assignment`,
`grade validate --code`, and how a kernel's report becomes a score with a performance share."""

from __future__ import annotations

import dataclasses
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from grader.assignments.assignment import AssignmentError, load_assignment, student_manifest
from grader.assignments.release_scan import find_secrets
from grader.bank.code_validation import validate_kernel_task
from grader.core.paths import COURSE_ROOT
from grader.items.kernel_runs import kernel_result
from grader.kernels.check import KernelReport
from grader.model.mutants import mutant_source
from grader.workspace.manifest import read_manifest
from tests.workspace_helpers import check_json, grade

# kernel tasks are checked in the sandbox
pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox]

torch = pytest.importorskip("torch", reason="kernel tasks need torch (pip install '.[test]')")
if torch.cuda.is_available():  # scores below assume performance is not measured
    pytest.skip("a CUDA device is present: these tests cover the CPU path", allow_module_level=True)

KERNELS = COURSE_ROOT / "solutions/kernels"


def _mutant(task: str, name: str) -> str:
    """A kernel task's mutant, generated from its patch file."""
    patches, solution = f"solutions/kernels/mutants/{task}.yaml", f"solutions/kernels/{task}.py"
    return mutant_source(COURSE_ROOT, patches, solution, name)


def _passed(performance: dict) -> KernelReport:
    return KernelReport("rmsnorm", "passed", "interpreter", feedback=["interpreter-checked: by Triton"],
                        performance=performance)


UNMEASURED = {"status": "skipped", "reason": "no CUDA device"}
MEASURED = {"status": "measured", "device": "NVIDIA H200", "score": 0.6,
            "shapes": [{"shape": "M=8192, N=8192", "dtype": "bfloat16", "efficiency": 0.48}]}


@pytest.mark.parametrize(("performance", "weight", "status", "score", "says"), [
    (UNMEASURED, 0.0, "correct", 1.0, "not part of this task's score"),
    (UNMEASURED, 0.4, "partial", 0.6, "needs a CUDA GPU: not awarded"),
    (MEASURED, 0.5, "partial", 0.8, "NVIDIA H200: score 0.60"),
    ({**MEASURED, "score": 1.0}, 0.5, "correct", 1.0, "48% of the roofline"),
    (MEASURED, 0.0, "correct", 1.0, "not part of this task's score"),
])
def test_a_correct_kernel_scores_the_gate_plus_its_performance_share(performance, weight, status,
                                                                       score, says):
    result = kernel_result(_passed(performance), weight)
    assert (result.status, result.score) == (status, score)
    assert any(says in line for line in result.feedback), result.feedback
    assert "interpreter-checked" in result.feedback[0] or "interpreter-checked" in result.feedback[1]


def test_a_failed_or_uncheckable_kernel_scores_zero_with_the_reason():
    failed = KernelReport("softmax", "failed", "cpu", feedback=["run on the CPU", "float32 [M=1]: NaN at"])
    result = kernel_result(failed, 0.5)
    assert (result.status, result.score) == ("incorrect", 0.0)
    assert result.feedback[1] == "float32 [M=1]: NaN at"
    skipped = KernelReport("softmax", "skipped", "none", feedback=["Triton is not installed"])
    result = kernel_result(skipped, 0.0)
    assert result.status == "error" and "cannot be checked on this machine" in result.feedback[0]


# ------------------------------------------------------------------------ practice workspace


def test_init_with_kernels_writes_their_files_and_checks_them(tmp_path: Path):
    ws = tmp_path / "ws"
    result = grade("init", ws, "--kernel", "moe_gating", "--items", "1.1")
    assert result.exit_code == 0 and "with 1 item(s) and 1 kernel task(s) in kernels/" in result.output
    alone = grade("init", tmp_path / "kernels-only", "--kernel", "all")
    assert "with 6 kernel task(s) in kernels/." in alone.output and "0 item" not in alone.output
    manifest = read_manifest(ws / "grade.yaml")
    assert [e.id for e in manifest.items] == ["1.1"]
    assert [(k.id, k.type, k.chapter, k.files) for k in manifest.kernels] == [
        ("moe_gating", "kernel", 3, ("kernels/moe_gating.py",))]
    assert "`kernels/`: GPU kernel task(s) moe_gating" in (ws / "README.md").read_text()
    assert check_json(ws)["items"]["moe_gating"]["status"] == "unanswered"  # the untouched template
    (ws / "kernels/moe_gating.py").unlink()
    missing = check_json(ws, "--item", "moe_gating")["items"]["moe_gating"]
    assert missing == {"status": "unanswered", "score": 0.0, "max_score": 1.0,
                       "feedback": "kernels/moe_gating.py is missing."}

    (ws / "kernels/moe_gating.py").write_text(_mutant("moe_gating", "cached_output"))
    doc = check_json(ws, "--item", "moe_gating")
    assert doc["items"]["moe_gating"]["status"] == "incorrect"
    assert "topk_idx: differs" in doc["items"]["moe_gating"]["feedback"]

    shutil.copyfile(KERNELS / "moe_gating.py", ws / "kernels/moe_gating.py")
    doc = check_json(ws)
    kernel = doc["items"]["moe_gating"]
    assert (kernel["status"], kernel["score"]) == ("correct", 1.0)
    assert "16/16 cases pass (PyTorch kernel, run on the CPU)" in kernel["feedback"]
    assert doc["chapters"]["3"] == {"total": 1.0, "max_total": 1.0}
    cache = json.loads((ws / ".grade/code_results.json").read_text())
    assert cache["moe_gating"]["status"] == "correct"  # the next check reuses it
    progress = grade("progress", ws, "--json")
    assert json.loads(progress.output)["mastered"] == 1


def test_a_triton_kernel_is_labelled_interpreter_checked_and_files_are_checked_alone(tmp_path: Path):
    ws = tmp_path / "ws"
    assert grade("init", ws, "--kernel", "softmax,moe_gating").exit_code == 0
    assert read_manifest(ws / "grade.yaml").items == ()
    shutil.copyfile(KERNELS / "softmax.py", ws / "kernels/softmax.py")
    # the other task's file calls torch.softmax: it must not count against softmax.py
    (ws / "kernels/moe_gating.py").write_text(_mutant("softmax", "torch_fallback"))
    kernel = check_json(ws, "--item", "softmax")["items"]["softmax"]
    assert kernel["status"] == "correct", kernel
    assert "interpreter-checked" in kernel["feedback"]


def test_init_refuses_an_unknown_kernel(tmp_path: Path):
    result = grade("init", tmp_path / "ws", "--kernel", "layernorm")
    assert result.exit_code == 2 and "no kernel task 'layernorm'" in result.output
    assert not (tmp_path / "ws").exists()


# ----------------------------------------------------------------------------- assignments


def _spec(folder: Path, **fields) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "roster.txt").write_text("alice\nbob\n")
    doc = {"name": "k1", "mode": "graded", "roster": "roster.txt", "items": ["1.1"],
           "kernels": ["moe_gating", {"id": "softmax", "points": 3, "performance": 0.5}]}
    doc.update(fields)
    path = folder / "k1.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_a_spec_lists_kernels_with_points_and_a_performance_share(tmp_path: Path, bank):
    assignment = load_assignment(_spec(tmp_path), bank)
    assert dict(assignment.kernels) == {"softmax": (3.0, 0.5), "moe_gating": (1.0, 0.0)}  # bank order
    manifest = student_manifest(bank, assignment, "alice")
    assert [(k.id, k.points, k.performance) for k in manifest.kernels] == [
        ("softmax", 3.0, 0.5), ("moe_gating", 1.0, 0.0)]
    assert [e.id for e in manifest.entries] == ["1.1", "softmax", "moe_gating"]
    without = load_assignment(_spec(tmp_path / "b", kernels=["moe_gating"]), bank)
    assert without.fingerprint() != assignment.fingerprint()
    only_kernels = load_assignment(_spec_without_items(tmp_path / "c"), bank)
    assert only_kernels.items == {} and list(only_kernels.kernels) == ["moe_gating"]


def _spec_without_items(folder: Path) -> Path:
    path = _spec(folder)
    doc = yaml.safe_load(path.read_text())
    del doc["items"]
    doc["kernels"] = ["moe_gating"]
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize(("kernels", "message"), [
    (["layernorm"], "kernels[0]: no kernel task 'layernorm'"),
    (["softmax", {"id": "softmax"}], "kernels[1]: kernel task softmax is listed twice"),
    ([{"id": "softmax", "performance": 2}], "2 is greater than the maximum of 1"),
    ([{"id": "Soft max"}], "does not match"),
])
def test_bad_kernel_lists_are_refused_with_the_reason(tmp_path: Path, bank, kernels, message):
    with pytest.raises(AssignmentError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_assignment(_spec(tmp_path, kernels=kernels), bank)


def test_a_release_ships_kernel_templates_keys_their_solutions_and_scans_for_them(tmp_path: Path, bank):
    out = tmp_path / "release"
    result = grade("assign", _spec(tmp_path / "spec"), "--out", out)
    assert result.exit_code == 0, result.output
    folder = out / "shared"
    template = COURSE_ROOT / "student_templates/kernels/softmax.py"
    assert (folder / "kernels/softmax.py").read_bytes() == template.read_bytes()
    keys = json.loads((out / "instructor/keys.json").read_text())["*"]
    assert keys["softmax"] == {"type": "kernel", "answer": "solutions/kernels/softmax.py",
                               "points": 3.0, "performance": 0.5}
    assert json.loads((out / "instructor/release.json").read_text())["max_total"] == 5
    manifest = read_manifest(folder / "grade.yaml")
    assert find_secrets(folder, bank, manifest) == []
    shutil.copyfile(KERNELS / "softmax.py", folder / "kernels/notes.py")
    assert any(f.startswith("kernels/notes.py: secret text") for f in find_secrets(folder, bank, manifest))


def test_graded_mode_reports_a_kernel_as_pending(tmp_path: Path):
    out = tmp_path / "release"
    assert grade("assign", _spec(tmp_path / "spec"), "--out", out).exit_code == 0
    ws = out / "shared"
    shutil.copyfile(KERNELS / "moe_gating.py", ws / "kernels/moe_gating.py")
    kernel = check_json(ws, "--item", "moe_gating")["items"]["moe_gating"]
    assert kernel["status"] == "pending" and kernel["score"] == 0
    assert "16/16 cases pass" in kernel["feedback"] and "Graded on submission" in kernel["feedback"]


def test_batch_grades_the_kernels_an_assignment_lists(tmp_path: Path):
    spec = _spec(tmp_path / "spec", kernels=[{"id": "moe_gating", "points": 2, "performance": 0.25}])
    out = tmp_path / "release"
    assert grade("assign", spec, "--out", out).exit_code == 0
    subs = tmp_path / "subs"
    shutil.copytree(out / "shared", subs / "alice")
    shutil.copytree(out / "shared", subs / "bob")
    shutil.copyfile(KERNELS / "moe_gating.py", subs / "alice/kernels/moe_gating.py")
    (subs / "bob/kernels/moe_gating.py").write_text(_mutant("moe_gating", "cached_output"))
    shutil.copytree(out / "shared", subs / "carol")  # loops forever: --timeout bounds her kernel too
    (subs / "carol/kernels/moe_gating.py").write_text("def moe_gating(logits, k):\n    while True:\n"
                                                      "        pass\n")
    result = grade("batch", subs, "--out", tmp_path / "graded", "--assignment", spec, "--timeout", "3")
    assert result.exit_code == 0, result.output
    carol = json.loads((tmp_path / "graded/results/carol.json").read_text())
    assert carol["items"]["moe_gating"]["status"] == "incorrect"
    assert "no answer within 3 s" in carol["items"]["moe_gating"]["feedback"]
    alice = json.loads((tmp_path / "graded/results/alice.json").read_text())
    bob = json.loads((tmp_path / "graded/results/bob.json").read_text())
    # correct, but the performance quarter needs a GPU: 0.75 of 2 points
    assert alice["items"]["moe_gating"]["status"] == "partial"
    assert alice["items"]["moe_gating"]["score"] == 1.5 and alice["max_total"] == 3
    assert "needs a CUDA GPU" in alice["items"]["moe_gating"]["feedback"]
    assert bob["items"]["moe_gating"]["status"] == "incorrect"
    header = (tmp_path / "graded/grades.csv").read_text().splitlines()[0]
    assert "moe_gating" in header


def test_validate_code_catches_a_kernel_mutant_that_passes(tmp_path: Path, bank):
    task = bank.kernels["moe_gating"]
    problems, runs, skipped = validate_kernel_task(task)
    assert (problems, runs, skipped) == ([], 6, None)  # solution, template, 4 mutants
    survivor = tmp_path / "survivor.yaml"  # a mutant that only rewords the docstring
    survivor.write_text("mutants:\n- name: reworded\n  bug: changes nothing that runs\n  edits:\n"
                        "  - replace: {old: (reference solution), new: (a survivor)}\n")
    broken = dataclasses.replace(task, mutants=(str(survivor),), template=task.solution)
    problems, runs, _ = validate_kernel_task(broken)
    assert runs == 3 and [p.message.split(" should")[0] for p in problems] == [
        f"moe_gating: template ({task.solution})", f"moe_gating: mutant reworded ({survivor})"]
    assert all("should have failed its correctness check but passed" in p.message for p in problems)


def test_gradescope_installs_triton_and_grades_a_kernel(tmp_path: Path):
    spec = _spec(tmp_path / "spec", items=["1.1"], kernels=["moe_gating"])
    assert grade("gradescope-autograder", spec, "--out", tmp_path / "a.zip").exit_code == 0
    setup = zipfile.ZipFile(tmp_path / "a.zip").read("setup.sh").decode()
    assert '-py3-none-any.whl[code,kernels]"' in setup
    out = tmp_path / "release"
    released = grade("assign", spec, "--out", out)
    assert released.exit_code == 0 and "1 items, 1 kernel task(s), 2 points" in released.output
    shutil.copyfile(KERNELS / "moe_gating.py", out / "shared/kernels/moe_gating.py")
    (tmp_path / "meta.json").write_text(json.dumps({"users": [{"sid": "alice", "email": "a@x"}]}))
    result = grade("gradescope-grade", spec, "--submission", out / "shared", "--metadata",
                   tmp_path / "meta.json", "--out", tmp_path / "results.json")
    assert result.exit_code == 0, result.output
    tests = json.loads((tmp_path / "results.json").read_text())["tests"]
    kernel = next(t for t in tests if "moe_gating" in t["name"])
    assert (kernel["status"], kernel["score"], kernel["max_score"]) == ("passed", 1.0, 1.0)
