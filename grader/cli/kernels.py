"""``grade kernel ...``: list the kernel tasks, start them, check them, bench the references."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from grader.core.paths import default_bank_dir
from grader.kernels.spec import KernelTask, load_kernel_tasks

bank_option = click.option(
    "--bank", "bank_dir", type=click.Path(path_type=Path, file_okay=False),
    default=None, help="Bank folder (default: $GRADE_BANK or the bundled bank/).")


def _tasks(bank_dir: Path | None) -> tuple[dict[str, KernelTask], Path]:
    root = bank_dir or default_bank_dir()
    tasks, problems = load_kernel_tasks(root)
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    return tasks, root.parent


@click.group()
def kernel() -> None:
    """GPU kernel tasks: correctness everywhere, roofline timing on a CUDA GPU."""


@kernel.command("list")
@bank_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_tasks(bank_dir: Path | None, as_json: bool) -> None:
    """The kernel tasks, what bounds them and the workbook items they build on."""
    tasks, _ = _tasks(bank_dir)
    if as_json:
        click.echo(json.dumps([{"id": t.id, "title": t.title, "bound": t.bound, "language": t.language,
                                "signature": t.signature, "items": list(t.items),
                                "dtypes": list(t.dtypes), "target": t.target} for t in tasks.values()],
                              indent=2))
        return
    table = Table("task", "title", "bound", "language", "items", "dtypes")
    for t in tasks.values():
        table.add_row(t.id, t.title, t.bound, t.language, ", ".join(t.items), ", ".join(t.dtypes))
    Console(soft_wrap=True).print(table)


@kernel.command("init")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@bank_option
def init(directory: Path, bank_dir: Path | None) -> None:
    """Copy every task's student template into DIRECTORY (existing files are kept)."""
    tasks, root = _tasks(bank_dir)
    directory.mkdir(parents=True, exist_ok=True)
    for t in tasks.values():
        target = directory / Path(t.template).name
        if not target.exists():
            shutil.copyfile(root / t.template, target)
    click.echo(f"{len(tasks)} kernel templates in {directory}; run: grade kernel check {directory}")


def _require_kernel_stack() -> None:
    """Kernel tasks run in the Linux sandbox with torch and Triton: where one is missing, say
    what to install instead of failing on an import."""
    from grader.items.code_runs import missing_requirements
    from grader.items.kernel_runs import KERNEL_MODULES
    from grader.rules.code import sandbox_unavailable

    problem = (sandbox_unavailable("Kernel tasks", "kernels")
               or missing_requirements("The kernel check", KERNEL_MODULES, "kernels"))
    if problem is not None:
        raise click.ClickException(problem.feedback[0])


def _unknown(only: tuple[str, ...], tasks: dict[str, KernelTask]) -> None:
    unknown = [t for t in only if t not in tasks]
    if unknown:
        raise click.UsageError(f"unknown task(s): {', '.join(unknown)}; see grade kernel list")


def kernel_folder(directory: Path) -> Path:
    """Where a folder's kernel files are: its ``kernels/`` in a workspace made by
    ``grade init --kernel`` (or any folder that has one), else the folder itself."""
    inner = directory / "kernels"
    return inner if inner.is_dir() and not inner.is_symlink() else directory


@kernel.command("check")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--task", "only", multiple=True, help="Check only this task (repeatable).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=None,
              help="Seconds one call of the kernel may take (default 120).")
@bank_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check(directory: Path, only: tuple[str, ...], timeout_s: float | None, bank_dir: Path | None,
          as_json: bool) -> None:
    """Check the kernels in DIRECTORY (one <task>.py per task, or a workspace's kernels/) for
    correctness, and on a CUDA GPU time them against the roofline; exit 1 if any fails."""
    _require_kernel_stack()
    from grader.kernels.check import check_kernel
    from grader.sandbox.limits import Limits

    tasks, _ = _tasks(bank_dir)
    _unknown(only, tasks)
    folder = kernel_folder(directory)
    chosen = [tasks[t] for t in only] if only else [
        t for t in tasks.values() if (folder / Path(t.template).name).is_file()]
    if not chosen:
        raise click.UsageError(f"no kernel files in {folder}; grade kernel init {directory} writes them")
    limits = Limits(call_timeout_s=timeout_s) if timeout_s else None
    reports = []
    for task in chosen:  # a signal ends the command by an exception: check_kernel stops its sandboxes
        main = folder / Path(task.template).name
        files = {main.name: main.read_bytes()} if main.is_file() and not main.is_symlink() else {}
        reports.append(check_kernel(task, files, limits))
    if as_json:
        click.echo(json.dumps([r.to_json() for r in reports], indent=2))
    else:
        _print_reports(reports)
    if any(r.status in ("failed", "error") for r in reports):
        raise SystemExit(1)


