"""Timing student kernels in their sandbox, on the CPU clock: the side-stream rule, the
summary and the anti-forgery check as pure functions, then the ping/stage/run/fetch protocol
through real sandboxes with honest, forging, wrong and crashing students (the moe_gating
task is plain PyTorch, so it runs here). The CUDA clock is covered by test_kernels_gpu.py."""

from __future__ import annotations

import math
import random
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from grader.core.paths import COURSE_ROOT
from grader.kernels.check import StudentTiming, measure_performance, time_student
from grader.kernels.roofline import find_device
from grader.kernels.spec import load_kernel_tasks
from grader.kernels.timing import LATENCY_CAP_S, SIDE_STREAM_SLACK_S, call_seconds, confirm, summarize
from grader.model.mutants import mutant_source
from grader.sandbox.isolation import isolation_mode
from grader.sandbox.limits import Limits
from grader.sandbox.session import Job, Sandbox, Zygote

# kernel tasks are timed in the sandbox
pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox]

torch = pytest.importorskip("torch", reason="kernel tasks need torch (pip install '.[test]')")

TASK = load_kernel_tasks(COURSE_ROOT / "bank")[0]["moe_gating"]
SOLUTION = (COURSE_ROOT / TASK.solution).read_text()
SHAPE, DTYPE, RUNS = {"T": 33, "E": 8}, "bfloat16", 5
LIMITS = Limits(call_timeout_s=30, startup_timeout_s=60)
REPLAY = mutant_source(COURSE_ROOT, TASK.mutants, TASK.solution, "cached_output")
SLEEPY = SOLUTION.replace('    """Route each', '    time.sleep(0.02)\n    """Route each').replace(
    "import torch\n", "import time\n\nimport torch\n", 1)
FORGE = textwrap.dedent("""
    import sys

    _wire = sys.modules["wire"]  # the child's wire module: rewrite its run replies
    _frame = _wire.frame


    def _forged(message, blobs=()):
        if isinstance(message, dict) and "wall_s" in message:
            message = dict(message, wall_s=WALL)
        return _frame(message, blobs)


    _wire.frame = _forged
    """)

STUDENTS = {
    "honest": SLEEPY,
    "patches time.perf_counter": SLEEPY + "\nimport itertools\n_ticks = itertools.count()\n"
                                          "time.perf_counter = lambda: next(_ticks) * 1e-9\n",
    "forges its replies": SLEEPY + FORGE.replace("WALL", "message['wall_s'] / 1000"),
    "reports a negative time": SLEEPY + FORGE.replace("WALL", "-1.0"),
    "replays its first output": REPLAY + "\nimport time\n_replay = moe_gating\n\n\n"
                                         "def moe_gating(logits, k):\n    time.sleep(0.005)\n"
                                         "    return _replay(logits, k)\n",
    "exits in the run": "import os\n\ndef moe_gating(logits, k):\n    os._exit(3)\n",
    "raises in the run": "def moe_gating(logits, k):\n    raise ValueError('no kernel yet')\n",
    "changes its input": SOLUTION.replace("    E = logits.shape[1]\n", "    E = logits.shape[1]\n"
                                          "    logits[0, 0] = 99\n"),
}


def _timed(source: str, zygote: Zygote | None = None) -> StudentTiming:
    job = Job.create({"moe_gating.py": source.encode()}, "moe_gating", TASK.requires)
    box = Sandbox(job, LIMITS, isolation_mode(), zygote=zygote)
    try:
        return time_student(box, TASK, SHAPE, DTYPE, clock="cpu", runs=RUNS)
    finally:
        box.stop()
        job.remove()


@pytest.fixture(scope="module")
def timings() -> dict[str, StudentTiming]:
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(STUDENTS, pool.map(_timed, STUDENTS.values()), strict=True))


# -- pure functions ---------------------------------------------------------------------
def test_the_side_stream_rule_keeps_event_time_unless_the_wall_time_disagrees():
    assert call_seconds(1e-3, 1.2e-3) == 1e-3                    # events saw all the work
    assert call_seconds(1e-3, 5e-3) == 5e-3                      # work hidden on a side stream
    assert call_seconds(1e-6, 40e-6) == 1e-6                     # host overhead is not a side stream
    boundary = 2 * 1e-3 + SIDE_STREAM_SLACK_S
    assert call_seconds(1e-3, boundary) == boundary
    assert call_seconds(1e-3, math.nextafter(boundary, 0)) == 1e-3
    assert call_seconds(None, 2e-3) == 2e-3                      # CPU clock: wall time


def test_the_summary_is_median_spread_min_and_max():
    times = [i * 1e-3 for i in range(1, 11)]
    random.Random(0).shuffle(times)
    summary = summarize(times, ["x"])
    assert summary.median_s == pytest.approx(5.5e-3)
    assert (summary.min_s, summary.max_s, summary.runs) == (1e-3, 10e-3, 10)
    assert summary.spread == pytest.approx((10e-3 - 2e-3) / 5.5e-3)  # p90 - p10 over the median
    assert summary.problems == ("x",)
    assert summarize([0.0, 0.0]).spread == 0.0


