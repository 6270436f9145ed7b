"""Run an item's tests against a submission: trusted pytest outside, student code inside
the sandbox. The grader's own process imports neither."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.sandbox.isolation import isolation_mode
from grader.sandbox.limits import Limits
from grader.sandbox.session import Job, sandbox_root

MAX_REPORT = 4 << 20
RUNNER_SLACK_S = 30.0
PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider -q\n"


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


def run_tests(files: dict[str, bytes], module: str, test_file: Path, preload: tuple[str, ...] = (),
              limits: Limits | None = None) -> CodeRun:
    """Run ``test_file`` (trusted) against ``files`` (the submission) and report each test."""
    limits = limits or Limits()
    start = time.monotonic()
    job = Job.create(files, module, preload)
    trusted = Path(tempfile.mkdtemp(dir=sandbox_root() / "trusted"))
    read_fd, write_fd = os.pipe()
    try:
        shutil.copyfile(test_file, trusted / test_file.name)
        (trusted / "pytest.ini").write_text(PYTEST_INI)
        (trusted / f"{module}.py").write_text(
            "from grader.sandbox.plugin import proxy\n\n"
            "def __getattr__(name):\n    return proxy(name)\n")
        mode = isolation_mode()
        (trusted / "sandbox.json").write_text(json.dumps({
            "job": str(job.dir), "module": module, "preload": list(preload),
            "limits": asdict(limits), "mode": mode, "result_fd": write_fd}))
        proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "pytest", "-p", "grader.sandbox.plugin", "-c", "pytest.ini",
             "--rootdir", str(trusted), "--confcutdir", str(trusted), test_file.name],
            cwd=trusted, pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, start_new_session=True)
        os.close(write_fd)
        write_fd = -1
        budget = limits.startup_timeout_s + RUNNER_SLACK_S + limits.total_s
        raw = _read_report(read_fd, time.monotonic() + budget)
        if raw is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        run = _parse(raw, mode)
    finally:
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
        job.remove()
        shutil.rmtree(trusted, ignore_errors=True)
    run.seconds = time.monotonic() - start
    return run


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
    except (ValueError, KeyError, TypeError):
        return CodeRun(fatal=("crashed", "the test runner did not report"), isolation=mode)
    fatal = doc.get("fatal")
    run = CodeRun(outcomes, (fatal["kind"], fatal["detail"]) if fatal else None,
                  doc.get("import_error"), doc.get("isolation") or mode)
    if collected == 0 or len(outcomes) != collected:
        run.fatal = run.fatal or ("crashed", f"expected {collected} test results, got {len(outcomes)}")
    return run
