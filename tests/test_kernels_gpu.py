"""Kernel tasks on a CUDA GPU: every reference solution passes the sandboxed check in mode
"cuda" and is timed in its sandbox against the roofline, a ghost launch fails, a student
kernel that forges its times is rejected, and one that hides its work on a side stream is
timed by the wall clock.
Skipped without a CUDA device (tests/test_kernels.py and test_kernel_timing.py cover the CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.core.paths import COURSE_ROOT
from grader.kernels.check import check_kernel
from grader.kernels.roofline import find_device
from grader.kernels.spec import load_kernel_tasks
from grader.model.mutants import mutant_source

# CUDA, and the sandbox
pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox, pytest.mark.gpu]

torch = pytest.importorskip("torch", reason="kernel tasks need torch (pip install '.[test]')")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device: these tests time kernels on a GPU", allow_module_level=True)

TASKS, _ = load_kernel_tasks(COURSE_ROOT / "bank")
DEVICE = find_device(torch.cuda.get_device_name())
RUNS = 5
FORGE = """
import sys

_wire = sys.modules["wire"]  # the sandbox's wire module: shrink every reported time 1000x
_frame = _wire.frame


def _forged(message, blobs=()):
    if isinstance(message, dict) and "wall_s" in message:
        message = dict(message, wall_s=message["wall_s"] / 1000,
                       event_s=(message["event_s"] or 0.0) / 1000)
    return _frame(message, blobs)


_wire.frame = _forged
"""
SIDE_STREAM = """

_side = torch.cuda.Stream()
_plain = moe_gating


def moe_gating(logits, k):
    # the work goes to a stream the grader's events do not record, then sleeps there
    with torch.cuda.stream(_side):
        torch.cuda._sleep(200_000_000)  # ~0.1 s of spinning on the GPU
        out = _plain(logits, k)
    return out
"""


def _check(task_id: str, source: str | None = None):
    task = TASKS[task_id]
    text = source if source is not None else (COURSE_ROOT / task.solution).read_text()
    return check_kernel(task, {Path(task.template).name: text.encode()}, runs=RUNS)


def _needs_table() -> None:
    if DEVICE is None:
        pytest.skip(f"{torch.cuda.get_device_name()} is not in grader/data/devices.yaml")


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_reference_solutions_pass_and_are_measured_on_the_gpu(task_id: str):
    report = _check(task_id)
    assert report.mode == "cuda"
    assert report.status == "passed", report.feedback
    _needs_table()
    perf = report.performance
    assert perf["status"] == "measured", perf
    assert perf["device"] == DEVICE.name
    assert len(perf["shapes"]) == len(TASKS[task_id].bench)
    for shape in perf["shapes"]:
        assert shape["problems"] == [], shape
        assert shape["median_us"] > 0 and shape["round_trip_us"] >= shape["median_us"] / 2
        assert shape["efficiency"] > 0 and shape["score"] > 0
    assert report.performance_score == perf["score"] > 0


def test_a_kernel_that_fails_its_cases_is_not_timed():
    report = _check("softmax", (COURSE_ROOT / TASKS["softmax"].template).read_text())
    assert report.status == "failed" and report.performance_score is None
    assert report.performance == {"status": "skipped",
                                  "reason": "the kernel is not correct, so its speed is not measured"}


@pytest.mark.parametrize("task_id", ["softmax", "rmsnorm"])
def test_a_ghost_launch_fails_on_the_gpu_too(task_id: str):
    # compiled launches are skipped too (JITFunction.run), and a ghost is never timed
    ghost = mutant_source(COURSE_ROOT, TASKS[task_id].mutants, TASKS[task_id].solution, "ghost_launch")
    report = _check(task_id, ghost)
    assert report.mode == "cuda" and report.status == "failed" and not any(c.problems for c in report.cases)
    assert any("unchanged when the kernel launches are skipped" in line for line in report.feedback), \
        report.feedback
    assert report.performance_score is None


def test_a_kernel_that_forges_its_times_is_rejected():
    _needs_table()
    source = (COURSE_ROOT / TASKS["moe_gating"].solution).read_text() + FORGE
    report = _check("moe_gating", source)
    assert report.status == "passed", report.feedback  # correct: only its times are forged
    perf = report.performance
    assert perf["status"] == "measured" and perf["score"] == 0.0
    assert all(any("not credible" in p or "below the roofline floor" in p for p in s["problems"])
               for s in perf["shapes"]), perf


def test_work_hidden_on_a_side_stream_is_timed_by_the_wall_clock():
    _needs_table()
    source = (COURSE_ROOT / TASKS["moe_gating"].solution).read_text() + SIDE_STREAM
    report = _check("moe_gating", source)
    perf = report.performance
    assert perf["status"] == "measured", (report.feedback, perf)
    for shape in perf["shapes"]:
        assert shape["median_us"] > 50_000, shape  # the sleep on the side stream counts


def test_timed_inputs_drawn_on_the_gpu_are_seeded_and_never_degenerate():
    from grader.kernels.inputs import make_inputs

    first = make_inputs(TASKS["moe_gating"], {"T": 129, "E": 64}, "bfloat16", 7, "cuda")
    again = make_inputs(TASKS["moe_gating"], {"T": 129, "E": 64}, "bfloat16", 7, "cuda")
    assert first[0].device.type == "cuda" and torch.equal(first[0], again[0])
    assert all(len(set(row.tolist())) == 64 for row in first[0].float().cpu())  # no ties
    x, weight, _ = make_inputs(TASKS["rmsnorm"], {"M": 7, "N": 33}, "float16", 0, "cuda")
    assert x.is_cuda and bool((weight.abs() >= 0.5).all())


def test_this_gpu_is_in_the_device_table():
    assert DEVICE is not None, f"{torch.cuda.get_device_name()!r} is not in grader/data/devices.yaml"