def _print_reports(reports: list[Any]) -> None:
    """A row per task, then a line per timed bench shape, then the feedback lines."""
    console = Console(soft_wrap=True)
    table = Table("task", "status", "mode", "cases", "performance")
    for r in reports:
        doc = r.to_json()
        perf = r.performance
        summary = (f"score {perf['score']:.2f} on {perf['device']}" if perf.get("status") == "measured"
                   else f"{perf.get('status', '')}: {perf.get('reason', '')}")
        table.add_row(r.task, r.status, r.mode, f"{doc['cases']['passed']}/{doc['cases']['total']}", summary)
    console.print(table)
    for r in reports:
        for s in r.performance.get("shapes", []):
            console.print(f"  {r.task} {s['dtype']} [{s['shape']}]: " + ", ".join(
                f"{label} {_fmt(s.get(key), form)}" for label, key, form in _SHAPE_FIELDS), markup=False)
    for r in reports:
        for line in r.feedback:
            console.print(f"  {r.task}: {line}", markup=False)


_SHAPE_FIELDS = (("median", "median_us", "{:.1f} us"), ("spread", "spread", "{:.1%}"),
                 ("bandwidth", "gb_s", "{:.0f} GB/s"), ("compute", "tflop_s", "{:.1f} TFLOP/s"),
                 ("efficiency", "efficiency", "{:.0%}"), ("score", "score", "{:.2f}"))


def _fmt(value: Any, form: str) -> str:
    return "-" if value is None else form.format(value)


@kernel.command("bench")
@click.option("--task", "only", multiple=True, help="Bench only this task (repeatable).")
@click.option("--runs", default=30, show_default=True, help="Timed calls per shape.")
@bank_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench(only: tuple[str, ...], runs: int, bank_dir: Path | None, as_json: bool) -> None:
    """Time the reference solutions on this GPU against the roofline (needs CUDA)."""
    from dataclasses import asdict

    _require_kernel_stack()
    from grader.kernels.bench import bench_task
    from grader.kernels.roofline import NoGPU, current_device

    tasks, root = _tasks(bank_dir)
    _unknown(only, tasks)
    try:
        device = current_device()
    except NoGPU as exc:
        click.echo(json.dumps({"skipped": str(exc)}) if as_json else f"skipped: {exc}")
        return
    rows = [row for t in tasks.values() if not only or t.id in only
            for row in bench_task(t, root, device, runs)]
    if as_json:
        click.echo(json.dumps({"device": device.name, "source": device.source,
                               "rows": [asdict(r) for r in rows]}, indent=2))
        return
    console = Console(soft_wrap=True)
    console.print(f"{device.name}: {device.bandwidth / 1e12:.2f} TB/s, "
                  f"{device.flops['bfloat16'] / 1e12:.0f} TFLOP/s bf16 dense ({device.source})", markup=False)
    table = Table("task", "shape", "dtype", "median us", "spread", "GB/s", "TFLOP/s", "efficiency", "target")
    for r in rows:
        table.add_row(r.task, r.case, r.dtype, f"{r.median_us:.1f}", f"{r.spread:.1%}", f"{r.gb_s:.0f}",
                      f"{r.tflop_s:.1f}", f"{r.efficiency:.0%}", f"{r.target:.0%}")
    console.print(table)
    for r in rows:
        for problem in r.problems:
            console.print(f"  {r.task} [{r.case}] {r.dtype}: {problem}", markup=False)
