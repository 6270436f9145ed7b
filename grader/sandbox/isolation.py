"""How a sandboxed process is isolated.

``namespaces``: bubblewrap (``bwrap``) starts the zygote in an allowlisted view of the
machine, in new pid, net, ipc, uts, cgroup and mount namespaces (and a user namespace when
the grader is not root). The view holds only the system's programs and libraries, the
Python runtime with just the packages the item needs, the harness and one job folder. Each
student process then gets namespaces of its own from the zygote (``zygote.py``).

``landlock``: no namespaces (a container), but Landlock: the same allowlist, enforced by the
kernel on the student process itself (``landlock.py``).

``uid``: a root grader with neither: each zygote's students run as a uid of their own, and
graded work needs the secrets closed to other users.

``rlimits``: a plain separate process with the limits, seccomp and the audit hook: it can read
any file the grader's user can read. Practice warns; graded work refuses it unless the
instructor allows it (``require_strong``).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import threading
import warnings
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path, PurePath

NAMESPACES = "namespaces"
LANDLOCK = "landlock"
UID = "uid"
RLIMITS = "rlimits"
# The uid student processes run as when the grader is root (no user maps to it).
SANDBOX_UID = 1_500_000_000
# Folders of the operating system a Python process and its compilers need, read-only.
SYSTEM_DIRS = ("/usr/bin", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec", "/usr/include",
               "/usr/local/bin", "/usr/local/lib", "/usr/local/include", "/usr/local/cuda")
ROOT_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64")
ETC_ENTRIES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives")
HARNESS_PACKAGES = ("numpy",)  # wire.py moves tensors' bytes through numpy
HARNESS_FILES = ("child.py", "wire.py", "seccomp.py", "landlock.py", "zygote.py")  # standard library only
HOW_TO_FIX = ("Install bubblewrap (Debian/Ubuntu: 'sudo apt-get install bubblewrap'; Fedora: 'sudo dnf "
              "install bubblewrap'); where user namespaces are restricted (Ubuntu 24.04) grade as root "
              "('sudo grade ...') or run 'sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0'; "
              "in a container, use a kernel with Landlock (Linux 5.13+) and allow its system calls")


class SandboxWarning(UserWarning):
    """Student code runs with weaker isolation than intended."""


class WeakSandboxError(RuntimeError):
    """Graded work was asked to run student code with weak isolation."""


def sandbox_uid() -> int | None:
    """The uid student processes switch to (root graders only); None: they keep the grader's."""
    return SANDBOX_UID if os.geteuid() == 0 else None


def _flavour_args() -> list[str]:
    """As root: bwrap runs privileged and the zygote keeps what it needs to set up each child
    and drop it to ``SANDBOX_UID``. Otherwise: a user namespace owned by the grader's user."""
    base = ["--cap-drop", "ALL", "--cap-add", "CAP_SYS_ADMIN"]
    if sandbox_uid() is not None:
        return [*base, "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_KILL"]
    return ["--unshare-user", "--uid", str(os.getuid()), "--gid", str(os.getgid()), *base]


def _requirements(dist: importlib.metadata.Distribution) -> list[str]:
    """Names of a distribution's unconditional requirements (extras left out)."""
    names = []
    for requirement in dist.requires or []:
        spec, _, marker = requirement.partition(";")
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec.strip())
        if match and "extra" not in marker:
            names.append(match.group(0))
    return names


