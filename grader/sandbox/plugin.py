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
from _pytest.runner import runtestprotocol

from grader.sandbox.limits import Limits
from grader.sandbox.session import Job, Sandbox, SandboxFailure, StudentError, Zygote

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
    if not _state["config"].get("serve"):  # cold: the zygote imports torch while pytest collects
        _sandbox().prepare()


def _sandbox() -> Sandbox:
    if _state["sandbox"] is None:  # cold mode: one submission, named in sandbox.json
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


def _report() -> dict[str, Any]:
    """The current submission's outcome; stops its sandbox."""
    box: Sandbox | None = _state["sandbox"]
    fatal: SandboxFailure | None = box.fatal if box else None
    out = {"collected": _state["collected"], "results": _state["results"],
           "fatal": {"kind": fatal.kind, "detail": fatal.detail} if fatal else None,
           "import_error": box.import_error if box else None,
           "isolation": box.mode if box else None}
    if box is not None:
        box.stop()
    return out


def _write(data: bytes) -> None:
    fd = int(_state["config"]["result_fd"])
    while data:
        data = data[os.write(fd, data):]


def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """Serving mode: run the collected tests once per submission named on the control pipe.

    Python, pytest, the test module and (through the zygote) torch are loaded once; each
    submission still gets a fresh, isolated student process. A zygote that dies or stops
    answering is replaced, and the submission it failed is graded again, once, on the new one:
    whatever a submission does, the next one's result is what it would have been alone.
    """
    config = _state["config"]
    if not config.get("serve"):
        return None
    limits = Limits(**config["limits"])
    preload, mode = tuple(config["preload"]), config["mode"]
    zygote = Zygote(preload, mode, limits)
    try:
        with os.fdopen(int(config["control_fd"]), "r") as control:
            for line in control:
                request = json.loads(line)
                for attempt in (1, 2):
                    if not zygote.healthy:
                        zygote.close()
                        zygote = Zygote(preload, mode, limits)
                    report = _grade_once(session, Job(Path(request["job"]), config["module"], preload),
                                         limits, mode, zygote)
                    if zygote.healthy or attempt == 2:
                        break
                _write((json.dumps(report) + "\n").encode())
    finally:
        zygote.close()
    return True


def _grade_once(session: pytest.Session, job: Job, limits: Limits, mode: str,
                zygote: Zygote) -> dict[str, Any]:
    """Run every collected test against ``job`` in a child of ``zygote``; its report."""
    _state["results"] = []
    _state["sandbox"] = Sandbox(job, limits, mode, zygote=zygote)
    for i, item in enumerate(session.items):
        nextitem = session.items[i + 1] if i + 1 < len(session.items) else None
        item._initrequest()  # type: ignore[attr-defined]  # as pytest-rerunfailures does
        runtestprotocol(item, nextitem=nextitem, log=True)
    report = _report()
    _state["sandbox"] = None
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _state["config"].get("serve"):
        _write(json.dumps(_report()).encode())
    os.close(int(_state["config"]["result_fd"]))


__all__ = ["StudentError", "proxy"]
