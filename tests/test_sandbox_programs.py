"""A job that allows programs (a Triton kernel compiled on a GPU runs ptxas and a C compiler):
its student process may start programs and write temporary files inside its work folder,
while everything else the sandbox refuses stays refused; a job without the allowance still
cannot start anything. ``{job}`` in a job variable is the job folder as the child sees it."""

from __future__ import annotations

import pytest

from grader.kernels.check import TRITON_GPU_ENV
from grader.sandbox.isolation import isolation_mode
from grader.sandbox.limits import Limits
from grader.sandbox.session import Job, Sandbox, SandboxFailure, StudentError

pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox]  # the sandbox itself

STUDENT = b'''
import os
import socket
import subprocess
import tempfile


def run_program():
    return subprocess.run(["/bin/sh", "-c", "echo compiled"], capture_output=True, text=True).stdout


def temp_file():
    fd, path = tempfile.mkstemp(suffix=".ptx")
    os.write(fd, b"ptx")
    os.close(fd)
    return [path, os.environ["TRITON_CACHE_DIR"], os.getcwd()]


def open_socket():
    return str(socket.socket())


def program_opens_socket():
    code = "import socket; socket.socket()"
    return subprocess.run(["/usr/bin/env", "python3", "-c", code], capture_output=True).returncode
'''


def _box(programs: bool) -> tuple[Job, Sandbox]:
    job = Job.create({"kern.py": STUDENT}, "kern", env=TRITON_GPU_ENV if programs else None,
                     programs=programs)
    return job, Sandbox(job, Limits(call_timeout_s=20), isolation_mode())


def test_a_job_that_allows_programs_runs_them_and_keeps_its_files_inside():
    job, box = _box(programs=True)
    try:
        assert box.call("run_program", (), {}) == "compiled\n"
        path, cache, cwd = box.call("temp_file", (), {})
        assert path.startswith(cwd + "/") and path.endswith(".ptx")  # TMPDIR is the work folder
        assert cache == cwd + "/.triton/cache"
        with pytest.raises(StudentError, match="Operation not permitted"):  # seccomp, as ever
            box.call("open_socket", (), {})
    finally:
        box.stop()
        job.remove()


def test_the_programs_it_starts_inherit_the_sandbox():
    job, box = _box(programs=True)
    try:
        assert box.call("program_opens_socket", (), {}) != 0  # seccomp refuses it there too
    finally:
        box.stop()
        job.remove()


def test_a_job_without_the_allowance_cannot_start_a_program():
    job, box = _box(programs=False)
    try:
        with pytest.raises(SandboxFailure) as failure:
            box.call("run_program", (), {})
        assert failure.value.kind == "forbidden" and "subprocess.Popen" in failure.value.detail
    finally:
        box.stop()
        job.remove()