@lru_cache(maxsize=16)
def package_entries(preload: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Site folder -> its top-level entries that the preloaded modules' distributions and
    their requirements install (packages, modules, ``.dist-info``): the only packages a
    student process sees."""
    queue = [name.split(".")[0] for name in preload]
    try:
        for name in list(queue):
            importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:  # an import name that is not its distribution's
        providers = importlib.metadata.packages_distributions()
        queue = [dist for name in preload for dist in providers.get(name.split(".")[0], [])]
    seen: set[str] = set()
    entries: dict[str, set[str]] = {}
    while queue:
        name = queue.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        folder = str(Path(str(dist.locate_file(""))).resolve())
        for file in dist.files or []:
            parts = PurePath(str(file)).parts
            if parts and parts[0] not in ("..", "__pycache__") and not parts[0].startswith("/"):
                entries.setdefault(folder, set()).add(parts[0])
        queue.extend(_requirements(dist))
    return {folder: tuple(sorted(e for e in names if Path(folder, e).exists()))
            for folder, names in entries.items()}


def _site_dirs() -> list[str]:
    """Every folder that could hold installed packages in the bound runtime."""
    found = {*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    for pattern in ("/usr/lib/python3*/*-packages", "/usr/local/lib/python3*/*-packages"):
        found.update(str(p) for p in Path("/").glob(pattern.lstrip("/")))
    return sorted(str(Path(d).resolve()) for d in found if Path(d).is_dir())


def _covered(path: str, folders: Iterable[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


@lru_cache(maxsize=16)
def view_args(preload: tuple[str, ...], gpu: bool = False) -> tuple[str, ...]:
    """bwrap arguments for the read-only part of the view: the system, the runtime, and in
    each site folder only the entries of ``package_entries(preload)`` (worked out once)."""
    args: list[str] = []
    bound: list[str] = []

    def ro_bind(path: str) -> None:
        if os.path.exists(path) and not _covered(path, bound):
            args.extend(["--ro-bind", path, path])
            bound.append(path)

    for path in SYSTEM_DIRS:
        ro_bind(path)
    for link in ROOT_LINKS:
        if os.path.islink(link):
            args.extend(["--symlink", os.readlink(link), link])
        else:
            ro_bind(link)
    for entry in ETC_ENTRIES:
        ro_bind(entry)
    for prefix in dict.fromkeys([sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent)]):
        ro_bind(str(Path(prefix).resolve()))
    allowed = package_entries((*preload, *HARNESS_PACKAGES))
    for folder in _site_dirs():
        if not _covered(folder, bound) and folder not in allowed:
            continue
        args.extend(["--tmpfs", folder])
        for entry in allowed.get(folder, ()):
            args.extend(["--ro-bind", f"{folder}/{entry}", f"{folder}/{entry}"])
        args.extend(["--remount-ro", folder])
    if gpu:
        for device in sorted(Path("/dev").glob("nvidia*")):
            args.extend(["--dev-bind", str(device), str(device)])
        args.extend(["--ro-bind-try", "/sys", "/sys"])
    return tuple(args)


@lru_cache(maxsize=16)
def landlock_paths(preload: tuple[str, ...]) -> tuple[str, ...]:
    """What a Landlock-confined student process may read: the view's system folders and
    runtime, and in each site folder only the allowlisted packages (its job folder is added
    by the zygote, writable). Worked out once."""
    allowed = package_entries((*preload, *HARNESS_PACKAGES))
    sites = set(_site_dirs())
    roots = [p for p in (*SYSTEM_DIRS, *ROOT_LINKS, *ETC_ENTRIES, sys.base_prefix, sys.prefix,
                         str(Path(sys.executable).resolve().parent)) if os.path.exists(p)]
    paths: list[str] = []
    for root in dict.fromkeys(str(Path(r).resolve()) for r in roots):
        paths += _beneath_except(root, sites)
    for folder, entries in allowed.items():
        paths += [f"{folder}/{e}" for e in entries]
    return (*dict.fromkeys(paths), "/dev/urandom", "/dev/random", "/dev/zero", "/proc/self",
            "/sys/devices/system/cpu")


def _beneath_except(root: str, excluded: set[str]) -> list[str]:
    """``root``, or where a folder in ``excluded`` lies beneath it, its other entries."""
    inside = [e for e in excluded if e.startswith(root.rstrip("/") + "/")]
    if root in excluded:
        return []
    if not inside:
        return [root]
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    return [p for name in names for p in _beneath_except(f"{root.rstrip('/')}/{name}", excluded)]


def landlock_uid(preload: tuple[str, ...]) -> str:
    """How a root grader's children on the Landlock and uid paths change user, for zygote.py:
    "UID" (a uid of their own per zygote), or "UID:files" where the runtime is closed to other
    users (as under /root): the real uid changes, so process limits count and signals match
    it, while files are still reached as uid 0 with no capabilities (Landlock confines them).
    "-": a grader that is not root, whose children keep its uid."""
    if os.geteuid() != 0:
        return "-"
    return str(SANDBOX_UID) if _runtime_open_to_others(tuple(preload)) else f"{SANDBOX_UID}:files"


@lru_cache(maxsize=8)
def _runtime_open_to_others(preload: tuple[str, ...]) -> bool:
    def become() -> None:
        os.setgroups([])
        os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
        os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)

    imports = "; ".join(f"import {name}" for name in ("json", *preload))
    try:
        return subprocess.run([sys.executable, "-I", "-c", imports], preexec_fn=become, env={},
                              capture_output=True, timeout=60, cwd="/").returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def box_command(command: list[str], harness: Path, slot: Path, preload: tuple[str, ...],
                gpu: bool = False) -> list[str]:
    """The bwrap command line running ``command`` (the zygote) in the sandbox: every namespace,
    the allowlisted view, ``harness`` read-only at /harness and ``slot`` (where its jobs are
    created) at /jobs. bwrap dies with the grader, and the zygote is pid 1: when it ends,
    the kernel ends everything in the sandbox."""
    view = [*view_args(preload, gpu), "--ro-bind", str(harness / "passwd"), "/etc/passwd",
            "--ro-bind", str(harness / "group"), "/etc/group", "--dev", "/dev", "--proc", "/proc",
            "--ro-bind", str(harness), "/harness", "--bind", str(slot), "/jobs"]
    return [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--new-session", "--as-pid-1",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            *_flavour_args(), *_parent_dirs([*view, "--dir", "/box"]), *view,
            "--perms", "0755", "--dir", "/box",
            "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/", *command]


def _parent_dirs(args: list[str]) -> list[str]:
    """``--dir`` operations (mode 0755) for the folders above every destination in ``args``:
    bwrap would create them for the sandbox's root only."""
    takes_two = {"--ro-bind", "--bind", "--dev-bind", "--ro-bind-try", "--symlink"}
    destinations = [args[i + 2] for i, a in enumerate(args) if a in takes_two]
    destinations += [args[i + 1] for i, a in enumerate(args) if a in ("--dir", "--tmpfs", "--dev", "--proc")]
    parents = {str(p) for d in destinations for p in PurePath(d).parents if str(p) != "/"}
    ordered = sorted(parents, key=lambda p: (p.count("/"), p))
    return [op for p in ordered for op in ("--perms", "0755", "--dir", p)]


def write_harness(folder: Path, mode: str, preload: tuple[str, ...]) -> None:
    """A zygote's folder: the harness files, a minimal /etc/passwd and /etc/group for the view
    (the student's user only) and, on the Landlock path, the allowlist."""
    here = Path(__file__).parent
    for name in HARNESS_FILES:
        shutil.copyfile(here / name, folder / name)
    uid = sandbox_uid()
    uid, gid = (os.getuid(), os.getgid()) if uid is None else (uid, uid)
    (folder / "passwd").write_text(f"student:x:{uid}:{gid}:student:/box/work:/sbin/nologin\n")
    (folder / "group").write_text(f"student:x:{gid}:\n")
    if mode == LANDLOCK:
        (folder / "landlock.json").write_text(json.dumps({"read": landlock_paths(preload)}))


def zygote_command(mode: str, harness: Path, slot: Path, preload: tuple[str, ...],
                   probe: bool = False) -> list[str]:
    """The command that starts a zygote (``zygote.py``) from ``harness`` with its jobs in
    ``slot``: in bubblewrap on the namespaces path. ``probe``: only check that a child can be
    given its namespaces, then exit."""
    if mode == NAMESPACES:
        uid = sandbox_uid()
        command = [sys.executable, "-I", "/harness/zygote.py", "/harness", mode, "/box", "/jobs",
                   "-" if uid is None else str(uid), *(["--probe"] if probe else preload)]
        gpu = "torch" in preload and Path("/dev/nvidiactl").exists()
        return box_command(command, harness, slot, preload, gpu)
    user = landlock_uid(preload) if mode in (LANDLOCK, UID) else "-"
    return [sys.executable, "-I", str(harness / "zygote.py"), str(harness), mode, "-", str(slot), user,
            *preload]


_PROBE_LOCK = threading.Lock()  # code items are checked side by side: one probe, not one per thread


def _namespaces_work() -> str | None:
    """None when the zygote can run in bubblewrap and give a child its own namespaces; else why not."""
    with _PROBE_LOCK:
        return _probe_namespaces()


@lru_cache(maxsize=1)
def _probe_namespaces() -> str | None:
    if sys.platform != "linux":
        return "not Linux"
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    with tempfile.TemporaryDirectory(prefix="grade-probe-") as tmp:
        harness, slot = Path(tmp, "harness"), Path(tmp, "slot")
        harness.mkdir()
        slot.mkdir()
        write_harness(harness, NAMESPACES, ())
        try:
            probe = subprocess.run(zygote_command(NAMESPACES, harness, slot, (), probe=True),
                                   capture_output=True, timeout=30, env={})
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
    if probe.returncode == 0:
        return None
    return (probe.stderr or probe.stdout).decode(errors="replace").strip()[-300:] or "the probe failed"


def _landlock_works() -> str | None:
    """None when Landlock can confine the files a student process reaches; else why not."""
    from grader.sandbox import landlock

    version = landlock.abi() if sys.platform == "linux" else 0
    if version >= landlock.STRONG_ABI:
        return None
    return "no Landlock (Linux 5.13 or newer with Landlock enabled, and not refused by a container)"


def isolation_mode() -> str:
    """NAMESPACES, else LANDLOCK, else (a root grader whose runtime other users can run) UID,
    else RLIMITS (weak, with a warning). GRADE_SANDBOX=landlock, =uid or =rlimits forces that
    path (for tests)."""
    forced = os.environ.get("GRADE_SANDBOX")
    if forced in (LANDLOCK, UID, RLIMITS):
        return forced
    reason = _namespaces_work()
    if reason is None:
        return NAMESPACES
    if _landlock_works() is None:
        return LANDLOCK
    if os.geteuid() == 0 and _runtime_open_to_others(()):
        return UID
    _warn_once(reason)
    return RLIMITS


def weak_reason() -> str | None:
    """Why student code would run with weak isolation here; None when it is isolated."""
    if os.environ.get("GRADE_SANDBOX") == RLIMITS:
        return "GRADE_SANDBOX=rlimits is set"
    if isolation_mode() != RLIMITS:
        return None
    return f"{_namespaces_work()}; {_landlock_works()}; not root, or the runtime is closed to other users"


def readable_by_others(path: Path) -> bool:
    """Whether a user with no rights of its own (neither owner nor group) can reach ``path``:
    read it, or for a folder, pass through it (a name known or guessed is enough then)."""
    path = Path(path).resolve()
    try:
        for folder in reversed(path.parents):
            if not os.stat(folder).st_mode & 0o001:
                return False
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & 0o001) if path.is_dir() else bool(mode & 0o004)


