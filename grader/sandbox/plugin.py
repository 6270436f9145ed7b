"""pytest plugin for the trusted test runner: the student's function is a proxy into
the sandbox, and each test's outcome is written to the grader over a private pipe.

The runner is started by ``grader.sandbox.runner`` as
``python -I -m pytest -p grader.sandbox.plugin ...`` in a trusted folder holding the
item's tests, a generated proxy module named like the student's module, and
``sandbox.json`` (job folder, module, limits, result fd). No student code is ever
imported in this process.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
from pathlib import Path
from typing import Any

import pytest

from grader.sandbox.limits import Limits
from grader.sandbox.session import Job, Sandbox, SandboxFailure, StudentError

_state: dict[str, Any] = {"results": [], "sandbox": None, "collected": 0, "config": None}
PR_SET_DUMPABLE = 4


def pytest_configure(config: pytest.Config) -> None:
    """Read the job once; harden this process before any student process exists."""
    _state["config"] = json.loads(Path("sandbox.json").read_text("utf-8"))
    limits = Limits(**_state["config"]["limits"])
    resource.setrlimit(resource.RLIMIT_AS, (limits.trusted_memory_bytes, limits.trusted_memory_bytes))
    # not dumpable: a same-user process cannot open /proc/<this pid>/fd, mem or cwd
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _sandbox() -> Sandbox:
    if _state["sandbox"] is None:
        config = _state["config"]
        job = Job(Path(config["job"]), config["module"], tuple(config["preload"]))
        _state["sandbox"] = Sandbox(job, Limits(**config["limits"]), config["mode"])
    return _state["sandbox"]


def proxy(name: str):
    """A stand-in for the student's function ``name`` that calls into the sandbox."""
    def call(*args: Any, **kwargs: Any) -> Any:
        return _sandbox().call(name, args, kwargs)
    call.__name__ = name
    return call


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _state["collected"] = len(items)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and not report.passed):
        message = ""
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            message = crash.message if crash is not None else str(report.longrepr)[-400:]
        _state["results"].append({"test": report.nodeid.split("::", 1)[-1],
                                  "outcome": report.outcome, "message": message[:600]})


def pytest_sessionfinish(session: pytest.Session) -> None:
    box: Sandbox | None = _state["sandbox"]
    fatal: SandboxFailure | None = box.fatal if box else None
    out = {"collected": _state["collected"], "results": _state["results"],
           "fatal": {"kind": fatal.kind, "detail": fatal.detail} if fatal else None,
           "import_error": box.import_error if box else None,
           "isolation": box.mode if box else None}
    if box is not None:
        box.stop()
    fd = int(_state["config"]["result_fd"])
    data = json.dumps(out).encode()
    while data:
        data = data[os.write(fd, data):]
    os.close(fd)


__all__ = ["StudentError", "proxy"]
