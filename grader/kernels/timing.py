"""Time a kernel on a CUDA GPU the way the roofline needs: warm up, flush L2 before every
timed call, fresh inputs for every call, CUDA events, all streams synchronised, the output
of every timed call checked, median and spread over many runs.

``time_cuda`` times trusted code (``grade kernel bench`` times the reference solutions) in
this process. Student kernels are timed inside their sandbox (``check.time_student``) by
the same rules: ``call_seconds`` and ``summarize`` are shared, and ``confirm`` checks the
times the sandbox reports against the grader's own clock.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

L2_FLUSH_BYTES = 256 << 20  # several times the L2 of an H100 (50 MB) or H200
SIDE_STREAM_SLACK_S = 50e-6  # host-side overhead a wall time may add to an event time
LATENCY_CAP_S = 0.5e-3       # the most channel latency ``confirm`` will credit


@dataclass(frozen=True)
class Timing:
    median_s: float
    min_s: float
    max_s: float
    spread: float          # (p90 - p10) / median
    runs: int
    problems: tuple[str, ...] = ()


def call_seconds(event_s: float | None, wall_s: float) -> float:
    """One call's time by the side-stream rule: the CUDA-event time, unless the wall time
    to a device-wide synchronise is more than twice as long (plus host overhead), which
    means work ran on a stream the events did not see; then the wall time. Without an
    event time (the CPU clock), the wall time."""
    if event_s is None:
        return wall_s
    return event_s if wall_s < 2 * event_s + SIDE_STREAM_SLACK_S else wall_s


def summarize(times: Sequence[float], problems: Sequence[str] = ()) -> Timing:
    """Median, p10-p90 spread (relative to the median), min and max of ``times`` (not empty)."""
    ordered = sorted(times)
    median = statistics.median(ordered)
    p10, p90 = ordered[len(ordered) // 10], ordered[(9 * len(ordered)) // 10]
    spread = (p90 - p10) / median if median > 0 else 0.0
    return Timing(median, ordered[0], ordered[-1], spread, len(ordered), tuple(problems))


def confirm(reported_median_s: float, trusted_median_s: float, latency_s: float) -> str | None:
    """A problem when the times a sandbox reports cannot be true, else None.

    ``trusted_median_s`` is the median round trip of the timed requests by the grader's own
    clock, ``latency_s`` the channel's round trip with no work (the median of the pings sent
    just before each timed request, credited up to ``LATENCY_CAP_S``, so a child that stalls
    its pings gains at most that).
    The reported median is rejected when it is under half of (trusted - latency): the child
    claims the kernel ran more than twice as fast as the grader's clock allows.

    What it catches: a child that rewrites its clock or its replies to claim a kernel far
    faster than it ran. What it does not: a forger can still gain up to 2x (plus the latency
    cap), and the grader's clock also counts the child's own overheads, so it cannot pin the
    time down more tightly than that; anything claimed below the roofline floor is rejected
    by ``roofline.judge`` however it got there, and every timed output is checked, so work
    that was skipped fails there instead.
    """
    latency = min(max(latency_s, 0.0), LATENCY_CAP_S)
    allowed = (trusted_median_s - latency) / 2
    if math.isfinite(reported_median_s) and reported_median_s >= allowed:
        return None
    return (f"the sandbox reported a median of {reported_median_s * 1e6:.1f} us per call, but "
            f"each timed request took {trusted_median_s * 1e6:.1f} us by the grader's clock "
            f"({latency * 1e6:.1f} us of it the channel): the reported times are not credible")


def time_cuda(fn: Callable[..., Any], make_args: Callable[[int], list[Any]],
              check: Callable[[Any, list[Any]], list[str]], runs: int = 30, warmup: int = 3) -> Timing:
    """Median time of ``fn(*make_args(i))`` over ``runs`` calls, each on fresh inputs after an
    L2 flush. Work left on other streams is caught: each call's wall time (to a device-wide
    synchronise) bounds its event time from below when the two disagree."""
    import torch

    flush = torch.empty(L2_FLUSH_BYTES, dtype=torch.int8, device="cuda")
    for i in range(warmup):
        fn(*make_args(-1 - i))
    torch.cuda.synchronize()
    times, problems = [], []
    for i in range(runs):
        args = make_args(i)
        flush.zero_()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        wall = time.perf_counter()
        start.record()
        out = fn(*args)
        end.record()
        torch.cuda.synchronize()  # every stream, not just the current one
        wall = time.perf_counter() - wall
        times.append(call_seconds(start.elapsed_time(end) / 1e3, wall))
        problems += [f"timed call {i}: {p}" for p in check(out, args)]
    return summarize(times, problems[:5])
