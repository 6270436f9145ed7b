"""Correctness of a student's kernel: every case runs in the sandbox, after the fp32
reference has been computed on clones of the same inputs. On a CUDA GPU a correct kernel
is then timed in its sandbox on the task's bench shapes and judged against the roofline.

On a machine without CUDA, PyTorch kernels run directly on the CPU and Triton kernels run
under Triton's interpreter (``TRITON_INTERPRET=1``) in the sandboxed process, labelled
"interpreter-checked"; without Triton installed they are skipped with the reason.

A Triton kernel that passes every case is run again on a couple of cases in a second sandbox
whose Triton launches do nothing (``no_launch.py``): if its output is still right, the kernel
did not compute it. Everything a task does (cases, that check, timing) shares one wall-clock
budget, ``Limits.total_s``; no call may wait past it.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import resource
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grader.kernels.compare import compare_outputs
from grader.kernels.inputs import make_inputs
from grader.kernels.roofline import Device, NoGPU, current_device, floor_seconds, judge
from grader.kernels.spec import KernelTask, traffic
from grader.kernels.static import static_problems
from grader.kernels.timing import L2_FLUSH_BYTES, Timing, call_seconds, confirm, summarize
from grader.sandbox.child import PREIMPORT_ENV
from grader.sandbox.isolation import isolation_mode
from grader.sandbox.limits import Limits
from grader.sandbox.session import Job, Sandbox, SandboxFailure, StudentError

INTERPRETER_ENV = {"TRITON_INTERPRET": "1"}
# On a GPU, Triton compiles in the sandbox: it runs ptxas and a C compiler (so the job allows
# programs) and writes its cache and temporary files, which must stay inside the job's work/.
TRITON_GPU_ENV = {"TRITON_HOME": "{job}/work/.triton", "TRITON_CACHE_DIR": "{job}/work/.triton/cache",
                  "TMPDIR": "{job}/work"}
REFERENCES = "grader.course.solutions.kernels.reference"
# The ghost-launch check: this harness goes into the sandbox beside the student's file and is
# imported before it (child.py's GRADE_PREIMPORT hook).
NO_LAUNCH_MODULE = "_grade_no_launch"
NO_LAUNCH_SOURCE = Path(__file__).with_name("no_launch.py")
NO_LAUNCH_UNAVAILABLE = "LaunchPatchUnavailable"
GHOST_CASES = 2
GHOST_MESSAGE = ("your output does not come from your Triton kernel (it is unchanged when the "
                 "kernel launches are skipped)")
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
    stopped: str = ""              # why the cases stopped early, when it was not the kernel's answer
    launch: str = ""               # the ghost-launch check's verdict: a problem, or "" when fine

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


class BudgetSpent(Exception):
    """The task's total time budget ran out."""


