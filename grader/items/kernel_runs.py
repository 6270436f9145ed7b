"""Kernel tasks in workspaces, assignments and batches: a task's manifest entry, and a
student's kernel graded into a Result.

The score is the correctness gate (every case of every dtype passes, no forbidden op),
times ``(1 - w) + w x roofline score`` where ``w`` is the entry's ``performance`` share.
The roofline score exists only where the kernel was timed on a CUDA GPU; elsewhere the
performance share is not awarded and the feedback says why.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.core.paths import COURSE_ROOT
from grader.items.code_runs import (
    cached_result,
    files_digest,
    is_template,
    missing_requirements,
    not_started,
    remember_result,
    submission_files,
)
from grader.kernels.spec import KernelTask
from grader.model.entry import ManifestItem
from grader.results.result import Result, error
from grader.rules.code import sandbox_unavailable
from grader.sandbox.limits import Limits

if TYPE_CHECKING:
    from grader.kernels.check import KernelReport

KERNEL_FOLDER = "kernels"
KERNEL_MODULES = ("torch", "triton")  # what the kernel check and the student's kernel import
KERNEL_REFERENCES = Path("solutions/kernels/reference.py")  # the fp32 references, from the root


def kernel_entry(task: KernelTask, points: float = 1.0, performance: float = 0.0) -> ManifestItem:
    """The manifest entry of a kernel task; the student's file is ``kernels/<task>.py``."""
    return ManifestItem(id=task.id, type="kernel", chapter=task.chapter, title=task.title,
                        points=points, files=(f"{KERNEL_FOLDER}/{Path(task.template).name}",),
                        performance=performance)


def _performance_line(perf: dict[str, Any], counted: bool) -> str:
    note = "" if counted else "; not part of this task's score"
    if perf.get("status") != "measured":
        return f"Performance: not measured ({perf.get('reason', 'no CUDA device')}{note})."
    shapes = "; ".join(f"{s.get('shape')} {s.get('dtype')}: {s.get('efficiency', 0):.0%} of the roofline"
                       for s in perf.get("shapes", ()))
    return f"Performance on {perf.get('device')}: score {perf.get('score', 0):.2f} ({shapes}{note})."


def kernel_result(report: KernelReport, weight: float) -> Result:
    """A KernelReport as a Result: the correctness gate, then the performance share ``weight``."""
    cases = report.to_json()["cases"]
    how = report.feedback[0] if report.feedback else report.mode
    counts = f"Correctness: {cases['passed']}/{cases['total']} cases pass ({how})."
    if report.status == "skipped":
        return error(f"This kernel cannot be checked on this machine: {' '.join(report.feedback)}")
    if report.status == "error":
        return error(" ".join(report.feedback) or "the kernel could not be checked")
    if report.status != "passed":
        return Result("incorrect", 0.0, (counts, *report.feedback[1:]), matched="kernel")
    perf = report.performance or {}
    line = _performance_line(perf, counted=weight > 0)
    measured = report.performance_score
    if weight <= 0:
        return Result("correct", 1.0, ("Correct.", counts, line))
    if measured is None:
        share = f"The performance share ({weight:.0%} of the points) needs a CUDA GPU: not awarded."
        return Result("partial", round(1.0 - weight, 6), (counts, line, share))
    score = round((1.0 - weight) + weight * min(1.0, max(0.0, measured)), 6)
    return Result("correct" if score >= 1.0 else "partial", min(score, 1.0), (counts, line))


def _grading_digest(task: KernelTask, files: dict[str, bytes], root: Path) -> str:
    """Student files, the task, the reference and the machine's way of running it."""
    from grader.kernels.check import execution_mode

    mode, why = execution_mode(task)
    reference = root / KERNEL_REFERENCES
    grading = json.dumps([asdict(task), mode, why], sort_keys=True, default=str).encode()
    return files_digest(files, grading + (reference.read_bytes() if reference.is_file() else b""))


def grade_kernel_entry(task: KernelTask, workspace: Path, entry: ManifestItem,
                       root: Path = COURSE_ROOT, cache: Path | None = None,
                       timeout_s: float | None = None) -> Result:
    """Check the student's kernel for ``entry`` in the sandbox and grade it.

    A missing file or the untouched template is "unanswered" without running anything;
    with ``cache`` (practice workspaces), unchanged files reuse the last result.
    ``timeout_s`` bounds each call of the kernel (default: the kernel check's 120 s).
    Where the sandbox cannot run (not Linux), anything else is the grader's error that says so.
    """
    found = submission_files(workspace, entry)
    if isinstance(found, Result):
        return found
    main = Path(entry.files[0]).name  # one file per kernel: the folder holds the other tasks' files
    files = {main: found[main]}
    if is_template(root / task.template, files):
        return not_started(entry)
    unavailable = (sandbox_unavailable("Kernel tasks", "kernels")
                   or missing_requirements(f"Kernel task {task.id}", KERNEL_MODULES, "kernels"))
    if unavailable is not None:
        return unavailable
    from grader.kernels.check import check_kernel  # Linux only from here on (resource, the sandbox)

    digest = _grading_digest(task, files, root)
    cached = cached_result(cache, entry.id, digest)
    if cached is not None:
        return cached
    limits = Limits(call_timeout_s=timeout_s) if timeout_s else None
    result = kernel_result(check_kernel(task, files, limits), entry.performance)
    if result.status != "error":
        remember_result(cache, entry.id, digest, result)
    return result
