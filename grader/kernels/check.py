"""Correctness of a student's kernel: every case runs in the sandbox, after the fp32
reference has been computed on clones of the same inputs. On a CUDA GPU a correct kernel
is then timed in its sandbox on the task's bench shapes and judged against the roofline.

On a machine without CUDA, PyTorch kernels run directly on the CPU and Triton kernels run
under Triton's interpreter (``TRITON_INTERPRET=1``) in the sandboxed process, labelled
"interpreter-checked"; without Triton installed they are skipped with the reason.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import resource
import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grader.kernels.compare import compare_outputs
from grader.kernels.inputs import make_inputs
from grader.kernels.roofline import Device, floor_seconds, judge
from grader.kernels.spec import KernelTask, traffic
from grader.kernels.static import static_problems
from grader.kernels.timing import L2_FLUSH_BYTES, Timing, call_seconds, confirm, summarize
from grader.sandbox.isolation import isolation_mode
from grader.sandbox.limits import Limits
from grader.sandbox.session import Job, Sandbox, SandboxFailure, StudentError

INTERPRETER_ENV = {"TRITON_INTERPRET": "1"}
# On a GPU, Triton compiles in the sandbox: it runs ptxas and a C compiler (so the job allows
# programs) and writes its cache and temporary files, which must stay inside the job's work/.
TRITON_GPU_ENV = {"TRITON_HOME": "{job}/work/.triton", "TRITON_CACHE_DIR": "{job}/work/.triton/cache",
                  "TMPDIR": "{job}/work"}
REFERENCES = "solutions.kernels.reference"
RUNS, WARMUP = 10, 2
TIMING_SEED = 50_000  # timed runs' seeds: none is a correctness case's


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
        """The correctness gate: 1.0 when every case passed and no forbidden op was used."""
        return 1.0 if self.status == "passed" else 0.0

    @property
    def performance_score(self) -> float | None:
        """The roofline score (the worst bench shape's), None when performance was not measured."""
        return float(self.performance["score"]) if self.performance.get("status") == "measured" else None

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


@dataclass(frozen=True)
class StudentTiming:
    """A student kernel timed in its sandbox: what the child reported (by the side-stream
    rule), the round trips by the grader's clock, the channel latency (median ping), and
    every problem (wrong timed outputs, failed runs, times ``confirm`` rejects)."""

    reported: Timing | None
    trusted: Timing | None
    latency_s: float
    problems: tuple[str, ...]


@dataclass(frozen=True)
class _Run:
    reported_s: float
    trusted_s: float
    latency_s: float
    problems: list[str]


def _timed_run(box: Sandbox, task: KernelTask, dims: dict[str, Any], dtype: str, clock: str,
               seed: int, watch: tuple[str, ...]) -> _Run:
    """One run: stage fresh inputs, ping (the channel latency now), run, fetch and check."""
    device = "cuda" if clock == "cuda" else None
    inputs = make_inputs(task, dims, dtype, seed, device or "cpu")  # drawn on the GPU: fast
    want = reference_outputs(task, inputs)
    box.stage(task.entry_point, inputs, device, L2_FLUSH_BYTES if device else 0)
    latency = box.ping(clock)
    trusted, event_s, wall_s = box.run(clock, watch)
    wants = want if isinstance(want, (tuple, list)) else (want,)
    got = box.fetch(max_bytes=8 * sum(w.numel() for w in wants) + (1 << 16))
    return _Run(call_seconds(event_s, wall_s), trusted, latency,
                compare_outputs(task, got, want, dtype, device or "cpu", box.devices))


def time_student(box: Sandbox, task: KernelTask, dims: dict[str, Any], dtype: str,
                 clock: str = "cuda", runs: int = RUNS, warmup: int = WARMUP) -> StudentTiming:
    """Time ``task``'s entry point in ``box`` on shape ``dims``: ``warmup`` runs (watched for
    forbidden ops), then ``runs`` timed runs, each on fresh inputs with its output checked.
    ``clock``: "cuda" (events, L2 flush, device-wide synchronise) or "cpu" (wall time).
    Never raises for what the student does: failures come back as problems."""
    done: list[_Run] = []
    problems: list[str] = []
    try:
        for i in range(warmup + runs):
            label = f"warm-up run {i}" if i < warmup else f"timed run {i - warmup}"
            run = _timed_run(box, task, dims, dtype, clock, TIMING_SEED + i,
                             task.forbidden if i < warmup else ())
            problems += [f"{label}: {p}" for p in run.problems]
            if i >= warmup:
                done.append(run)
    except StudentError as exc:
        problems.append(f"timing stopped: {exc}")
    except SandboxFailure as exc:
        problems.append(f"timing stopped: {exc.kind}: {exc.detail}")
    latency = statistics.median(r.latency_s for r in done) if done else 0.0
    if len(done) < runs or not done:
        return StudentTiming(None, None, latency, tuple(problems[:5]))
    mine, theirs = summarize([r.reported_s for r in done]), summarize([r.trusted_s for r in done])
    forged = confirm(mine.median_s, theirs.median_s, latency)
    return StudentTiming(mine, theirs, latency, tuple(problems[:5]) + ((forged,) if forged else ()))


def judge_shape(task: KernelTask, dims: dict[str, Any], dtype: str, timing: StudentTiming,
                device: Device) -> dict[str, Any]:
    """One bench shape's row of ``report.performance``; score 0 with the problems when the
    timing failed, the outputs were wrong, the times are not credible or beat the floor."""
    row: dict[str, Any] = {"shape": ", ".join(f"{k}={v}" for k, v in dims.items()), "dtype": dtype}
    if timing.reported is None or timing.trusted is None:
        return {**row, "median_us": None, "spread": None, "gb_s": None, "tflop_s": None,
                "efficiency": 0.0, "score": 0.0, "problems": list(timing.problems)}
    median = timing.reported.median_s
    moved, flops = traffic(task, dims, dtype)
    verdict = judge(floor_seconds(moved, flops, device, dtype), median, task.target, not timing.problems)
    return {**row, "median_us": median * 1e6, "spread": timing.reported.spread,
            "round_trip_us": timing.trusted.median_s * 1e6,
            "gb_s": _per_second(moved / 1e9, median), "tflop_s": _per_second(flops / 1e12, median),
            "efficiency": verdict.efficiency if math.isfinite(verdict.efficiency) else None,
            "score": verdict.score,
            "problems": [*timing.problems, *([verdict.problem] if verdict.problem else [])]}


def _per_second(amount: float, seconds: float) -> float | None:
    return amount / seconds if seconds > 0 else None


def measure_performance(box: Sandbox, task: KernelTask, device: Device, clock: str = "cuda",
                        runs: int = RUNS) -> dict[str, Any]:
    """``report.performance`` for a correct kernel: every bench shape timed in ``box`` and
    judged against ``device``'s roofline; the score is the worst shape's."""
    shapes = []
    for bench in task.bench:
        dims = {k: v for k, v in bench.items() if k != "dtype"}
        timing = time_student(box, task, dims, bench["dtype"], clock, runs)
        shapes.append(judge_shape(task, dims, bench["dtype"], timing, device))
    return {"status": "measured", "device": device.name,
            "score": min((s["score"] for s in shapes), default=0.0), "shapes": shapes}


def _gpu_device() -> Device | str:
    """This machine's GPU from the device table, or why performance cannot be judged."""
    from grader.kernels.bench import NoGPU, current_device  # bench imports this module

    try:
        return current_device()
    except NoGPU as exc:
        return str(exc)


def _sandbox_limits(limits: Limits | None, mode: str) -> Limits:
    """On a GPU the address-space limit goes: CUDA reserves far more virtual memory than any
    useful cap (it fails to initialise under one); timing needs more CPU time too."""
    base = limits or Limits(call_timeout_s=120.0)
    if mode != "cuda":
        return base
    return replace(base, memory_bytes=resource.RLIM_INFINITY, cpu_s=max(base.cpu_s, 600))


def check_kernel(task: KernelTask, files: dict[str, bytes], limits: Limits | None = None,
                 runs: int = RUNS) -> KernelReport:
    """Run every correctness case of ``task`` against ``files`` (the student's .py files);
    on a CUDA GPU, time a correct kernel on the bench shapes (``runs`` timed runs each)."""
    mode, why = execution_mode(task)
    if mode is None:
        return KernelReport(task.id, "skipped", "none", feedback=[why],
                            performance={"status": "skipped", "reason": "no CUDA device"})
    main = Path(task.template).name
    if main not in files:
        return KernelReport(task.id, "error", mode, feedback=[f"no {main} in the submission"])
    sources = {name: data.decode("utf-8", "replace") for name, data in sorted(files.items())}
    forbidden = static_problems(sources, task.forbidden, task.language)
    report = KernelReport(task.id, "failed", mode, forbidden=forbidden, feedback=[why])
    report.performance = {"status": "skipped", "reason": "no CUDA device: performance is only "
                          "measured on a GPU"} if mode != "cuda" else {
        "status": "skipped", "reason": "the kernel is not correct, so its speed is not measured"}
    compiles = mode == "cuda" and task.language == "triton"
    job = Job.create(files, Path(main).stem, task.requires, programs=compiles,
                     env=INTERPRETER_ENV if mode == "interpreter" else TRITON_GPU_ENV if compiles else None)
    box = Sandbox(job, _sandbox_limits(limits, mode), isolation_mode())
    try:
        _run_cases(box, task, mode, report)
        if mode == "cuda" and _correct(report, task, box):
            device = _gpu_device()
            report.performance = measure_performance(box, task, device, "cuda", runs) \
                if isinstance(device, Device) else {"status": "skipped", "reason": device}
    finally:
        box.stop()
        job.remove()
    report.forbidden += [f"called at run time: {name}" for name in sorted(box.watched)]
    _conclude(report, task)
    return report


def _run_cases(box: Sandbox, task: KernelTask, mode: str, report: KernelReport) -> None:
    """Every correctness case, in order, until the sandbox fails."""
    device = "cuda" if mode == "cuda" else None
    for dtype, dims, seed in cases(task):
        inputs = make_inputs(task, dims, dtype, seed)
        want = reference_outputs(task, inputs)
        try:
            got = box.call(task.entry_point, tuple(inputs), {}, watch=task.forbidden, device=device)
            problems = compare_outputs(task, got, want, dtype, device or "cpu", box.devices)
        except StudentError as exc:
            problems = [str(exc)]
            if box.import_error is not None:  # every case would fail the same way
                report.cases.append(CaseResult(dtype, dims, seed, problems))
                break
        except SandboxFailure as exc:
            report.cases.append(CaseResult(dtype, dims, seed, [f"{exc.kind}: {exc.detail}"]))
            break
        report.cases.append(CaseResult(dtype, dims, seed, problems))


def _correct(report: KernelReport, task: KernelTask, box: Sandbox) -> bool:
    """Every case ran and passed, and no forbidden op was written or called."""
    return (len(report.cases) == len(cases(task)) and not any(c.problems for c in report.cases)
            and not report.forbidden and not box.watched)


def _conclude(report: KernelReport, task: KernelTask) -> None:
    """The status and the feedback lines, once every case (and any timing) has run."""
    total = len(cases(task))
    failed = [c for c in report.cases if c.problems]
    if not failed and len(report.cases) == total and not report.forbidden:
        report.status = "passed"
    for case in failed[:3]:
        report.feedback.append(f"{case.label}: {case.problems[0]}")
    if len(report.cases) < total:
        report.feedback.append(f"stopped after {len(report.cases)} of {total} cases")
    if report.forbidden:
        report.feedback.append("not allowed in this task: " + "; ".join(report.forbidden[:4]))
    for shape in report.performance.get("shapes", []):
        if shape["problems"]:
            report.feedback.append(f"timing {shape['dtype']} [{shape['shape']}]: {shape['problems'][0]}")
