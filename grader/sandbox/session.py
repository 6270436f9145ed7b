"""The trusted side of one sandboxed process: start it, call into it, stop it.

Pass/fail is never decided here: a call returns the value the student's function
produced (rebuilt from JSON and raw tensor bytes), and the trusted tests judge it.
Every way the process can misbehave ends in one fatal ``kind``.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader.sandbox import wire
from grader.sandbox.isolation import NAMESPACES, isolation_mode, sandbox_uid, write_harness, zygote_command
from grader.sandbox.limits import Limits

# One compute thread per process: a batch already runs one submission per core, and
# OpenMP pools in both the trusted runner and the student process fight over the cores.
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
FATAL_KINDS = ("timeout", "memory_limit", "crashed", "output_limit", "forbidden", "tampered", "grader")
MAX_REPORTED_S = 1e6  # a timed call the child reports as longer than this is not a time
SPAWN_FAILED = 70  # zygote.py's exit status for a child it could not set up
WORK_POLL_S = 0.25  # how often a work folder that is not a tmpfs is measured
STALE_S = 24 * 3600  # a job or zygote folder of an older grader, without its pid, this old is left over


class SandboxFailure(Exception):
    """The sandboxed process can no longer answer; ``kind`` is one of FATAL_KINDS."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class StudentError(Exception):
    """The student's function raised; re-raised in the trusted tests under this name."""


def sandbox_root() -> Path:
    """Per-user folder holding job, trusted and zygote folders (others may pass through to a job
    of theirs, not list). One that another user made first is not used: this process then
    takes a fresh folder of its own."""
    root = Path(tempfile.gettempdir()) / f"grade-sandbox-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        root.mkdir(mode=0o700)
    if root.is_symlink() or root.stat().st_uid != os.getuid():
        root = _private_root()
    for sub in ("jobs", "trusted", "zygotes"):
        (root / sub).mkdir(exist_ok=True, mode=0o700)
    for folder in (root, root / "jobs"):
        folder.chmod(0o711)
    return root


@lru_cache(maxsize=1)
def _private_root() -> Path:
    return Path(tempfile.mkdtemp(prefix=f"grade-sandbox-{os.getuid()}-"))


def _entries(root: Path) -> Iterator[os.DirEntry[str]]:
    for sub in ("jobs", "zygotes", "trusted"):
        entries: list[os.DirEntry[str]] = []
        with contextlib.suppress(OSError):
            entries = list(os.scandir(root / sub))
        yield from entries


def _remove(entry: os.DirEntry[str]) -> None:
    with contextlib.suppress(OSError):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)


@lru_cache(maxsize=1)
def _sweep_once(root: Path) -> None:
    """Remove the job and zygote folders of graders that are gone (a run killed with SIGKILL
    cannot clean up): each folder's name starts with its creator's pid."""
    for entry in _entries(root):
        with contextlib.suppress(OSError):
            owner = entry.name.partition("-")[0]
            unnamed = not owner.isdigit()  # an older grader's (before folders carried a pid)
            if (unnamed and time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_S) or (
                    not unnamed and not _alive(int(owner))):
                _remove(entry)