def test_confirm_accepts_honest_times_and_rejects_forged_ones():
    assert confirm(1.0e-3, 1.1e-3, 60e-6) is None                 # honest: a little under the round trip
    assert confirm(2e-3, 1.1e-3, 60e-6) is None                   # slower than claimed never hurts
    forged = confirm(1e-6, 20e-3, 60e-6)
    assert forged is not None and "not credible" in forged and "20000.0 us" in forged
    # boundary: exactly half of (trusted - latency) passes, anything under it does not
    assert confirm(0.45e-3, 1e-3, 0.1e-3) is None
    assert confirm(math.nextafter(0.45e-3, 0), 1e-3, 0.1e-3) is not None
    # a child that stalls its pings gains at most LATENCY_CAP_S
    assert confirm(1e-6, 20e-3, 19.9e-3) is not None
    assert confirm((20e-3 - LATENCY_CAP_S) / 2, 20e-3, 19.9e-3) is None
    assert confirm(1e-6, 0.1e-3, -1.0) is not None                # negative latency counts as none
    assert confirm(float("nan"), 1e-3, 0.0) is not None
    assert confirm(1e-6, 50e-6, 60e-6) is None                    # too short to judge: the floor check does


# -- the protocol, through real sandboxes -----------------------------------------------
def test_an_honest_kernel_is_timed_plausibly_and_confirmed(timings):
    timing = timings["honest"]
    assert timing.problems == ()
    assert timing.reported is not None and timing.trusted is not None
    assert timing.reported.runs == timing.trusted.runs == RUNS
    assert 0.019 < timing.reported.median_s < 0.5                 # it sleeps 20 ms per call
    assert timing.reported.median_s <= timing.trusted.median_s    # the round trip holds the call
    assert 0 < timing.latency_s < timing.trusted.median_s / 10


def test_replacing_time_perf_counter_does_not_change_the_reported_time(timings):
    timing = timings["patches time.perf_counter"]  # the child bound its clock before the import
    assert timing.problems == ()
    assert timing.reported is not None and timing.reported.median_s > 0.019


def test_a_child_that_forges_its_times_is_rejected(timings):
    timing = timings["forges its replies"]
    assert timing.reported is not None and timing.trusted is not None
    assert timing.reported.median_s < 1e-4 < 0.019 < timing.trusted.median_s
    assert len(timing.problems) == 1 and "not credible" in timing.problems[0]


def test_an_impossible_reported_time_stops_the_timing(timings):
    timing = timings["reports a negative time"]
    assert timing.reported is None
    assert timing.problems == ("timing stopped: tampered: the sandbox reported an impossible time",)


def test_every_timed_output_is_checked(timings):
    timing = timings["replays its first output"]  # right on its first call only
    assert timing.problems and timing.problems[0].startswith("warm-up run 1: ")
    assert any(p.startswith("timed run 0: ") for p in timing.problems)
    assert "not credible" not in " ".join(timing.problems)


def test_a_crash_or_an_exception_in_the_run_is_a_clean_problem(timings):
    exited, raised = timings["exits in the run"], timings["raises in the run"]
    assert exited.reported is None and len(exited.problems) == 1
    assert exited.problems[0].startswith("timing stopped: crashed: the process exited")
    assert raised.reported is None
    assert raised.problems == ("timing stopped: ValueError: no kernel yet (moe_gating.py, line 2)",)


def test_a_timed_call_that_changes_its_input_is_reported(timings):
    timing = timings["changes its input"]
    assert timing.reported is None and "modified its input (argument 0)" in timing.problems[0]


def test_the_protocol_works_in_a_warm_sandbox_too():
    zygote = Zygote(TASK.requires, isolation_mode(), LIMITS)
    try:
        honest, forged = _timed(SLEEPY, zygote), _timed(STUDENTS["forges its replies"], zygote)
    finally:
        zygote.close()
    assert honest.problems == () and honest.reported is not None and honest.reported.median_s > 0.019
    assert "not credible" in forged.problems[-1]


def test_performance_is_judged_per_bench_shape_against_the_roofline():
    device = find_device("NVIDIA H100 80GB HBM3")
    assert device is not None
    task = replace(TASK, bench=({**SHAPE, "dtype": DTYPE}, {"T": 64, "E": 16, "dtype": "float32"}))
    results = {}
    for name, source in (("honest", SOLUTION), ("forged", STUDENTS["forges its replies"])):
        job = Job.create({"moe_gating.py": source.encode()}, "moe_gating", task.requires)
        box = Sandbox(job, LIMITS, isolation_mode())
        try:
            results[name] = measure_performance(box, task, device, clock="cpu", runs=RUNS)
        finally:
            box.stop()
            job.remove()
    honest, forged = results["honest"], results["forged"]
    assert honest["status"] == "measured" and honest["device"] == device.name
    assert [(s["shape"], s["dtype"]) for s in honest["shapes"]] == [("T=33, E=8", "bfloat16"),
                                                                    ("T=64, E=16", "float32")]
    for shape in honest["shapes"]:
        assert shape["problems"] == [] and shape["median_us"] > 0 and shape["gb_s"] > 0
        assert 0 < shape["efficiency"] < 1 and 0 < shape["score"] <= 1  # a CPU is far off an H100
    assert honest["score"] == min(s["score"] for s in honest["shapes"])
    assert forged["score"] == 0.0
    assert all(s["score"] == 0.0 and "not credible" in s["problems"][-1] for s in forged["shapes"])
