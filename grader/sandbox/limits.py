"""Resource limits applied to the sandboxed process before it starts."""

from __future__ import annotations

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
    extra_processes: int = 64        # RLIMIT_NPROC where the student has a user of its own
    trusted_memory_bytes: int = 8 << 30  # the trusted runner, against replies that balloon

    def with_timeout(self, seconds: float | None) -> Limits:
        return self if seconds is None else replace(self, call_timeout_s=float(seconds))