class Budget:
    """One task's wall-clock budget (``Limits.total_s``), shared by every sandbox call it
    makes: ``arm`` shortens the sandbox's call (and start-up) deadline to what is left."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total_s = limits.total_s
        self.ends = time.monotonic() + limits.total_s
        self.short = False  # whether the last arm cut a deadline to the budget's end

    def left(self) -> float:
        return self.ends - time.monotonic()

    def arm(self, box: Sandbox) -> None:
        """Before each request to ``box``: raise BudgetSpent when nothing is left, else
        bound its deadlines by the rest of the budget."""
        left = self.left()
        if left <= 0:
            raise BudgetSpent(self.message())
        call, startup = self.limits.call_timeout_s, self.limits.startup_timeout_s
        self.short = left < max(call, startup)
        box.limits = replace(box.limits, call_timeout_s=min(call, left), startup_timeout_s=min(startup, left))

    def ran_out(self, exc: SandboxFailure) -> bool:
        """Whether a failure is the budget's deadline, not the call's own."""
        return exc.kind == "timeout" and self.short and self.left() <= 0.5

    def message(self) -> str:
        return f"the task's total time budget of {self.total_s:g} s ran out"


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
               seed: int, watch: tuple[str, ...], budget: Budget | None = None) -> _Run:
    """One run: stage fresh inputs, ping (the channel latency now), run, fetch and check."""
    arm = budget.arm if budget is not None else lambda box: None
    device = "cuda" if clock == "cuda" else None
    inputs = make_inputs(task, dims, dtype, seed, device or "cpu")  # drawn on the GPU: fast
    want = reference_outputs(task, inputs)
    arm(box)
    box.stage(task.entry_point, inputs, device, L2_FLUSH_BYTES if device else 0)
    arm(box)
    latency = box.ping(clock)
    arm(box)
    trusted, event_s, wall_s = box.run(clock, watch)
    wants = want if isinstance(want, (tuple, list)) else (want,)
    arm(box)
    got = box.fetch(max_bytes=8 * sum(w.numel() for w in wants) + (1 << 16))
    return _Run(call_seconds(event_s, wall_s), trusted, latency,
                compare_outputs(task, got, want, dtype, device or "cpu", box.devices))


def time_student(box: Sandbox, task: KernelTask, dims: dict[str, Any], dtype: str,
                 clock: str = "cuda", runs: int = RUNS, warmup: int = WARMUP,
                 budget: Budget | None = None) -> StudentTiming:
    """Time ``task``'s entry point in ``box`` on shape ``dims``: ``warmup`` runs (watched for
    forbidden ops), then ``runs`` timed runs, each on fresh inputs with its output checked.
    ``clock``: "cuda" (events, L2 flush, device-wide synchronise) or "cpu" (wall time).
    ``budget``: the task's time budget, which bounds every request.
    Never raises for what the student does: failures come back as problems."""
    done: list[_Run] = []
    problems: list[str] = []
    try:
        for i in range(warmup + runs):
            label = f"warm-up run {i}" if i < warmup else f"timed run {i - warmup}"
            run = _timed_run(box, task, dims, dtype, clock, TIMING_SEED + i,
                             task.forbidden if i < warmup else (), budget)
            problems += [f"{label}: {p}" for p in run.problems]
            if i >= warmup:
                done.append(run)
    except StudentError as exc:
        problems.append(f"timing stopped: {exc}")
    except BudgetSpent as exc:
        box.stop()
        problems.append(f"timing stopped: {exc}")
    except SandboxFailure as exc:
        why = budget.message() if budget is not None and budget.ran_out(exc) else f"{exc.kind}: {exc.detail}"
        problems.append(f"timing stopped: {why}")
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
                        runs: int = RUNS, budget: Budget | None = None) -> dict[str, Any]:
    """``report.performance`` for a correct kernel: every bench shape timed in ``box`` and
    judged against ``device``'s roofline; the score is the worst shape's."""
    shapes = []
    for bench in task.bench:
        dims = {k: v for k, v in bench.items() if k != "dtype"}
        timing = time_student(box, task, dims, bench["dtype"], clock, runs, budget=budget)
        shapes.append(judge_shape(task, dims, bench["dtype"], timing, device))
    return {"status": "measured", "device": device.name,
            "score": min((s["score"] for s in shapes), default=0.0), "shapes": shapes}


def _gpu_device() -> Device | str:
    """This machine's GPU from the device table, or why performance cannot be judged."""
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
    check that a correct Triton kernel's output comes from its launches; on a CUDA GPU, time
    a correct kernel on the bench shapes (``runs`` timed runs each). All of it within
    ``limits.total_s`` seconds; every sandbox is stopped on the way out, whatever happens."""
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
    env = INTERPRETER_ENV if mode == "interpreter" else TRITON_GPU_ENV if compiles else None
    sandbox_limits = _sandbox_limits(limits, mode)
    budget = Budget(sandbox_limits)
    job = Job.create(files, Path(main).stem, task.requires, programs=compiles, env=env)
    box = Sandbox(job, sandbox_limits, isolation_mode())
    try:
        _run_cases(box, task, mode, report, budget)
        if task.language == "triton" and _correct(report, task, box):
            _check_launches(task, files, mode, sandbox_limits, env, report, budget)
        if mode == "cuda" and _correct(report, task, box) and not report.launch:
            device = _gpu_device()
            report.performance = measure_performance(box, task, device, "cuda", runs, budget) \
                if isinstance(device, Device) else {"status": "skipped", "reason": device}
    finally:
        box.stop()
        job.remove()
    report.forbidden += [f"called at run time: {name}" for name in sorted(box.watched)]
    _conclude(report, task)
    return report


def _run_cases(box: Sandbox, task: KernelTask, mode: str, report: KernelReport,
               budget: Budget | None = None) -> None:
    """Every correctness case, in order, until the sandbox fails or the budget runs out."""
    budget = budget or Budget(box.limits)
    device = "cuda" if mode == "cuda" else None
    for dtype, dims, seed in cases(task):
        inputs = make_inputs(task, dims, dtype, seed)
        want = reference_outputs(task, inputs)
        try:
            budget.arm(box)
            got = box.call(task.entry_point, tuple(inputs), {}, watch=task.forbidden, device=device)
            problems = compare_outputs(task, got, want, dtype, device or "cpu", box.devices)
        except BudgetSpent as exc:
            box.stop()
            report.stopped = str(exc)
            break
        except StudentError as exc:
            problems = [str(exc)]
            if box.import_error is not None:  # every case would fail the same way
                report.cases.append(CaseResult(dtype, dims, seed, problems))
                break
        except SandboxFailure as exc:
            if budget.ran_out(exc):  # this case's call was cut short by the budget, not its own limit
                report.stopped = budget.message()
            else:
                report.cases.append(CaseResult(dtype, dims, seed, [f"{exc.kind}: {exc.detail}"]))
            break
        report.cases.append(CaseResult(dtype, dims, seed, problems))


def ghost_cases(task: KernelTask) -> list[tuple[str, dict[str, Any], int]]:
    """The cases the ghost-launch check reruns: the first ones with no dimension of size 1,
    which no honest kernel hands to PyTorch as a special case."""
    sizeable = [c for c in cases(task) if all(v > 1 for v in c[1].values() if type(v) is int)]
    return sizeable[:GHOST_CASES]


def _check_launches(task: KernelTask, files: dict[str, bytes], mode: str, limits: Limits,
                    env: dict[str, str] | None, report: KernelReport, budget: Budget) -> None:
    """The ghost-launch check: rerun ``ghost_cases`` in a fresh sandbox whose Triton launches
    do nothing and whose uninitialised allocations are poisoned (``no_launch.py``). A kernel
    whose output is still right there did not compute it: ``report.launch`` says so. A call
    that fails, or an output that is wrong, is what a real kernel's absence looks like."""
    job = Job.create({**files, f"{NO_LAUNCH_MODULE}.py": NO_LAUNCH_SOURCE.read_bytes()},
                     Path(task.template).stem, task.requires, programs=mode == "cuda",
                     env={**(env or {}), PREIMPORT_ENV: NO_LAUNCH_MODULE})
    box = Sandbox(job, limits, isolation_mode())
    device = "cuda" if mode == "cuda" else None
    unchanged = []
    try:
        for dtype, dims, seed in ghost_cases(task):
            inputs = make_inputs(task, dims, dtype, seed)
            want = reference_outputs(task, inputs)
            budget.arm(box)
            try:
                got = box.call(task.entry_point, tuple(inputs), {}, device=device)
            except StudentError:
                failed = box.import_error or {}
                if failed.get("type") == NO_LAUNCH_UNAVAILABLE:  # Triton moved: no verdict
                    report.feedback.append(f"the ghost-launch check could not run: {failed.get('message')}")
                    return
                continue  # the call needed its kernel
            except SandboxFailure as exc:
                if budget.ran_out(exc):
                    raise BudgetSpent(budget.message()) from None
                return  # crashed or hung without its kernel: it needed it
            if not compare_outputs(task, got, want, dtype, device or "cpu", box.devices):
                unchanged.append((dtype, dims, seed))
    except BudgetSpent as exc:
        report.launch = f"{exc} before the ghost-launch check finished"
        return
    finally:
        box.stop()
        job.remove()
    if unchanged:
        report.launch = GHOST_MESSAGE


def _correct(report: KernelReport, task: KernelTask, box: Sandbox) -> bool:
    """Every case ran and passed, and no forbidden op was written or called."""
    return (len(report.cases) == len(cases(task)) and not any(c.problems for c in report.cases)
            and not report.forbidden and not box.watched)


def _conclude(report: KernelReport, task: KernelTask) -> None:
    """The status and the feedback lines, once every case (and any timing) has run."""
    total = len(cases(task))
    failed = [c for c in report.cases if c.problems]
    if not failed and len(report.cases) == total and not report.forbidden and not report.launch:
        report.status = "passed"
    for case in failed[:3]:
        report.feedback.append(f"{case.label}: {case.problems[0]}")
    if len(report.cases) < total:
        report.feedback.append(f"stopped after {len(report.cases)} of {total} cases"
                               + (f": {report.stopped}" if report.stopped else ""))
    if report.launch:
        report.feedback.append(report.launch)
    if report.forbidden:
        report.feedback.append("not allowed in this task: " + "; ".join(report.forbidden[:4]))
    for shape in report.performance.get("shapes", []):
        if shape["problems"]:
            report.feedback.append(f"timing {shape['dtype']} [{shape['shape']}]: {shape['problems'][0]}")