def remove_folders_of(pid: int) -> None:
    """Remove the job and zygote folders of a process of ours that was killed and reaped (a
    test runner): it could not clean up after itself."""
    for entry in _entries(sandbox_root()):
        if entry.name.partition("-")[0] == str(pid):
            _remove(entry)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def last_line(path: Path, limit: int = 300) -> str:
    """The last line of a harness log (a zygote's or a trusted runner's own complaints), or ""."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.fstat(fh.fileno()).st_size - 2000))
            lines = fh.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:limit] if lines else ""


@dataclass
class Job:
    """A fresh folder with the submission's files (``src/``, copied into the student
    process's own ``work/``), its output log and the grader's settings for the child."""

    dir: Path
    module: str
    preload: tuple[str, ...] = ()

    @classmethod
    def create(cls, files: dict[str, bytes], module: str, preload: tuple[str, ...] = (),
               env: dict[str, str] | None = None, programs: bool = False) -> Job:
        """``env``: variables the child sets before importing the student's module (``{job}``
        in a value: the job folder as the child sees it). ``programs``: the child may start
        programs (seccomp and the audit hook allow fork and exec; namespaces and limits still
        apply)."""
        job = Path(tempfile.mkdtemp(dir=sandbox_root() / "jobs", prefix=f"{os.getpid()}-"))
        if env:
            (job / "env.json").write_text(json.dumps(env), "utf-8")
        if programs:
            (job / "policy.json").write_text(json.dumps({"programs": True}), "utf-8")
        for sub in ("src", "work"):
            (job / sub).mkdir()
        for name, data in files.items():  # src/: the pristine copy the child's work/ is filled from
            (job / "src" / name).write_bytes(data)
        (job / "output.log").touch()
        _open_to_sandbox_user(job)
        return cls(job, module, preload)

    def env(self) -> dict[str, str]:
        """The variables asked for in ``env.json`` (``{job}`` not yet replaced)."""
        try:
            env = json.loads((self.dir / "env.json").read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {}

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _open_to_sandbox_user(job: Path) -> None:
    """A root grader's student process runs as ``SANDBOX_UID``: it reads the job and writes
    its log and work folder (the folders above stay the grader's own)."""
    uid = sandbox_uid()
    if uid is None:
        return
    for path in (job, *job.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    for path in (job / "output.log", job / "work"):
        os.chown(path, uid, uid)


class Zygote:
    """A pre-imported parent process that forks one student process per submission.

    In namespaces mode it runs in bubblewrap (``isolation.box_command``) and sees one folder
    of jobs, its ``slot``: a job is moved in for its turn and moved back after."""

    def __init__(self, preload: tuple[str, ...], mode: str, limits: Limits,
                 env: dict[str, str] | None = None) -> None:
        """``env``: a job's variables, set before the preloads are imported (Triton reads
        TRITON_INTERPRET then); ``{job}`` stands for the job folder as the child sees it."""
        root = sandbox_root()
        _sweep_once(root)
        self.dir = Path(tempfile.mkdtemp(dir=root / "zygotes", prefix=f"{os.getpid()}-"))
        self.slot = Path(tempfile.mkdtemp(dir=root / "jobs", prefix=f"{os.getpid()}-"))
        self.slot.chmod(0o711)
        self._errors = self.dir.with_suffix(".log")  # outside the harness folder the child sees
        write_harness(self.dir, mode, preload)
        self.mode, self.limits = mode, limits
        self.failed = ""
        command = zygote_command(mode, self.dir, self.slot, preload)
        job_dir = "/box" if mode == NAMESPACES else str(self.slot)
        variables = {k: v.replace("{job}", job_dir) for k, v in (env or {}).items()}
        with open(self._errors, "wb") as errors:  # the harness's own failures only
            self._proc = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                env={**variables, **THREAD_ENV}, start_new_session=True)

    def last_error(self) -> str:
        """The zygote's last complaint (a child it could not set up), if any."""
        return last_line(self._errors)

    def inside(self, job: Job) -> str:
        """The job folder's path as the zygote sees it."""
        return f"/jobs/{job.dir.name}" if self.mode == NAMESPACES else str(job.dir)

    def _ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise self._broken("the zygote is gone") from None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        line = self._proc.stdout.readline() if ready else b""
        if not line:
            raise self._broken("the zygote did not answer")
        try:
            answer = json.loads(line)
        except ValueError:
            raise self._broken("the zygote answered nonsense") from None
        return answer if isinstance(answer, dict) else {}

    def _broken(self, why: str) -> SandboxFailure:
        """The zygote cannot be trusted to serve another submission: ``healthy`` turns False.
        The zygote is the grader's (its preloads, say a broken torch, failed): never the
        student's fault."""
        last = self.last_error()
        self.failed = f"{why}: {last}" if last else why
        return SandboxFailure("grader", self.failed)

    @property
    def healthy(self) -> bool:
        """Alive and never failed to answer: a zygote that is not is replaced before reuse."""
        return not self.failed and self._proc.poll() is None

    def reap(self) -> int | None:
        """The exit status of the child that just went away (negative or 128 + N: its signal)."""
        try:
            status = self._ask({"op": "reap"}, 5).get("status")
        except SandboxFailure:
            return None
        return status if isinstance(status, int) else None

    def spawn(self, job: Job, limits: Limits) -> None:
        self._ask({"op": "spawn", "job": self.inside(job), "module": job.module, "limits": asdict(limits)},
                  limits.startup_timeout_s)

    def kill(self) -> None:
        with contextlib.suppress(SandboxFailure):
            self._ask({"op": "kill"}, 10)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe:
                with contextlib.suppress(OSError):
                    pipe.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.slot, ignore_errors=True)
        with contextlib.suppress(OSError):
            self._errors.unlink()