def secret_paths() -> list[Path]:
    """What a student must never read: the bank with its solutions and hidden tests, and the
    installed grader."""
    from grader.course import COURSE_ROOT

    return [COURSE_ROOT, Path(__file__).resolve().parents[1]]


def require_strong(allow_weak: bool, private: Iterable[Path] = ()) -> None:
    """Graded work: refuse to run student code with weak isolation unless ``allow_weak``. On
    the UID path the student is only another user: ``private`` (submissions, outputs) and the
    secrets must then be closed to other users."""
    if allow_weak:
        return
    reason = weak_reason()
    if reason is not None:
        raise WeakSandboxError(
            f"Refusing to grade student code: the sandbox cannot isolate it on this machine ({reason}). "
            f"Student code could read any file you can read, including other students' work. "
            f"{HOW_TO_FIX}. To grade anyway, pass --allow-weak-sandbox.")
    if isolation_mode() == UID:
        open_paths = [p for p in (*secret_paths(), *private) if readable_by_others(Path(p))]
        if open_paths:
            listed = " ".join(shlex.quote(str(p)) for p in open_paths)
            raise WeakSandboxError(
                "Refusing to grade student code: without namespaces or Landlock, each student runs "
                f"as a user of its own, who can read what every user can read, and {listed} can be "
                f"read by every user. Run 'chmod -R go-rwx {listed}' (or grade where bubblewrap or "
                "Landlock works), or pass --allow-weak-sandbox.")


@lru_cache(maxsize=1)
def _warn_once(reason: str) -> None:
    warnings.warn(
        f"The sandbox cannot isolate student code here ({reason}). It runs in a separate process "
        "with resource limits, seccomp and an audit hook, but it can read any file your user can "
        f"read. {HOW_TO_FIX}.", SandboxWarning, stacklevel=3)
