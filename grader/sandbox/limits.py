"""Resource limits applied to the sandboxed process before it starts."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Limits:
    """What one submission's process may use. Wall-clock time is enforced from outside."""

    call_timeout_s: float = 20.0      # one call of the student's function
    total_s: float = 180.0            # all of one item's tests against one submission
    startup_timeout_s: float = 60.0   # interpreter + torch + student import
    cpu_s: int = 120
    memory_bytes: int = 4 << 30       # address space
    file_bytes: int = 16 << 20        # any file written, the output log included
    work_bytes: int = 64 << 20        # all of work/ together (namespaces: a tmpfs)
    work_inodes: int = 4096
    open_files: int = 256
    extra_processes: int = 64
    trusted_memory_bytes: int = 8 << 30  # the trusted runner, against replies that balloon

    def with_timeout(self, seconds: float | None) -> Limits:
        return self if seconds is None else replace(self, call_timeout_s=float(seconds))


def _processes_of_this_user() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


def limiter(limits: Limits):
    """A ``preexec_fn`` that sets the rlimits in the child between fork and exec."""
    nproc = _processes_of_this_user() + limits.extra_processes

    def apply() -> None:
        for which, value in ((resource.RLIMIT_CPU, limits.cpu_s),
                             (resource.RLIMIT_AS, limits.memory_bytes),
                             (resource.RLIMIT_FSIZE, limits.file_bytes),
                             (resource.RLIMIT_NOFILE, limits.open_files),
                             (resource.RLIMIT_NPROC, nproc),
                             (resource.RLIMIT_CORE, 0)):
            # CPU: hard one second above soft, so SIGXCPU (a timeout) comes before SIGKILL
            resource.setrlimit(which, (value, value + 1 if which == resource.RLIMIT_CPU else value))

    return apply
