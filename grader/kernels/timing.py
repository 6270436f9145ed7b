"""Time a kernel on a CUDA GPU the way the roofline needs: warm up, flush L2 before every
timed call, fresh inputs for every call, CUDA events, all streams synchronised, the output
of every timed call checked, median and spread over many runs.

Only trusted code is timed in this process (``grade kernel bench`` times the reference
solutions); student kernels are not timed here.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

L2_FLUSH_BYTES = 256 << 20  # several times the L2 of an H100 (50 MB) or H200


@dataclass(frozen=True)
class Timing:
    median_s: float
    min_s: float
    max_s: float
    spread: float          # (p90 - p10) / median
    runs: int
    problems: tuple[str, ...] = ()


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
        event = start.elapsed_time(end) / 1e3
        times.append(event if wall < 2 * event + 50e-6 else wall)
        problems += [f"timed call {i}: {p}" for p in check(out, args)]
    times.sort()
    median = statistics.median(times)
    p10, p90 = times[len(times) // 10], times[(9 * len(times)) // 10]
    return Timing(median, times[0], times[-1], (p90 - p10) / median, runs, tuple(problems[:5]))
