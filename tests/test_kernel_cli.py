"""`grade kernel check` and `grade kernel bench` as a student or instructor runs them: a
workspace's kernels/ folder, --timeout, the task's total time budget, failures that stop early
with one clear message, no sandbox process left behind when the command is killed, the
per-shape performance table, and JSON without a GPU."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.cli.kernels import _print_reports
from grader.core.paths import COURSE_ROOT
from grader.kernels.check import KernelReport, check_kernel
from grader.kernels.spec import load_kernel_tasks
from grader.sandbox.limits import Limits
from grader.sandbox.session import sandbox_root
from tests.workspace_helpers import CHECKOUT

# grade kernel check runs the sandbox
pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox]

torch = pytest.importorskip("torch", reason="kernel tasks need torch (pip install '.[test]')")
if torch.cuda.is_available():
    pytest.skip("a CUDA device is present: these tests cover the CPU path", allow_module_level=True)

TASKS = load_kernel_tasks(COURSE_ROOT / "bank")[0]
MOE = (COURSE_ROOT / TASKS["moe_gating"].solution).read_text()


def _sleepy(seconds: float, token: str = "") -> bytes:
    """The moe_gating solution, sleeping ``seconds`` in every call (after printing ``token``)."""
    pause = f"    print({token!r}, flush=True)\n    time.sleep({seconds})\n"
    return MOE.replace('    """Route each', pause + '    """Route each').replace(
        "import torch\n", "import time\n\nimport torch\n", 1).encode()


def _kernel(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["kernel", *args])
    return result.exit_code, result.output


def test_check_finds_the_kernels_of_a_workspace_made_by_grade_init(tmp_path: Path):
    ws = tmp_path / "ws"
    assert CliRunner().invoke(main, ["init", str(ws), "--kernel", "moe_gating,softmax"]).exit_code == 0
    shutil.copyfile(COURSE_ROOT / TASKS["moe_gating"].solution, ws / "kernels/moe_gating.py")
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


def test_one_time_budget_bounds_the_whole_task():
    started = time.monotonic()
    report = check_kernel(TASKS["moe_gating"], {"moe_gating.py": _sleepy(1.0)},
                          Limits(call_timeout_s=30, total_s=4))
    assert time.monotonic() - started < 12  # not 16 cases x 1 s, let alone 16 x 30 s
    done = len(report.cases)
    assert report.status == "failed" and 1 <= done < 16 and not any(c.problems for c in report.cases)
    assert f"stopped after {done} of 16 cases: the task's total time budget of 4 s ran out" in report.feedback


def test_no_call_waits_past_the_budget():
    started = time.monotonic()
    report = check_kernel(TASKS["moe_gating"], {"moe_gating.py": _sleepy(60)},
                          Limits(call_timeout_s=50, total_s=3))
    assert time.monotonic() - started < 10  # the call's deadline was the budget's end, not 50 s
    assert report.status == "failed" and report.cases == []
    assert report.feedback[-1] == "stopped after 0 of 16 cases: the task's total time budget of 3 s ran out"


def _descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid`` (by parent links in /proc): pid -> its start time."""
    parents, starts = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parents[int(entry.name)], starts[int(entry.name)] = int(fields[1]), fields[19]
    found, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for child, of in parents.items():
            if of == parent and child not in found:
                found[child] = starts[child]
                todo.append(child)
    return found


def _alive(pid: int, started: str) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return False
    return fields[19] == started and fields[0] != "Z"


def _mentioning(text: str) -> list[int]:
    """Processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _kernel_check(tmp_path: Path, token: str) -> list[str]:
    (tmp_path / "moe_gating.py").write_bytes(_sleepy(120, token))
    return ["kernel", "check", str(tmp_path)]


def _workspace_check(tmp_path: Path, token: str) -> list[str]:
    """grade check of a code item whose function prints ``token`` and sleeps: its test
    runner, zygote and student run in threads of grade check, not in its main thread."""
    ws = tmp_path / "ws"
    assert CliRunner().invoke(main, ["init", str(ws), "--items", "0.6"]).exit_code == 0
    (ws / "count_pairs/count_pairs.py").write_text(
        f"import time\n\n\ndef count_pairs(tokens):\n    print({token!r}, flush=True)\n"
        "    time.sleep(120)\n")
    return ["check", str(ws)]


@pytest.mark.parametrize("command", [_kernel_check, _workspace_check], ids=["kernel-check", "check"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_killed_check_leaves_no_sandbox_process_or_folder_behind(tmp_path: Path, signum: int, command):
    token = f"sandboxed-check-{uuid.uuid4().hex}"
    args = command(tmp_path, token)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(CHECKOUT), os.environ.get("PYTHONPATH", "")])}
    grade = subprocess.Popen([sys.executable, "-m", "grader", *args],
                             cwd=CHECKOUT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = None
    try:
        deadline = time.monotonic() + 60
        while log is None and time.monotonic() < deadline and grade.poll() is None:
            time.sleep(0.1)
            log = next((p for p in sandbox_root().joinpath("jobs").rglob("output.log")
                        if token in p.read_text(errors="replace")), None)
        assert log is not None, "the submission never started"
        job, below = log.parent, _descendants(grade.pid)
        assert below, "no sandbox process under grade"
        grade.send_signal(signum)
        code = grade.wait(timeout=30)
    finally:
        if grade.poll() is None:
            grade.kill()
            grade.wait()
    assert code == (128 + signal.SIGTERM if signum == signal.SIGTERM else 1), grade.stderr.read()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p, s) for p, s in below.items()):
        time.sleep(0.1)
    assert [p for p, s in below.items() if _alive(p, s)] == []
    assert _mentioning(job.name) == [] and _mentioning(str(tmp_path)) == []
    assert not job.exists()
    owners = {str(grade.pid), *map(str, below)}
    assert [e.name for sub in ("jobs", "trusted", "zygotes") for e in sandbox_root().joinpath(sub).iterdir()
            if e.name.partition("-")[0] in owners] == []
    cache = tmp_path / "ws/.grade/code_results.json"
    assert not cache.exists() or "0.6" not in json.loads(cache.read_text()), "an interrupted run was cached"


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
