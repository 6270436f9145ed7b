"""How the sandboxed process is isolated: Linux namespaces when the kernel allows them,
otherwise a plain separate process with rlimits (and a clear warning, once)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import warnings
from functools import lru_cache
from pathlib import Path

NAMESPACES = "namespaces"
RLIMITS = "rlimits"
_UNSHARE_OUTER = ["--user", "--map-root-user", "--net", "--mount", "--pid", "--fork", "--mount-proc"]


class SandboxWarning(UserWarning):
    """Student code runs with weaker isolation than intended."""


@lru_cache(maxsize=1)
def _namespaces_work() -> str | None:
    """None when user, net, mount and pid namespaces can be created; else the reason."""
    unshare = shutil.which("unshare")
    if sys.platform != "linux" or unshare is None:
        return "not Linux or no 'unshare' command"
    try:
        probe = subprocess.run([unshare, *_UNSHARE_OUTER, "/bin/sh", "-c",
                                "mount -t tmpfs tmpfs /mnt && exec unshare --user --mount /bin/true"],
                               capture_output=True, timeout=10, env={})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if probe.returncode == 0 else (probe.stderr.decode(errors="replace").strip() or "failed")


def isolation_mode() -> str:
    """NAMESPACES or RLIMITS. GRADE_SANDBOX=rlimits forces the fallback (for tests)."""
    if os.environ.get("GRADE_SANDBOX") == RLIMITS:
        return RLIMITS
    reason = _namespaces_work()
    if reason is None:
        return NAMESPACES
    _warn_once(reason)
    return RLIMITS


@lru_cache(maxsize=1)
def _warn_once(reason: str) -> None:
    warnings.warn(
        f"Linux namespaces are unavailable ({reason}). Student code runs in a separate process "
        "with resource limits and an audit hook that blocks network and process creation, but it "
        "can read any file your user can read. Grade untrusted code on a machine where "
        "'unshare --user' works.", SandboxWarning, stacklevel=3)


def hidden_paths(secret_roots: list[Path], keep: list[Path]) -> list[Path]:
    """Top-level entries of each secret root to hide, sparing any that contain a kept path."""
    out: list[Path] = []
    kept = [p.resolve() for p in keep]
    for root in secret_roots:
        if not root.is_dir():
            continue
        for entry in sorted(root.iterdir()):
            resolved = entry.resolve()
            if any(k == resolved or resolved in k.parents for k in kept):
                continue
            out.append(entry)
    return out


def _hide_and_freeze(hide: list[Path], writable: list[str]) -> list[str]:
    """Shell lines: cover ``hide`` with empty tmpfs, then remount every other mount read-only."""
    lines = []
    for path in hide:
        quoted = shlex.quote(str(path))
        if path.is_dir():
            lines.append(f"mount -t tmpfs -o size=1k,mode=000 tmpfs {quoted}")
        elif path.exists():
            lines.append(f"mount --bind /dev/null {quoted}")
    spared = "|".join(["/proc", "/proc/*", *(f"{w}|{w}/*" for w in writable)])
    lines.append("awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r mp; do "
                 f"case \"$mp\" in {spared}) continue;; esac; "
                 "mount -o remount,bind,ro \"$mp\" 2>/dev/null || true; done")
    return lines


def _outer(script: list[str]) -> list[str]:
    return [shutil.which("unshare") or "unshare", *_UNSHARE_OUTER, "/bin/sh", "-c", "\n".join(script)]


def wrap_command(command: list[str], box_root: Path, job_dir: Path, hide: list[Path],
                 mode: str, work_bytes: int = 64 << 20, work_inodes: int = 4096) -> list[str]:
    """The command line that runs ``command`` isolated.

    Namespaces: new user, net, mount and pid namespaces. The job folder is bind-mounted
    read-only at ``box_root``, except its output log (a file bind, size-capped by rlimit)
    and ``work/``, a small tmpfs (``work_bytes``, ``work_inodes``) filled from ``src/``,
    so a submission cannot fill the disk. The folders in ``hide`` (the jobs and trusted
    folders, the repository with its hidden tests) are covered by empty tmpfs, every other
    mount is made read-only, and a second user+mount namespace locks all of it so the
    student's process cannot undo it.
    """
    if mode != NAMESPACES:
        return command
    box = shlex.quote(str(box_root))
    script = ["set -e",
              f"mount --bind {shlex.quote(str(job_dir))} {box}",
              f"mount --bind {box}/output.log {box}/output.log",
              f"mount -t tmpfs -o size={work_bytes},nr_inodes={work_inodes},mode=700 tmpfs {box}/work",
              f"cp -R {box}/src/. {box}/work/",
              f"mount -o remount,bind,ro {box}",
              *_hide_and_freeze(hide, [box]),
              # a shell waits for the command and reports a signal death as 128 + N: util-linux's
              # unshare (2.38) makes any signal death of its child exit status 1. Its command
              # line shows the student's command only, not this script's hidden paths.
              "exec " + shlex.join([shutil.which("unshare") or "unshare", "--user", "--mount",
                                    "/bin/sh", "-c", '"$0" "$@"; exit $?', *command])]
    return _outer(script)


def wrap_zygote(command: list[str], box_root: Path, jobs_dir: Path, hide: list[Path], mode: str) -> list[str]:
    """Like ``wrap_command`` for a zygote: the jobs folder stays visible and writable (each
    forked child mounts its own job and then hides the folder), and nothing is locked yet."""
    if mode != NAMESPACES:
        return command
    jobs = shlex.quote(str(jobs_dir))
    script = ["set -e", f"mount --bind {jobs} {jobs}",
              *_hide_and_freeze(hide, [shlex.quote(str(box_root)), jobs]),
              "exec " + shlex.join(command)]
    return _outer(script)
