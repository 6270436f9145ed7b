"""Benchmark: the kernel timing protocol's data path (make inputs, stage, ping, fetch) per bench shape.

Run:  python benchmarks/kernel_stage.py [--repeat N] [--scale S]
For every bench shape of every kernel task in the bank it measures, on this machine's CPU,
what one timed run of `grade check` pays around the kernel itself: `make_inputs`, one
`Sandbox.stage` of those inputs into a live sandbox (device None, no L2 flush: encode, pipe,
decode in the child), one `Sandbox.fetch` of an output of the task's size (moe_gating runs its
reference solution; a Triton kernel cannot run on the CPU at bench size, so a stand-in
returns an empty tensor of the output's shape: fetch includes the child's changed-input check,
which re-encodes every input) and the median of 20 pings (CPU clock). `--scale` shrinks each
shape's leading dimension for machines with little memory. Prints a table, with each sandbox's
peak RSS, and the grader process's peak RSS; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from timing import timed

from grader.bank.loader import load_bank
from grader.core.paths import COURSE_ROOT, default_bank_dir
from grader.kernels.inputs import make_inputs
from grader.kernels.spec import KernelTask
from grader.sandbox.isolation import isolation_mode
from grader.sandbox.limits import Limits
from grader.sandbox.session import Job, Sandbox

LIMITS = Limits(call_timeout_s=300.0, cpu_s=3600, memory_bytes=resource.RLIM_INFINITY)
PINGS = 20


def module_source(task: KernelTask, dims: dict[str, Any]) -> tuple[bytes, str]:
    """The sandboxed module and what produces the output: the reference solution for a
    PyTorch task, else a stand-in returning an empty tensor shaped as the signature's output."""
    if task.language == "pytorch":
        return (COURSE_ROOT / task.solution).read_bytes(), "solution"
    shape = [int(dims[name]) for name in re.findall(r"\w+", task.signature.split("->")[1])]
    src = (f"import torch\n\n\ndef {task.entry_point}(*args):\n"
           f"    return torch.empty({shape}, dtype=args[0].dtype)\n")
    return src.encode(), "stand-in"


def nbytes(value: Any) -> int:
    """Tensor bytes in a value (a tensor, or a tuple/list of them; other values count 0)."""
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    return value.numel() * value.element_size() if hasattr(value, "element_size") else 0


def measure(task: KernelTask, dims: dict[str, Any], dtype: str, repeat: int) -> dict[str, Any]:
    """One bench shape's figures, medians over ``repeat`` (pings: over PINGS)."""
    made: list[Any] = []

    def make() -> None:
        made[:] = [make_inputs(task, dims, dtype, seed=50_000)]

    make_s, _ = timed(make, repeat)
    inputs = made[0]
    source, producer = module_source(task, dims)
    module = Path(task.template).stem
    job = Job.create({f"{module}.py": source}, module, ("torch",))
    box = Sandbox(job, LIMITS, isolation_mode())
    try:
        box.ping("cpu")  # starts the child (interpreter + torch), not counted
        stage_s, _ = timed(lambda: box.stage(task.entry_point, inputs, None, 0), repeat)
        ping_s = statistics.median(box.ping("cpu") for _ in range(PINGS))
        fetch_times, out_bytes = [], 0
        for _ in range(repeat):
            box.run("cpu")
            start = time.perf_counter()
            out = box.fetch(max_bytes=1 << 34)
            fetch_times.append(time.perf_counter() - start)
            out_bytes = nbytes(out)
            del out
        assert box._proc is not None
        child_peak = tree_peak_rss(box._proc.pid)
    finally:
        box.stop()
        job.remove()
    in_bytes = nbytes(inputs)
    return {"in": in_bytes, "make": make_s, "stage": stage_s, "mbps": in_bytes / stage_s / 1e6,
            "out": out_bytes, "fetch": statistics.median(fetch_times), "producer": producer,
            "ping": ping_s, "child": child_peak}


def tree_peak_rss(root: int) -> int:
    """The largest peak RSS (VmHWM, bytes) in ``root``'s process tree: the sandboxed python
    sits under the isolation wrappers, so getrusage in this process does not see it."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    tree, peak = {root}, 0
    while grown := {pid for pid, ppid in parents.items() if ppid in tree} - tree:
        tree |= grown
    for pid in tree:
        with contextlib.suppress(OSError, ValueError):
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            hwm = [ln for ln in status if ln.startswith("VmHWM")]
            peak = max(peak, int(hwm[0].split()[1]) * 1024 if hwm else 0)
    return peak


def scaled(dims: dict[str, Any], scale: float) -> dict[str, Any]:
    """``dims`` with its leading dimension (the first one listed) scaled by ``scale``."""
    first = next(iter(dims))
    return {**dims, first: max(1, round(dims[first] * scale))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="leading dimension factor (default 1.0)")
    args = parser.parse_args()
    started = time.perf_counter()
    bank = load_bank(default_bank_dir()).bank
    table = Table(title=f"kernel staging, CPU, isolation {isolation_mode()}, scale {args.scale:g}, "
                        f"medians of {args.repeat} (ping: of {PINGS})")
    for name in ("task", "shape", "dtype", "in MB", "make s", "stage s", "stage MB/s", "out MB",
                 "fetch s", "fetch by", "ping us", "child MB"):
        table.add_column(name, justify="left" if name in ("task", "shape", "dtype", "fetch by") else "right")
    console = Console(width=160)
    for task in bank.kernels.values():
        for bench in task.bench:
            dims = scaled({k: v for k, v in bench.items() if k != "dtype"}, args.scale)
            row = measure(task, dims, bench["dtype"], args.repeat)
            shape = ", ".join(f"{k}={v}" for k, v in dims.items())
            table.add_row(task.id, shape, bench["dtype"], f"{row['in'] / 1e6:.1f}", f"{row['make']:.2f}",
                          f"{row['stage']:.3f}", f"{row['mbps']:.0f}", f"{row['out'] / 1e6:.1f}",
                          f"{row['fetch']:.3f}", row["producer"], f"{row['ping'] * 1e6:.0f}",
                          f"{row['child'] / 1e6:.0f}")
            console.print(f"done {task.id} [{shape}] {bench['dtype']}")
    console.print(table)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    console.print(f"peak RSS of the grader process: {own / 1e6:.0f} MB (child MB: the sandbox's peak)")
    console.print(f"wall time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
