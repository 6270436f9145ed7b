"""Run an item's tests against a submission: trusted pytest outside, student code inside
the sandbox. The grader's own process imports neither."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader.sandbox.isolation import isolation_mode
from grader.sandbox.limits import Limits
from grader.sandbox.session import THREAD_ENV, Job, last_line, remove_folders_of, sandbox_root

MAX_REPORT = 4 << 20
RUNNER_LOG = "runner.log"
PR_SET_PDEATHSIG = 1
RUNNER_SLACK_S = 30.0
# Only what grading needs: one-line failure messages, no output capture, no terminal
# reporter or warning/log plugins (each costs time on every test of every submission).
PYTEST_INI = ("[pytest]\naddopts = -p no:cacheprovider --tb=line -s -p no:terminal -p no:logging "
              "-p no:warnings -p no:faulthandler -p no:threadexception -p no:unraisableexception\n")


@dataclass
class TestOutcome:
    test: str
    outcome: str          # passed, failed, skipped
    message: str = ""


@dataclass
class CodeRun:
    """What the trusted runner reported; ``fatal`` names how the sandbox failed, if it did."""

    outcomes: list[TestOutcome] = field(default_factory=list)
    fatal: tuple[str, str] | None = None
    import_error: dict[str, str] | None = None
    isolation: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(o.outcome == "passed" for o in self.outcomes)


_RUNNERS: set[subprocess.Popen[bytes]] = set()  # this process's live test runners
_RUNNERS_LOCK = threading.Lock()
_STOPPING = threading.Event()


class RunnersStopped(RuntimeError):
    """The command is ending (a signal): no test runner starts any more."""


def stop_all_runners() -> None:
    """Kill every test runner this process started (their zygotes and students die with them),
    and start no more: the command is ending. Each run then ends as a grader failure (never
    cached) and removes its folders."""
    _STOPPING.set()
    with _RUNNERS_LOCK:
        running = list(_RUNNERS)
    for proc in running:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _start_runner(test_file: Path, module: str, preload: tuple[str, ...], limits: Limits,
                  config: dict[str, Any], pass_fds: tuple[int, ...]) -> tuple[Path, subprocess.Popen[bytes]]:
    """A trusted folder (test file, pytest.ini, proxy module, sandbox.json) and its runner."""
    if _STOPPING.is_set():
        raise RunnersStopped("the grader is stopping")
    trusted = Path(tempfile.mkdtemp(dir=sandbox_root() / "trusted", prefix=f"{os.getpid()}-"))
    shutil.copyfile(test_file, trusted / test_file.name)
    (trusted / "pytest.ini").write_text(PYTEST_INI)
    (trusted / f"{module}.py").write_text(
        "from grader.sandbox.plugin import proxy\n\n"
        "def __getattr__(name):\n    return proxy(name)\n")
    (trusted / "sandbox.json").write_text(json.dumps({
        "module": module, "preload": list(preload), "limits": asdict(limits), **config}))
    with open(trusted / RUNNER_LOG, "wb") as log:  # the runner's own complaints (no student output)
        proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "pytest", "-p", "grader.sandbox.plugin", "-c", "pytest.ini",
             "--rootdir", str(trusted), "--confcutdir", str(trusted), test_file.name],
            cwd=trusted, pass_fds=pass_fds, stdout=log, stderr=log,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **THREAD_ENV}, start_new_session=True,
            preexec_fn=_die_with_parent)
    with _RUNNERS_LOCK:
        _RUNNERS.add(proc)
    if _STOPPING.is_set():  # a signal came while it started
        stop_all_runners()
    return trusted, proc


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Wait for a runner that ended (or was killed), forget it, and remove the job and zygote
    folders it left (a killed runner cannot clean up)."""
    proc.wait()
    with _RUNNERS_LOCK:
        _RUNNERS.discard(proc)
    if proc.returncode != 0:
        remove_folders_of(proc.pid)


def _runner_failure(trusted: Path | None) -> tuple[str, str]:
    """The fatal of a runner that ended without reporting: the grader's fault, never the
    student's (e.g. pytest missing), with the last line it wrote."""
    line = last_line(trusted / RUNNER_LOG, 200) if trusted is not None else ""
    return ("grader", f"its test runner stopped before reporting: {line}" if line
            else "its test runner stopped before reporting")


