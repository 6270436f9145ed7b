"""``grade kernel bench``: time each task's reference solution on this GPU against the
roofline, with the peaks and their source from the device table."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from grader.kernels.check import reference_outputs
from grader.kernels.compare import compare_outputs
from grader.kernels.inputs import make_inputs
from grader.kernels.roofline import Device, floor_seconds, judge
from grader.kernels.spec import KernelTask, traffic
from grader.kernels.timing import time_cuda


@dataclass(frozen=True)
class BenchRow:
    task: str
    case: str
    dtype: str
    median_us: float
    spread: float
    gb_s: float
    tflop_s: float
    efficiency: float
    target: float
    problems: tuple[str, ...]


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kernel_solution_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_task(task: KernelTask, root: Path, device: Device, runs: int = 30) -> list[BenchRow]:
    fn = getattr(_module(root / task.solution), task.entry_point)
    rows = []
    for dims in task.bench:
        dtype = dims["dtype"]
        shape = {k: v for k, v in dims.items() if k != "dtype"}

        def make(i: int, shape: dict = shape, dtype: str = dtype) -> list:
            return make_inputs(task, shape, dtype, seed=10_000 + i, device="cuda")

        def check(out: object, args: list, dtype: str = dtype) -> list[str]:
            return compare_outputs(task, out, reference_outputs(task, args), dtype, "cuda")

        timing = time_cuda(fn, make, check, runs=runs)
        moved, flops = traffic(task, shape, dtype)
        floor = floor_seconds(moved, flops, device, dtype)
        verdict = judge(floor, timing.median_s, task.target, not timing.problems)
        problems = timing.problems + ((verdict.problem,) if verdict.problem else ())
        rows.append(BenchRow(task.id, ", ".join(f"{k}={v}" for k, v in shape.items()), dtype,
                             timing.median_s * 1e6, timing.spread, moved / timing.median_s / 1e9,
                             flops / timing.median_s / 1e12, verdict.efficiency, task.target, problems))
    return rows
