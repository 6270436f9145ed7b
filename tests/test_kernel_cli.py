"""`grade kernel check` and `grade kernel bench` as a student or instructor runs them: a
workspace's kernels/ folder, --timeout, failures that stop early with one clear message, the
per-shape performance table, and JSON without a GPU."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.kernels.check import KernelReport, check_kernel
from grader.kernels.cli import _print_reports
from grader.kernels.spec import load_kernel_tasks
from grader.paths import REPO_ROOT
from grader.sandbox.limits import Limits

torch = pytest.importorskip("torch", reason="kernel tasks need torch (pip install '.[test]')")
if torch.cuda.is_available():
    pytest.skip("a CUDA device is present: these tests cover the CPU path", allow_module_level=True)

TASKS = load_kernel_tasks(REPO_ROOT / "bank")[0]
MOE = (REPO_ROOT / TASKS["moe_gating"].solution).read_text()


def _kernel(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["kernel", *args])
    return result.exit_code, result.output


def test_check_finds_the_kernels_of_a_workspace_made_by_grade_init(tmp_path: Path):
    ws = tmp_path / "ws"
    assert CliRunner().invoke(main, ["init", str(ws), "--kernel", "moe_gating,softmax"]).exit_code == 0
    shutil.copyfile(REPO_ROOT / TASKS["moe_gating"].solution, ws / "kernels/moe_gating.py")
    code, output = _kernel("check", str(ws), "--task", "moe_gating", "--json")
    assert code == 0 and json.loads(output)[0]["status"] == "passed"
    code, output = _kernel("check", str(ws), "--json")  # both files found, the template fails
    assert code == 1 and {r["task"]: r["status"] for r in json.loads(output)} == {
        "softmax": "failed", "moe_gating": "passed"}


def test_timeout_bounds_each_call(tmp_path: Path):
    (tmp_path / "moe_gating.py").write_text("def moe_gating(logits, k):\n    while True:\n        pass\n")
    code, output = _kernel("check", str(tmp_path), "--timeout", "2", "--json")
    report = json.loads(output)[0]
    assert code == 1 and report["status"] == "failed"
    assert any("no answer within 2 s" in line for line in report["feedback"]), report["feedback"]


def test_an_import_failure_is_reported_once_and_stops_the_cases():
    broken = check_kernel(TASKS["moe_gating"], {"moe_gating.py": b"def moe_gating(logits, k)\n    pass\n"})
    assert len(broken.cases) == 1 and "stopped after 1 of 16 cases" in broken.feedback
    problem = broken.cases[0].problems[0]
    assert "SyntaxError" in problem and problem.count("line 1") == 1, problem
    slow = check_kernel(TASKS["moe_gating"], {"moe_gating.py": b"import time\ntime.sleep(60)\n"},
                        Limits(call_timeout_s=5, startup_timeout_s=2))
    assert "the module was not imported within 2 s" in slow.cases[0].problems[0]


def test_a_measured_report_prints_one_row_per_bench_shape(capsys):
    shape = {"shape": "M=8192, N=8192", "dtype": "bfloat16", "median_us": 170.2, "spread": 0.031,
             "gb_s": 3154.0, "tflop_s": 2.0, "efficiency": 0.66, "score": 0.82, "problems": []}
    failed = {**shape, "shape": "M=16384, N=4096", "median_us": None, "spread": None, "gb_s": None,
              "tflop_s": None, "efficiency": 0.0, "score": 0.0, "problems": ["timing stopped: crashed"]}
    report = KernelReport("rmsnorm", "passed", "cuda", performance={
        "status": "measured", "device": "NVIDIA H200", "score": 0.0, "shapes": [shape, failed]})
    _print_reports([report])
    out = capsys.readouterr().out
    assert "score 0.00 on NVIDIA H200" in out
    assert "3154" in out and "66%" in out and "3.1%" in out and "170.2" in out
    assert "rmsnorm bfloat16 [M=16384, N=4096]: median -," in out  # a failed timing has its line too


def test_bench_without_a_gpu_says_so_in_json_and_refuses_unknown_tasks():
    code, output = _kernel("bench", "--json")
    assert code == 0 and "no CUDA device" in json.loads(output)["skipped"]
    code, output = _kernel("bench", "--task", "layernorm")
    assert code == 2 and "unknown task(s): layernorm" in output