def _die_with_parent() -> None:
    """In the runner, before exec: the kernel kills it when the grader ends, however it ends
    (its zygote and students follow: bubblewrap's --die-with-parent)."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    _reap(proc)


def run_tests(files: dict[str, bytes], module: str, test_file: Path, preload: tuple[str, ...] = (),
              limits: Limits | None = None) -> CodeRun:
    """Run ``test_file`` (trusted) against ``files`` (the submission) and report each test.

    Cold: a new trusted runner and a new interpreter for this one submission. For many
    submissions of one item, ``WarmRunner`` loads all of that once.
    """
    limits = limits or Limits()
    start = time.monotonic()
    job = Job.create(files, module, preload)
    mode = isolation_mode()
    read_fd, write_fd = os.pipe()
    trusted = None
    try:
        trusted, proc = _start_runner(test_file, module, preload, limits,
                                      {"job": str(job.dir), "mode": mode, "result_fd": write_fd},
                                      (write_fd,))
        os.close(write_fd)
        write_fd = -1
        budget = limits.startup_timeout_s + RUNNER_SLACK_S + limits.total_s
        raw = _read_report(read_fd, time.monotonic() + budget)
        if raw is None:
            _kill(proc)
        _reap(proc)
        run = _parse(raw, mode) if raw != b"" else CodeRun(fatal=_runner_failure(trusted), isolation=mode)
    finally:
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
        job.remove()
        if trusted is not None:
            shutil.rmtree(trusted, ignore_errors=True)
    run.seconds = time.monotonic() - start
    return run


class WarmRunner:
    """One item's trusted runner and zygote, kept alive to grade many submissions.

    Each ``run`` still gets a fresh job folder and a freshly forked, isolated student
    process; what is shared is Python, pytest, the collected test module and torch.
    A runner that stops answering is killed and started again on the next run.
    """

    def __init__(self, test_file: Path, module: str, preload: tuple[str, ...] = (),
                 limits: Limits | None = None) -> None:
        self.test_file, self.module, self.preload = test_file, module, preload
        self.limits = limits or Limits()
        self.mode = isolation_mode()
        self._proc: subprocess.Popen[bytes] | None = None
        self._trusted: Path | None = None
        self._control = self._results = -1
        self._buffer = b""

    def _start(self) -> None:
        control_read, self._control = os.pipe()
        self._results, results_write = os.pipe()
        self._trusted, self._proc = _start_runner(
            self.test_file, self.module, self.preload, self.limits,
            {"serve": True, "mode": self.mode, "control_fd": control_read, "result_fd": results_write},
            (control_read, results_write))
        os.close(control_read)
        os.close(results_write)

    def run(self, files: dict[str, bytes]) -> CodeRun:
        """Grade one submission. A runner that died meanwhile is replaced and the submission
        graded again, once, on the new one; one that overran its budget is replaced after."""
        start = time.monotonic()
        job = Job.create(files, self.module, self.preload)
        failure = None
        try:
            for attempt in (1, 2):
                if self._proc is None:
                    self._start()
                line = self._ask(job)
                if line is not None:
                    break
                died = self._proc is not None and self._proc.poll() is not None
                failure = _runner_failure(self._trusted) if died else None
                self.close()
                if not died or attempt == 2:
                    break
        finally:
            job.remove()
        died_twice = line is None and failure is not None
        run = CodeRun(fatal=failure, isolation=self.mode) if died_twice else _parse(line, self.mode)
        run.seconds = time.monotonic() - start
        return run

    def _ask(self, job: Job) -> bytes | None:
        """The runner's report line for ``job``; None when it died or overran its budget."""
        try:
            os.write(self._control, (json.dumps({"job": str(job.dir)}) + "\n").encode())
            budget = self.limits.startup_timeout_s + RUNNER_SLACK_S + self.limits.total_s
            return self._read_line(time.monotonic() + budget)
        except OSError:
            return None

    def _read_line(self, deadline: float) -> bytes | None:
        while b"\n" not in self._buffer:
            wait = deadline - time.monotonic()
            if wait <= 0 or len(self._buffer) > MAX_REPORT:
                return None
            readable, _, _ = select.select([self._results], [], [], wait)
            if readable:
                chunk = os.read(self._results, 1 << 16)
                if not chunk:
                    return None
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def close(self) -> None:
        for fd in (self._control, self._results):
            if fd >= 0:
                os.close(fd)
        self._control = self._results = -1
        self._buffer = b""
        if self._proc is not None:
            _kill(self._proc)
            self._proc = None
        if self._trusted is not None:
            shutil.rmtree(self._trusted, ignore_errors=True)
            self._trusted = None

    def __enter__(self) -> WarmRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_report(fd: int, deadline: float) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        wait = deadline - time.monotonic()
        if wait <= 0:
            return None
        readable, _, _ = select.select([fd], [], [], wait)
        if not readable:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_REPORT:
            return None
        chunks.append(chunk)


def _parse(raw: bytes | None, mode: str) -> CodeRun:
    if raw is None:
        return CodeRun(fatal=("timeout", "the tests did not finish in time"), isolation=mode)
    try:
        doc = json.loads(raw)
        outcomes = [TestOutcome(str(r["test"]), str(r["outcome"]), str(r.get("message", "")))
                    for r in doc["results"]]
        collected = int(doc["collected"])
    except (ValueError, KeyError, TypeError):  # the runner is trusted: its failure is the grader's
        return CodeRun(fatal=("grader", "its test runner did not report"), isolation=mode)
    fatal = doc.get("fatal")
    run = CodeRun(outcomes, (fatal["kind"], fatal["detail"]) if fatal else None,
                  doc.get("import_error"), doc.get("isolation") or mode)
    if collected == 0:  # the trusted tests did not load (a broken torch, say): nothing was tested
        run.fatal = run.fatal or ("grader", "its tests could not be collected")
    elif len(outcomes) != collected:
        run.fatal = run.fatal or ("crashed", f"expected {collected} test results, got {len(outcomes)}")
    return run
