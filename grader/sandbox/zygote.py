"""A pre-imported parent for student processes: pays for Python and torch start-up once,
then forks a fresh, limited, isolated child per submission.

Run as ``python -I zygote.py HARNESS_DIR MODE BOX JOBS_DIR UID [PRELOAD...]`` by the trusted
side; in namespaces mode inside bubblewrap (``isolation.box_command``), as pid 1 of the
sandbox's pid namespace. Commands arrive as JSON lines on stdin; answers go to stdout.
``--probe`` instead of preloads: set up one child's namespaces and exit 0 if that works.

Each child (namespaces mode) gets new mount, pid, ipc, uts, net and cgroup namespaces, a
fresh /proc showing only itself, its job bound at BOX with a small tmpfs ``work/``, and the
jobs folder covered; then it drops to UID (or stays the grader's user) in a user namespace of
its own, with no capabilities. A small non-dumpable relay process waits for it outside its
pid namespace, so the child can name no other process. Harness file: standard library only.
"""

import contextlib
import ctypes
import gc
import json
import os
import resource
import shutil
import signal
import struct
import sys
import time

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x02000000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
CHILD_NAMESPACES = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
_LINUX_CAPABILITY_VERSION_3, CAP_LAST = 0x20080522, 63
CAPSET = {"x86_64": 126, "aarch64": 91}
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
    """Flags a remount must keep (nosuid, nodev, noexec)."""
    f = os.statvfs(path).f_flag
    return (MS_NOSUID if f & os.ST_NOSUID else 0) | (MS_NODEV if f & os.ST_NODEV else 0) | (
        MS_NOEXEC if f & os.ST_NOEXEC else 0)


def _write(path, text):
    with open(path, "w") as fh:
        fh.write(text)


