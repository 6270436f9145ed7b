"""A pre-imported parent for student processes: pays for Python and torch start-up once,
then forks a fresh, limited, isolated child per submission.

Run as ``python -I zygote.py HARNESS_DIR MODE BOX JOBS_DIR [PRELOAD...]`` by the trusted
runner (in namespaces, inside the same outer namespaces a cold child would get, but
without the final lock, so it can still set up each child's mounts). Commands arrive
as JSON lines on stdin; answers go to stdout. Harness file: standard library only.
"""

import contextlib
import ctypes
import gc
import json
import os
import resource
import shutil
import signal
import sys
import time

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
PR_SET_DUMPABLE = 4
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _enc(value):
    return value.encode() if isinstance(value, str) else value


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(_enc(source), _enc(target), _enc(fstype), flags, _enc(data)), f"mount {target}")


def _locked_flags(path):
    """Flags a remount inside a user namespace must keep (nosuid, nodev, noexec)."""
    f = os.statvfs(path).f_flag
    return (MS_NOSUID if f & os.ST_NOSUID else 0) | (MS_NODEV if f & os.ST_NODEV else 0) | (
        MS_NOEXEC if f & os.ST_NOEXEC else 0)


def enter_box(job, box, jobs_dir, work_bytes, work_inodes):
    """Give this (forked, single-threaded) process the same view a cold child gets, then lock it."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount(job, box, None, MS_BIND)
    _mount(f"{box}/output.log", f"{box}/output.log", None, MS_BIND)
    _mount("tmpfs", f"{box}/work", "tmpfs", 0, f"size={work_bytes},nr_inodes={work_inodes},mode=700")
    for name in os.listdir(f"{box}/src"):
        shutil.copyfile(f"{box}/src/{name}", f"{box}/work/{name}")
    _mount(None, box, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _locked_flags(box))
    _mount("tmpfs", jobs_dir, "tmpfs", 0, "size=1k,mode=000")
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare")  # locks every mount above


def set_limits(limits):
    for which, value in ((resource.RLIMIT_CPU, limits["cpu_s"]),
                         (resource.RLIMIT_AS, limits["memory_bytes"]),
                         (resource.RLIMIT_FSIZE, limits["file_bytes"]),
                         (resource.RLIMIT_NOFILE, limits["open_files"]),
                         (resource.RLIMIT_CORE, 0)):
        # CPU: a hard limit one second above the soft one, so the soft limit's SIGXCPU
        # (read as "timeout") comes first; at equal limits the kernel sends SIGKILL instead
        resource.setrlimit(which, (value, value + 1 if which == resource.RLIMIT_CPU else value))


def spawn(request, harness, mode, box, jobs_dir, child):
    """Fork one student process for ``request``; returns its pid (in this namespace)."""
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: nothing here may return into the zygote's loop
        os.setsid()
        job, limits = request["job"], request["limits"]
        to_child = os.open(f"{job}/to_child", os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(to_child, True)
        from_child = os.open(f"{job}/from_child", os.O_WRONLY)
        os.write(from_child, b"\x01")  # connected: from now on, end of file means this process died
        root = job
        if mode == "namespaces":
            enter_box(job, box, jobs_dir, limits["work_bytes"], limits["work_inodes"])
            root = box
        else:
            for name in os.listdir(f"{job}/src"):
                shutil.copyfile(f"{job}/src/{name}", f"{job}/work/{name}")
        set_limits(limits)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        child.serve(to_child, from_child, harness, f"{root}/work", request["module"], f"{root}/output.log")
    except BaseException as exc:  # report and leave; never back into the loop
        try:
            with open(f"{request.get('job')}/zygote_error.txt", "w") as fh:
                fh.write(f"{type(exc).__name__}: {exc}")
        finally:
            os._exit(70)
    os._exit(0)


def reap(pid, wait_s=2.0):
    """The child's exit as a returncode (negative: killed by that signal); None if it lives on."""
    if pid is None:
        return None
    deadline = time.monotonic() + wait_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.005)


def main():
    harness, mode, box, jobs_dir = sys.argv[1:5]
    for name in sys.argv[5:]:
        __import__(name)
    sys.path.insert(0, harness)
    import child
    import seccomp  # noqa: F401 - imported once here, reused by every child
    import wire  # noqa: F401
    sys.path.remove(harness)
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    gc.freeze()  # children never scan (and so never copy) the pages of what is loaded here
    current = None
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("op") == "reap":  # how did the current child end? (it closed its channel)
            status, current = reap(current), None
            sys.stdout.write(json.dumps({"ok": True, "status": status}) + "\n")
            sys.stdout.flush()
            continue
        if current is not None:  # one child at a time: end the previous one
            with contextlib.suppress(ProcessLookupError):
                os.kill(current, signal.SIGKILL)
            os.waitpid(current, 0)
            current = None
        if request.get("op") == "spawn":
            current = spawn(request, harness, mode, box, jobs_dir, child)
            answer = {"ok": True}
        else:
            answer = {"ok": True}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
