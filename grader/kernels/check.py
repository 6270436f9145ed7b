"""Correctness of a student's kernel: every case runs in the sandbox, after the fp32
reference has been computed on clones of the same inputs.

On a machine without CUDA, PyTorch kernels run directly on the CPU and Triton kernels run
under Triton's interpreter (``TRITON_INTERPRET=1``) in the sandboxed process, labelled
"interpreter-checked"; without Triton installed they are skipped with the reason.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.kernels.compare import compare_outputs
from grader.kernels.inputs import make_inputs
from grader.kernels.spec import KernelTask
from grader.kernels.static import forbidden_uses
from grader.sandbox.isolation import isolation_mode
from grader.sandbox.limits import Limits
from grader.sandbox.session import Job, Sandbox, SandboxFailure, StudentError

INTERPRETER_ENV = {"TRITON_INTERPRET": "1"}
REFERENCES = "solutions.kernels.reference"


@dataclass
class CaseResult:
    dtype: str
    dims: dict[str, Any]
    seed: int
    problems: list[str]

    @property
    def label(self) -> str:
        shape = ", ".join(f"{k}={v}" for k, v in self.dims.items())
        return f"{self.dtype} [{shape}] seed {self.seed}"


@dataclass
class KernelReport:
    """One task's verdict: ``status`` is passed, failed, skipped or error."""

    task: str
    status: str
    mode: str                      # cpu, interpreter or cuda
    cases: list[CaseResult] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)
    performance: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return 1.0 if self.status == "passed" else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "status": self.status, "mode": self.mode, "score": self.score,
                "cases": {"passed": sum(not c.problems for c in self.cases), "total": len(self.cases)},
                "forbidden": self.forbidden, "feedback": self.feedback, "performance": self.performance}


def execution_mode(task: KernelTask) -> tuple[str | None, str]:
    """(mode, why): mode is None when this machine cannot check the task."""
    import torch

    if torch.cuda.is_available():
        return "cuda", "CUDA device available"
    if task.language == "pytorch":
        return "cpu", "PyTorch kernel, run on the CPU"
    if importlib.util.find_spec("triton") is None:
        return None, ("Triton is not installed, so this Triton kernel cannot be checked on a "
                      "machine without CUDA (pip install triton runs it under Triton's interpreter)")
    return "interpreter", "interpreter-checked: Triton kernel run by Triton's CPU interpreter"


def reference_outputs(task: KernelTask, inputs: list[Any]) -> Any:
    """The trusted fp32 reference, on clones (so nothing the reference does can leak)."""
    func = getattr(importlib.import_module(REFERENCES), task.id)
    return func(*[a.clone() if hasattr(a, "clone") else a for a in inputs])


def cases(task: KernelTask) -> list[tuple[str, dict[str, Any], int]]:
    """Every (dtype, shape, seed) the correctness check runs; seeds differ per case, so a
    kernel that replays an earlier output is caught."""
    out = []
    for d, dtype in enumerate(task.dtypes):
        for s, dims in enumerate(task.shapes):
            out += [(dtype, dims, 1000 * d + 10 * s + k) for k in range(task.seeds)]
    return out


def check_kernel(task: KernelTask, files: dict[str, bytes], limits: Limits | None = None) -> KernelReport:
    """Run every correctness case of ``task`` against ``files`` (the student's .py files)."""
    mode, why = execution_mode(task)
    if mode is None:
        return KernelReport(task.id, "skipped", "none", feedback=[why],
                            performance={"status": "skipped", "reason": "no CUDA device"})
    main = Path(task.template).name
    if main not in files:
        return KernelReport(task.id, "error", mode, feedback=[f"no {main} in the submission"])
    forbidden = [use for name, data in sorted(files.items())
                 for use in forbidden_uses(data.decode("utf-8", "replace"), task.forbidden, name)]
    report = KernelReport(task.id, "failed", mode, forbidden=forbidden, feedback=[why])
    job = Job.create(files, Path(main).stem, task.requires,
                     env=INTERPRETER_ENV if mode == "interpreter" else None)
    box = Sandbox(job, limits or Limits(call_timeout_s=120.0), isolation_mode())
    try:
        for dtype, dims, seed in cases(task):
            inputs = make_inputs(task, dims, dtype, seed)
            want = reference_outputs(task, inputs)
            try:
                device = "cuda" if mode == "cuda" else None
                got = box.call(task.entry_point, tuple(inputs), {}, watch=task.forbidden, device=device)
                problems = compare_outputs(task, got, want, dtype, device or "cpu", box.devices)
            except StudentError as exc:
                problems = [str(exc)]
            except SandboxFailure as exc:
                report.cases.append(CaseResult(dtype, dims, seed, [f"{exc.kind}: {exc.detail}"]))
                break
            report.cases.append(CaseResult(dtype, dims, seed, problems))
    finally:
        box.stop()
        job.remove()
    report.forbidden += [f"called at run time: {name}" for name in sorted(box.watched)]
    total = len(cases(task))
    failed = [c for c in report.cases if c.problems]
    if not failed and len(report.cases) == total and not report.forbidden:
        report.status = "passed"
    for case in failed[:3]:
        report.feedback.append(f"{case.label}: {case.problems[0]}")
    if len(report.cases) < total:
        report.feedback.append(f"stopped after {len(report.cases)} of {total} cases")
    if report.forbidden:
        report.feedback.append("uses an op this task forbids: " + "; ".join(report.forbidden[:4]))
    report.performance = {"status": "skipped", "reason": "no CUDA device: performance is only "
                          "measured on a GPU"} if mode != "cuda" else {
        "status": "skipped", "reason": "timing student kernels inside the sandbox on a GPU is "
                                       "not built yet (see grade kernel bench for the references)"}
    return report