def _drop_capabilities():
    """No capability left, in any set, for this process and what it may start."""
    for cap in range(CAP_LAST + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the kernel's last cap
    header = ctypes.create_string_buffer(struct.pack("Ii", _LINUX_CAPABILITY_VERSION_3, 0))
    data = ctypes.create_string_buffer(24)  # two (effective, permitted, inheritable) triples, all zero
    _check(_libc.syscall(CAPSET[os.uname().machine], header, data), "capset")


def enter_box(job, box, jobs_dir, limits, uid):
    """In fresh namespaces (this process is pid 1 of its pid namespace): the job at ``box``,
    ``work/`` a tmpfs, everything read-only but it and the output log, the jobs folder
    covered, a fresh /proc; then the drop to ``uid`` (None: keep this user) in a new user
    namespace, with no capabilities."""
    me = os.getuid() if uid is None else uid
    gid = os.getgid() if uid is None else uid
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount(job, box, None, MS_BIND)
    _mount(f"{box}/output.log", f"{box}/output.log", None, MS_BIND)
    _mount("tmpfs", f"{box}/work", "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={limits['work_bytes']},nr_inodes={limits['work_inodes']},mode=700,uid={me},gid={gid}")
    _mount(None, box, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _locked_flags(box))
    _mount("tmpfs", jobs_dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=4,mode=000")
    _mount(None, jobs_dir, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    if uid is not None:  # a root grader: become the sandbox's own unprivileged user
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # its own /proc files (the maps) become its own
    try:
        _check(_libc.unshare(CLONE_NEWUSER), "unshare")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{me} {me} 1\n")
        _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
    except OSError:
        if uid is None:
            raise  # without a uid change this is what gives up the zygote's capabilities
    _drop_capabilities()
    _fill_work(box)


def _fill_work(job):
    """The submission's pristine files (``src/``) copied into the student's own ``work/``."""
    for name in os.listdir(f"{job}/src"):
        shutil.copyfile(f"{job}/src/{name}", f"{job}/work/{name}")


ZYGOTE_PID = os.getpid()  # this module runs as the zygote's main: its pid, also in its children


def child_uid(uid):
    """A confined (Landlock or uid path) child's own uid: one per zygote, so no two jobs at
    once share it (the zygote cleans up after a pid reused from a dead one on start)."""
    return None if uid is None else uid + 1 + ZYGOTE_PID % 1_000_000


def confine(job, harness, uid, mode, files_as_root, limits):
    """Without namespaces. Landlock: read only the allowlist (harness's landlock.json), write
    only the job. Then a root grader's child becomes this zygote's own uid: wholly, or (where
    the runtime is closed to other users, ``files_as_root``) as its real uid only, so process
    limits count it and signals match it, while files are reached as uid 0; either way with no
    capability left. A grader that is not root: its child keeps the uid, limited to its own
    processes plus ``extra_processes``."""
    import landlock

    own = child_uid(uid)
    if mode == "uid" and (own is None or files_as_root):
        raise PermissionError("the uid path needs a root grader whose Python other users can run")
    owner = own if own is not None and not files_as_root else os.getuid()
    for folder, dirs, names in os.walk(job):  # its own files only: the job folder
        for name in (folder, *(f"{folder}/{n}" for n in (*dirs, *names))):
            os.chown(name, owner, owner)
    if own is None:  # counted before Landlock closes /proc
        processes = sum(1 for e in os.scandir("/proc") if e.name.isdigit() and _owned(e.path))
        limits["extra_processes"] += processes  # RLIMIT_NPROC counts the user's other processes
    if mode == "landlock":
        with open(f"{harness}/landlock.json") as fh:
            landlock.restrict(json.load(fh)["read"], [job, "/dev/null"])
    if own is not None:  # saved ids its own too: no way back to a real uid 0
        effective = 0 if files_as_root else own
        os.setgroups([])
        os.setresgid(own, effective, own)
        os.setresuid(own, effective, own)
    _drop_capabilities()


def _owned(path):
    with contextlib.suppress(OSError):
        return os.stat(path).st_uid == os.getuid()
    return False


SHARED_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")


def kill_user(uid):
    """Kill every process of a confined child's uid, and remove what it left in the folders
    every user may write to (what a later student could otherwise find)."""
    own = child_uid(uid)
    if own is None:
        return
    pid = os.fork()
    if pid == 0:
        try:
            os.setresuid(own, own, 0)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    for top in SHARED_WRITABLE:
        _remove_owned(top, own, 4)


def _remove_owned(folder, owner, depth):
    """Remove the entries of ``owner`` in ``folder`` and in the world-writable folders below
    it (the only places it could have made any), ``depth`` levels down."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                if info.st_uid == owner:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
                elif depth and entry.is_dir(follow_symlinks=False) and info.st_mode & 0o002:
                    _remove_owned(entry.path, owner, depth - 1)


def set_limits(limits, own_user=False):
    """The job's rlimits. ``own_user``: the process has a user (or user namespace) of its own,
    so a process count limit counts only its own processes."""
    counted = ((resource.RLIMIT_NPROC, limits["extra_processes"]),) if own_user else ()
    for which, value in ((resource.RLIMIT_CPU, limits["cpu_s"]),
                         (resource.RLIMIT_AS, limits["memory_bytes"]),
                         (resource.RLIMIT_FSIZE, limits["file_bytes"]),
                         (resource.RLIMIT_NOFILE, limits["open_files"]),
                         (resource.RLIMIT_CORE, 0), *counted):
        # CPU: a hard limit one second above the soft one, so the soft limit's SIGXCPU
        # (read as "timeout") comes first; at equal limits the kernel sends SIGKILL instead
        resource.setrlimit(which, (value, value + 1 if which == resource.RLIMIT_CPU else value))


def _relay(pid):
    """The relay's life: wait for the child and exit as it did (a signal as 128 + N)."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            os._exit(70)
        except InterruptedError:
            continue
    os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status) & 255)


def _isolate(report_fd):
    """Fork into fresh namespaces. Returns in the new child (pid 1 there); the process that
    called it becomes the relay and never returns. ``report_fd``: where the relay writes the
    child's pid, so the zygote can kill it."""
    _check(_libc.unshare(CHILD_NAMESPACES), "unshare")
    pid = os.fork()
    if pid:
        os.write(report_fd, struct.pack("i", pid))
        os.closerange(0, 1 << 16)  # holds nothing of the job's: the channel's end is the child's
        if "seccomp" in sys.modules:  # filtered like the child, though out of its reach
            sys.modules["seccomp"].install()
        _relay(pid)
    os.close(report_fd)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setsid()


def _cpu_limit(signum, frame):
    os._exit(128 + signal.SIGXCPU)


def spawn(request, harness, mode, box, jobs_dir, uid, child, files_as_root=False):
    """Fork one student process for ``request``: (pid to wait for, pid of the child itself)."""
    read_fd, write_fd = os.pipe()
    zygote = os.getpid()
    pid = os.fork()
    if pid:
        os.close(write_fd)
        inner = pid
        if mode == "namespaces":
            with os.fdopen(read_fd, "rb") as fh:
                data = fh.read(4)
            inner = struct.unpack("i", data)[0] if len(data) == 4 else pid
        else:
            os.close(read_fd)
        return pid, inner
    try:  # the child: nothing here may return into the zygote's loop
        os.close(read_fd)
        os.setsid()
        job, limits = request["job"], request["limits"]
        to_child = os.open(f"{job}/to_child", os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(to_child, True)
        from_child = os.open(f"{job}/from_child", os.O_WRONLY)
        os.write(from_child, b"\x01")  # connected: from now on, end of file means this process died
        root = job
        if mode == "namespaces":
            _isolate(write_fd)
            enter_box(job, box, jobs_dir, limits, uid)
            root = box
        else:
            os.close(write_fd)
            _fill_work(job)
            if mode in ("landlock", "uid"):
                confine(job, harness, uid, mode, files_as_root, limits)
        # dies with its parent, on every path (set after any change of user, which clears it;
        # seccomp keeps it set)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if mode != "namespaces" and os.getppid() != zygote:  # it died before that line: no signal comes
            os._exit(70)
        set_limits(limits, mode != "rlimits")
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # pid 1 of its namespace ignores a signal it does not handle: the CPU limit's SIGXCPU
        # ends it as it would end any process (a child that undoes this is killed a second later)
        signal.signal(signal.SIGXCPU, _cpu_limit)
        child.serve(to_child, from_child, harness, f"{root}/work", request["module"], f"{root}/output.log")
    except BaseException as exc:  # report (on the zygote's stderr) and leave; never back into the loop
        try:
            os.write(2, f"spawn failed: {type(exc).__name__}: {exc}\n".encode()[:500])
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


def end(current, mode="namespaces", uid=None):
    """Kill the current child and its relay, and reap every process that has ended."""
    for pid in reversed(current or ()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if current and mode in ("landlock", "uid"):
        kill_user(uid)
    with contextlib.suppress(ChildProcessError):
        if current:
            os.waitpid(current[0], 0)
        while os.waitpid(-1, os.WNOHANG)[0]:  # orphans handed to this pid 1
            pass


def probe(harness, mode, box, jobs_dir, uid):
    """Exit 0 when a child can be given its namespaces and view here, else 1 with the reason."""
    job = f"{jobs_dir}/probe"
    os.makedirs(f"{job}/src")
    os.mkdir(f"{job}/work")
    open(f"{job}/output.log", "w").close()
    pid = os.fork()
    if pid == 0:
        try:
            _read_fd, write_fd = os.pipe()
            _isolate(write_fd)
            enter_box(job, box, jobs_dir, {"work_bytes": 1 << 20, "work_inodes": 64}, uid)
            os._exit(0 if os.listdir("/proc") and os.getpid() == 1 else 3)
        except BaseException as exc:
            sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    sys.exit(0 if os.waitstatus_to_exitcode(status) == 0 else 1)


def main():
    harness, mode, box, jobs_dir, uid_arg = sys.argv[1:6]
    uid_text, _, how = uid_arg.partition(":")
    uid = None if uid_text == "-" else int(uid_text)
    files_as_root = how == "files"
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # without bubblewrap: dies with its runner
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # waitpid must see its children end
    if sys.argv[6:] == ["--probe"]:
        probe(harness, mode, box, jobs_dir, uid)
    if mode in ("landlock", "uid"):
        kill_user(uid)  # what an earlier zygote with this pid, so this uid, may have left
    for name in sys.argv[6:]:
        __import__(name)
    sys.path.insert(0, harness)
    import child
    import landlock  # noqa: F401 - imported once here, reused by every child
    import seccomp  # noqa: F401
    import wire  # noqa: F401
    sys.path.remove(harness)
    gc.freeze()  # children never scan (and so never copy) the pages of what is loaded here
    current = None
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("op") == "reap":  # how did the current child end? (it closed its channel)
            status = reap(current[0]) if current else None
            end(current, mode, uid)
            current = None
            sys.stdout.write(json.dumps({"ok": True, "status": status}) + "\n")
            sys.stdout.flush()
            continue
        end(current, mode, uid)  # one child at a time: end the previous one
        current = None
        if request.get("op") == "spawn":
            current = spawn(request, harness, mode, box, jobs_dir, uid, child, files_as_root)
        sys.stdout.write(json.dumps({"ok": True}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