@dataclass
class Sandbox:
    """One student process answering calls over its stdin/stdout."""

    job: Job
    limits: Limits = field(default_factory=Limits)
    mode: str = field(default_factory=isolation_mode)
    zygote: Zygote | None = None
    fatal: SandboxFailure | None = None
    import_error: dict[str, str] | None = None
    _waiting: str = ""  # what a timeout now means, when not a call's own time limit
    _own_zygote: bool = False  # started for this one submission, closed with it
    _home: Path | None = None  # where the job folder was before it moved into the zygote's slot
    _rfd: int = -1
    _wfd: int = -1
    _dummy_writer: int = -1
    _next_id: int = 0
    watched: set[str] = field(default_factory=set)
    devices: list[str] | None = None

    # -- lifecycle ------------------------------------------------------------------
    def prepare(self) -> None:
        """Start the zygote for this submission alone when none was given; it imports its
        preloads (torch) while the caller goes on (the cold runner collects its tests)."""
        if self.zygote is None:
            self.zygote = Zygote(self.job.preload, self.mode, self.limits, self.job.env())
            self._own_zygote = True

    def start(self) -> None:
        """A fresh student process, forked by the zygote (see ``prepare``)."""
        self.prepare()
        assert self.zygote is not None
        self._start_in(self.zygote)
        self._waiting = f"the module was not imported within {self.limits.startup_timeout_s:g} s"
        hello = self._receive(time.monotonic() + self.limits.startup_timeout_s)
        self._waiting = ""
        if hello.get("ready") is True:
            return
        if hello.get("ready") is False and isinstance(hello.get("error"), dict):
            self.import_error = {k: str(v)[:600] for k, v in hello["error"].items()}
            return
        raise self._fail("tampered", "the sandbox sent an unexpected first message")

    def _start_in(self, zygote: Zygote) -> None:
        """Move the job into the zygote's slot; channel through two FIFOs in the job folder,
        onto which the zygote forks the child."""
        if self.job.dir.parent != zygote.slot:
            self._home = self.job.dir
            self.job.dir = zygote.slot / self._home.name
            os.rename(self._home, self.job.dir)
        to_child, from_child = self.job.dir / "to_child", self.job.dir / "from_child"
        os.mkfifo(to_child, 0o600)
        os.mkfifo(from_child, 0o600)
        self._rfd = os.open(from_child, os.O_RDONLY | os.O_NONBLOCK)
        self._dummy_writer = os.open(from_child, os.O_WRONLY | os.O_NONBLOCK)  # no EOF before hello
        self._wfd = os.open(to_child, os.O_RDWR)  # holds the FIFO open, so the child never sees EOF early
        for fd in (self._wfd, self._rfd):
            wire.widen_pipe(fd)
        zygote.spawn(self.job, self.limits)
        self._waiting = f"the student process did not start within {self.limits.startup_timeout_s:g} s"
        if self._read_exact(1, time.monotonic() + self.limits.startup_timeout_s) != b"\x01":
            raise self._fail("crashed", "the student process did not start")
        os.close(self._dummy_writer)
        self._dummy_writer = -1

    def stop(self) -> None:
        """End the student process; the job folder goes back where it was."""
        if self._rfd >= 0 and self.zygote is not None:
            self.zygote.kill()
        for fd in (self._rfd, self._wfd, self._dummy_writer):
            if fd >= 0:
                os.close(fd)
        self._rfd = self._wfd = self._dummy_writer = -1
        if self._own_zygote and self.zygote is not None:
            self.zygote.close()
            self.zygote, self._own_zygote = None, False
        for fifo in ("to_child", "from_child"):
            with contextlib.suppress(OSError):
                (self.job.dir / fifo).unlink()
        if self._home is not None:
            with contextlib.suppress(OSError):
                os.rename(self.job.dir, self._home)
            self.job.dir, self._home = self._home, None

    # -- calls ------------------------------------------------------------------------
    def call(self, func: str, args: tuple[Any, ...], kwargs: dict[str, Any],
             watch: tuple[str, ...] = (), device: str | None = None) -> Any:
        """Call ``func`` in the student's module; in-place changes to ``args`` are an error.
        ``watch``: torch functions (by name) whose use is recorded in ``self.watched``.
        ``device``: move tensor arguments there first (``self.devices`` says where the
        outputs were made; they come back on the CPU)."""
        blobs: list[bytes] = []
        request = {"func": func, "args": [wire.encode_iterable_arg(a, blobs) for a in args],
                   "kwargs": {k: wire.encode_value(v, blobs) for k, v in kwargs.items()}}
        if watch:
            request["watch"] = list(watch)
        if device:
            request["device"] = device
        reply, reply_blobs, _ = self._exchange(request, blobs)
        return self._value(reply, reply_blobs)

    # -- timing protocol, per timed run: stage, ping, run, fetch --------------------------
    def ping(self, clock: str = "cpu") -> float:
        """The round trip, by this process's clock, of a request that does no work (the child
        runs ``clock``'s timing scaffolding around nothing): the channel latency."""
        return self._exchange({"op": "ping", "clock": clock}, [])[2]

    def stage(self, func: str, args: tuple[Any, ...] | list[Any], device: str | None = None,
              flush_bytes: int = 0) -> None:
        """Send fresh inputs for the next ``run``; the child moves them to ``device`` and, on a
        GPU, zeroes a ``flush_bytes`` buffer (an L2 flush) and synchronises before replying."""
        blobs: list[bytes] = []
        request: dict[str, Any] = {"op": "stage", "func": func,
                                   "args": [wire.encode_value(a, blobs) for a in args]}
        if device:
            request["device"] = device
        if flush_bytes:
            request["flush"] = int(flush_bytes)
        self._exchange(request, blobs)

    def run(self, clock: str, watch: tuple[str, ...] = ()) -> tuple[float, float | None, float]:
        """Call the staged function once: (round trip by this process's clock, the child's
        CUDA-event seconds or None on the CPU clock, the child's wall seconds). The child's
        numbers are only checked to be finite and non-negative; ``timing.confirm`` judges them."""
        request: dict[str, Any] = {"op": "run", "clock": clock}
        if watch:
            request["watch"] = list(watch)
        reply, _, trusted = self._exchange(request, [])
        self._note_watched(reply)
        event = self._seconds(reply.get("event_s")) if clock == "cuda" else None
        return trusted, event, self._seconds(reply.get("wall_s"))

    def fetch(self, max_bytes: int = wire.MAX_REPLY_BLOBS) -> Any:
        """The last run's output, checked like a call's value (``devices``, changed inputs);
        ``max_bytes``: the most tensor bytes the reply may carry."""
        reply, blobs, _ = self._exchange({"op": "fetch"}, [], max(max_bytes, wire.MAX_REPLY_BLOBS))
        return self._value(reply, blobs)

    # -- replies ------------------------------------------------------------------------
    def _exchange(self, request: dict[str, Any], blobs: list[bytes],
                  max_blobs: int = wire.MAX_REPLY_BLOBS) -> tuple[dict[str, Any], list[bytes], float]:
        """Send one request and take its reply: (reply, its blobs, round-trip seconds). A
        reply that is not ok raises StudentError, or SandboxFailure for a full disk or memory."""
        if self.fatal is not None:
            raise SandboxFailure(self.fatal.kind, self.fatal.detail)  # fresh: no growing traceback
        if self._rfd < 0:
            self.start()
        if self.import_error is not None:
            raise StudentError(f"your module could not be imported: {self.import_error.get('type')}: "
                               f"{self.import_error.get('message')}")
        self._next_id += 1
        parts = wire.frame({"id": self._next_id, **request}, blobs)
        deadline = time.monotonic() + self.limits.call_timeout_s
        started = time.perf_counter()
        self._send(parts, deadline)
        reply, reply_blobs = self._receive_frame(deadline, max_blobs)
        seconds = time.perf_counter() - started
        if reply.get("id") != self._next_id or not isinstance(reply.get("ok"), bool):
            raise self._fail("tampered", "the sandbox answered out of turn")
        if not reply["ok"]:
            err: dict[str, Any] = reply["error"] if isinstance(reply.get("error"), dict) else {}
            full = any(f"[Errno {n}]" in str(err.get("message")) for n in (27, 28))  # EFBIG, ENOSPC
            if full or self._hit_file_limit():
                raise self._fail("output_limit", f"a file, the output or the work folder reached "
                                 f"its limit ({self.limits.file_bytes >> 20} MiB per file, "
                                 f"{self.limits.work_bytes >> 20} MiB in all)")
            if err.get("type") == "MemoryError":
                raise self._fail("memory_limit", "the function ran out of memory")
            raise StudentError(f"{str(err.get('type'))[:80]}: {str(err.get('message'))[:600]}")
        return reply, reply_blobs, seconds

    def _value(self, reply: dict[str, Any], reply_blobs: list[bytes]) -> Any:
        """A successful call's value; notes its devices and watched names, and raises
        StudentError when the call changed its inputs."""
        self.devices = [str(d)[:16] for d in reply["devices"][:16]] \
            if isinstance(reply.get("devices"), list) else None
        self._note_watched(reply)
        if reply.get("args_changed"):
            # Never copied back: trusted tests keep their inputs. Changing one breaks the contract.
            positions = ", ".join(str(i) for i in reply["args_changed"][:8]) \
                if isinstance(reply["args_changed"], list) else "?"
            raise StudentError(f"your function modified its input (argument {positions}); "
                               "it must leave its inputs unchanged")
        try:
            return wire.decode_value(reply.get("value"), reply_blobs)
        except (wire.WireError, ValueError, IndexError, TypeError, RuntimeError, RecursionError,
                MemoryError) as exc:
            raise self._fail("tampered", f"the sandbox sent an unreadable value ({exc})") from None

    def _note_watched(self, reply: dict[str, Any]) -> None:
        if isinstance(reply.get("watched"), list):
            self.watched.update(str(w)[:40] for w in reply["watched"][:32])

    def _seconds(self, value: Any) -> float:
        """A duration the child reported: a finite, non-negative number (else tampered)."""
        if type(value) not in (int, float) or not 0 <= value < MAX_REPORTED_S:
            raise self._fail("tampered", "the sandbox reported an impossible time")
        return float(value)

    # -- channel ----------------------------------------------------------------------
    def _send(self, parts: list[Any], deadline: float) -> None:
        """Write a frame's buffers (``wire.frame``) to the child before ``deadline``."""
        fd = self._wfd
        os.set_blocking(fd, False)
        try:
            wire.write_all(fd, parts, lambda: self._wait(fd, deadline, write=True))
        except BrokenPipeError:
            raise self._died() from None

    def _read_exact(self, n: int, deadline: float) -> bytearray:
        fd = self._rfd
        try:
            return wire.read_exact_from(fd, n, lambda: self._wait(fd, deadline, write=False))
        except EOFError:
            raise self._died() from None

    def _wait(self, fd: int, deadline: float, write: bool) -> None:
        """Until ``fd`` is ready (or a timeout failure at ``deadline``). Without namespaces the
        work folder is no size-capped tmpfs: it is measured every quarter second meanwhile."""
        watch = self.mode != NAMESPACES
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                why = self._waiting or f"no answer within {self.limits.call_timeout_s:g} s"
                raise self._fail("timeout", why)
            wait = min(left, WORK_POLL_S) if watch else left
            readable, writable, _ = select.select([] if write else [fd], [fd] if write else [], [], wait)
            if readable or writable:
                return
            if watch and self._work_too_big():
                raise self._fail("output_limit", f"the work folder reached its limit "
                                 f"({self.limits.work_bytes >> 20} MiB, {self.limits.work_inodes} files)")

    def _work_too_big(self) -> bool:
        """Whether the job's work folder holds more bytes or entries than a tmpfs would allow."""
        entries, total, _largest = self._work_usage()
        return entries > self.limits.work_inodes or total > self.limits.work_bytes

    def _work_usage(self) -> tuple[int, int, int]:
        """(entries, bytes, largest file) of the job's work folder, without following links;
        the count stops a little past the tmpfs's limits, however much is there."""
        entries = total = largest = 0
        folders = [self.job.dir / "work"]
        while folders and entries <= self.limits.work_inodes and total <= self.limits.work_bytes:
            try:
                found = list(os.scandir(folders.pop()))
            except OSError:
                continue
            for entry in found:
                entries += 1
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        size = entry.stat(follow_symlinks=False).st_size
                        total, largest = total + size, max(largest, size)
        return entries, total, largest

    def _receive_frame(self, deadline: float, max_blobs: int = wire.MAX_REPLY_BLOBS
                       ) -> tuple[dict[str, Any], list[bytes]]:
        try:
            message, blobs = wire.unpack(lambda n: self._read_exact(n, deadline),
                                         wire.MAX_REPLY_JSON, max_blobs)
        except (wire.WireError, RecursionError, MemoryError) as exc:
            raise self._fail("tampered", f"the sandbox broke the protocol ({exc})") from None
        if not isinstance(message, dict):
            raise self._fail("tampered", "the sandbox broke the protocol")
        if "forbidden" in message:
            raise self._fail("forbidden", f"blocked: {str(message['forbidden'])[:80]}")
        return message, blobs

    def _receive(self, deadline: float) -> dict[str, Any]:
        return self._receive_frame(deadline)[0]

    def _died(self) -> SandboxFailure:
        code = self.zygote.reap() if self.zygote is not None else None
        complaint = self.zygote.last_error() if code == SPAWN_FAILED and self.zygote is not None else ""
        if complaint and self.zygote is not None:
            self.zygote.failed = complaint  # replaced, and this submission graded again
            return self._fail("grader", f"the sandbox could not start the student process ({complaint})")
        if self._hit_file_limit():
            return self._fail("output_limit", f"a file or the output reached "
                              f"{self.limits.file_bytes >> 20} MiB")
        if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):  # the latter: through the wrappers
            return self._fail("timeout", f"more than {self.limits.cpu_s} s of CPU time")
        return self._fail("crashed", "the process exited while it was being tested"
                          + (f" (exit status {code})" if code is not None else ""))

    def _hit_file_limit(self) -> bool:
        """Whether the output log or a file in the work folder reached the size limit."""
        try:
            log = (self.job.dir / "output.log").stat(follow_symlinks=False).st_size
        except OSError:
            log = 0
        return max(log, self._work_usage()[2]) >= self.limits.file_bytes

    def _fail(self, kind: str, detail: str) -> SandboxFailure:
        self.fatal = SandboxFailure(kind, detail)
        self.stop()
        return self.fatal
