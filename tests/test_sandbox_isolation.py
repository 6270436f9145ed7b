"""Sandbox v2 (issue 15): what a hostile submission could do to other students, to the grader
and to the host, tried for real. Each attack earns nothing, harms no one else and leaves
nothing behind. The namespaces path is the one graded work uses; where the rlimits fallback
lets an attack through, a test shows that too (it is why graded work refuses that path)."""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
import uuid
from pathlib import Path

import pytest

from grader.core.paths import COURSE_ROOT
from grader.rules.code import grade_code_run
from grader.sandbox.isolation import (
    LANDLOCK,
    NAMESPACES,
    RLIMITS,
    SANDBOX_UID,
    _landlock_works,
    isolation_mode,
)
from grader.sandbox.limits import Limits
from grader.sandbox.runner import WarmRunner, run_tests
from tests.workspace_helpers import CHECKOUT

pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox]  # the sandbox itself

REFERENCE = (COURSE_ROOT / "solutions/code/count_pairs.py").read_text()
PUBLIC = COURSE_ROOT / "student_templates/count_pairs/test_count_pairs_public.py"
LIMITS = Limits(call_timeout_s=6, startup_timeout_s=30, memory_bytes=1 << 30, file_bytes=4 << 20)
namespaces_only = pytest.mark.skipif(isolation_mode() != NAMESPACES,
                                     reason="bubblewrap cannot create namespaces on this host")


@pytest.fixture(params=[NAMESPACES, LANDLOCK])
def path(request, monkeypatch) -> str:
    """Each isolation path graded work may use: bubblewrap's namespaces, and Landlock (hosts
    without namespaces, such as Docker's default profile)."""
    if request.param == NAMESPACES:
        if isolation_mode() != NAMESPACES:
            pytest.skip("bubblewrap cannot create namespaces on this host")
        monkeypatch.delenv("GRADE_SANDBOX", raising=False)
    else:
        if _landlock_works() is not None:
            pytest.skip(f"no Landlock here: {_landlock_works()}")
        monkeypatch.setenv("GRADE_SANDBOX", LANDLOCK)
    return request.param
# Blind the audit hook and load libc: what is left to stop the attack is the kernel.
RAW = textwrap.dedent("""
    import ctypes, os, sys
    _harness = sys.modules.get("child") or sys.modules["__main__"]
    _harness.FORBIDDEN, _harness.WRITE_EVENTS = (), ()
    libc = ctypes.CDLL(None, use_errno=True)
    """)


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def files(source: str) -> dict[str, bytes]:
    return {"count_pairs.py": source.encode()}


def grade(source: str):
    run = run_tests(files(source), "count_pairs", PUBLIC, limits=LIMITS)
    return run, grade_code_run(run, show_messages=True)


def _descendants(root: int) -> list[int]:
    """Every process below ``root`` on the host."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _host_processes() -> set[tuple[int, str]]:
    """(pid, command line) of sandbox processes on the host: any of the sandbox's uids, and
    bubblewrap or zygotes that are this test's own or orphans (another grader's are not)."""
    mine = set(_descendants(os.getpid()))
    found = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            owner = entry.stat().st_uid
            parent = int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        ours = int(entry.name) in mine or parent == 1
        if SANDBOX_UID <= owner <= SANDBOX_UID + 1_000_001 or (
                ours and ("zygote.py" in cmdline or cmdline.startswith("/usr/bin/bwrap"))):
            found.add((int(entry.name), cmdline[:120]))
    return found


def _left_running(before: set[tuple[int, str]], wait_s: float = 5.0) -> set[tuple[int, str]]:
    """Sandbox processes that were not there before, once the kernel has had ``wait_s`` to end
    them (a killed parent's children get their SIGKILL a moment later)."""
    import time

    deadline = time.monotonic() + wait_s
    while True:
        extra = _host_processes() - before
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.05)


@pytest.fixture
def secret_clone():
    """A second copy of the repository's secrets where a TA might keep one (outside /tmp)."""
    folder = Path(tempfile.mkdtemp(prefix="grade-secret-clone-", dir=Path.home()))
    shutil.copytree(COURSE_ROOT / "solutions", folder / "solutions")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _copier(places: list[str]) -> str:
    """A count_pairs with no logic of its own: it runs the first count_pairs.py it can load
    from ``places`` (glob patterns), else returns {}."""
    return src(f"""
        import importlib.util, glob
        def count_pairs(sequences):
            for path in [p for place in {places!r} for p in glob.glob(place)]:
                try:
                    spec = importlib.util.spec_from_file_location("copied", path)
                    module = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(module)
                    return module.count_pairs(sequences)
                except (OSError, ImportError):
                    continue
            return {{}}
        """)


def _thief(clone: Path, repository: Path | None = COURSE_ROOT) -> str:
    """Scores only by running the reference found in ``clone`` or ``repository``."""
    places = [str(clone / "solutions/code/count_pairs.py")]
    if repository is not None:
        places += [str(repository / "solutions/code/count_pairs.py"),
                   "/*/grade-secret-clone-*/solutions/code/count_pairs.py",
                   "/root/*/solutions/code/count_pairs.py"]
    return _copier(places)


def test_secrets_elsewhere_on_disk_are_not_in_view(secret_clone: Path, path: str):
    run, result = grade(_thief(secret_clone))
    assert run.isolation == path
    assert result.status == "incorrect" and result.score == 0, result.feedback


def test_the_fallback_does_leak_a_clone_which_is_why_graded_work_refuses_it(secret_clone, monkeypatch):
    """Keeps the test above honest: the same thief succeeds where the sandbox is weak."""
    monkeypatch.setenv("GRADE_SANDBOX", RLIMITS)
    _run, result = grade(_thief(secret_clone))
    assert result.status == "correct"


@namespaces_only
def test_the_view_is_an_allowlist():
    probe = REFERENCE + src("""
        import os, sys
        _count = count_pairs
        def count_pairs(sequences):
            seen = set(os.listdir("/"))
            assert not seen - {"bin", "box", "dev", "etc", "harness", "jobs", "lib", "lib32", "lib64",
                               "proc", "root", "sbin", "usr", "opt"}, seen
            assert not set(os.listdir("/etc")) - {"alternatives", "group", "ld.so.cache", "ld.so.conf",
                                                  "ld.so.conf.d", "passwd"}, os.listdir("/etc")
            try:
                assert os.listdir("/jobs") == []
            except PermissionError:
                pass  # covered by an empty tmpfs nobody may enter
            for gone in ("/etc/shadow", "/home", "/srv", "/tmp", "/var", "/work"):
                assert not os.path.exists(gone), gone
            site = [p for p in sys.path if p.endswith("-packages")]
            for folder in site:
                assert "grader" not in os.listdir(folder) and "pytest" not in os.listdir(folder), folder
            assert os.listdir("/proc/1/task") and [p for p in os.listdir("/proc") if p.isdigit()] == ["1"]
            return _count(sequences)
        """)
    _run, result = grade(probe)
    assert result.status == "correct", result.feedback


def test_root_outside_is_not_root_inside(path: str):
    """Namespaces: the sandbox's own uid, mapped to no one. Landlock: its own uid when the
    runtime allows one, else uid 0 with no capability; either way outside files stay out."""
    check_uid = path == NAMESPACES
    probe = REFERENCE + src(f"""
        import os
        _count = count_pairs
        def count_pairs(sequences):
            uid = os.getuid()
            if {check_uid}:
                assert uid != 0 and uid == {SANDBOX_UID if os.geteuid() == 0 else os.getuid()}, uid
                outer = open("/proc/self/uid_map").read().split()
                assert outer[1] != "0", outer
            assert open("/proc/self/status").read().split("CapEff:")[1].split()[0] == "0000000000000000"
            for path in ("/etc/shadow", "/root/.bashrc", "/proc/1/root/etc/shadow"):
                try:
                    open(path).read()
                    raise AssertionError("read " + path)
                except OSError:
                    pass
            return _count(sequences)
        """)
    _run, result = grade(probe)
    assert result.status == "correct", result.feedback


SIGNALLER = RAW + src("""
    import signal
    SYS = {"rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297, "pidfd_open": 434, "prlimit64": 302,
           "setpriority": 141, "sched_setscheduler": 144, "kill": 62, "tkill": 200}
    def count_pairs(sequences):
        info = ctypes.create_string_buffer(128)
        zero = ctypes.create_string_buffer(16)
        for pid in [os.getppid(), *range(1, 300)]:
            if pid == os.getpid():
                continue
            libc.syscall(SYS["rt_sigqueueinfo"], pid, signal.SIGINT, info)
            libc.syscall(SYS["rt_tgsigqueueinfo"], pid, pid, signal.SIGTERM, info)
            libc.syscall(SYS["kill"], pid, signal.SIGKILL)
            libc.syscall(SYS["tkill"], pid, signal.SIGSTOP)
            libc.syscall(SYS["pidfd_open"], pid, 0)
            libc.syscall(SYS["prlimit64"], pid, 7, zero, None)   # RLIMIT_NOFILE to 0
            libc.syscall(SYS["setpriority"], 0, pid, 19)
            libc.syscall(SYS["sched_setscheduler"], pid, 5, zero)  # SCHED_IDLE
        return {}
    """)
IPC_PLANT = RAW + src("""
    def count_pairs(sequences):
        shm = libc.shmget(0x67726164, 4096, 0o1666)        # IPC_CREAT | 0666
        queue = libc.msgget(0x67726164, 0o1666)
        assert shm >= 0 and queue >= 0, ctypes.get_errno()
        return {}
    """)
IPC_FIND = RAW + src("""
    def count_pairs(sequences):
        found = [libc.shmget(0x67726164, 0, 0), libc.msgget(0x67726164, 0)]
        if any(f >= 0 for f in found):
            raise RuntimeError(f"found another job's IPC objects {found}")
        return {}
    """)


def _host_ipc_keys() -> set[str]:
    keys = set()
    for table in ("/proc/sysvipc/shm", "/proc/sysvipc/msg"):
        for line in Path(table).read_text().splitlines()[1:]:
            keys.add(line.split()[0])
    return keys


def test_secrets_and_the_grader_are_out_of_reach(path: str):
    """Whatever the path: the repository, the grader's packages, other processes' memory."""
    probe = REFERENCE + src(f"""
        import os
        _count = count_pairs
        def count_pairs(sequences):
            for secret in ({str(COURSE_ROOT / "solutions/hidden_tests/test_count_pairs_hidden.py")!r},
                           "/etc/shadow", f"/proc/{{os.getppid()}}/environ", "/proc/1/mem"):
                try:
                    open(secret, "rb").read(1)
                    raise AssertionError("read " + secret)
                except OSError:
                    pass
            for name in ("pytest", "grader", "solutions", "_pytest"):
                try:
                    __import__(name)
                    raise AssertionError("imported " + name)
                except (ImportError, OSError):
                    pass
            return _count(sequences)
        """)
    _run, result = grade(probe)
    assert result.status == "correct", result.feedback


def test_no_student_harms_the_zygote_or_later_students(path: str):
    """Queued signals, pidfds, kill, limits and priorities aimed at every pid: the next honest
    submissions through the same warm runner still pass, and grade as they would alone."""
    before = _host_processes()
    with WarmRunner(PUBLIC, "count_pairs", limits=LIMITS) as runner:
        alone = runner.run(files(REFERENCE))
        attacks = [runner.run(files(SIGNALLER)) for _ in range(2)]
        after = [runner.run(files(REFERENCE)) for _ in range(3)]
    assert all(grade_code_run(a, show_messages=True).score == 0 for a in attacks)
    assert [(o.test, o.outcome) for o in alone.outcomes] == [(o.test, o.outcome) for o in after[0].outcomes]
    assert all(r.passed == 5 and r.fatal is None for r in after)
    assert _left_running(before) == set()  # nothing of theirs is left running


def test_ipc_objects_neither_persist_nor_pass_between_students(path: str):
    keys = _host_ipc_keys()
    with WarmRunner(PUBLIC, "count_pairs", limits=LIMITS) as runner:
        planted = runner.run(files(IPC_PLANT))
        found = runner.run(files(IPC_FIND))
    assert grade_code_run(planted, show_messages=True).score == 0
    assert not any("another job" in o.message for o in found.outcomes), found.outcomes[0].message
    _run, cold = grade(IPC_FIND)  # a later grade check does not find them either
    assert "another job" not in " ".join(cold.feedback)
    assert _host_ipc_keys() == keys  # and the host keeps nothing


def test_no_process_outlives_its_job(path: str):
    """No wrapper process to rewrite through /proc (namespaces: the student is pid 1 of its
    own namespace; Landlock: /proc is out of reach), and nothing is left on the host after."""
    escape = RAW + src("""
        def count_pairs(sequences):
            try:
                pids = [p for p in os.listdir("/proc") if p.isdigit()]
            except OSError:
                pids = []
            for pid in pids:
                if int(pid) != os.getpid():
                    raise RuntimeError(f"another process is visible: {pid}")
            for target in ("/proc/1/mem", f"/proc/{os.getppid()}/mem"):
                try:
                    with open(target, "r+b", buffering=0) as fh:
                        fh.write(b"")
                except OSError:
                    pass
            libc.fork()  # refused by seccomp; if it were not, the child would die with pid 1
            return {}
        """)
    before = _host_processes()
    run, result = grade(escape)
    assert result.score == 0 and not any("another process" in o.message for o in run.outcomes)
    assert _left_running(before) == set()


def test_a_zygote_that_dies_is_replaced_and_the_submission_regraded(path: str):
    """Kill the warm runner's zygote from outside between two submissions: the next one is
    graded on a fresh zygote as if nothing happened."""
    before = _host_processes()
    with WarmRunner(PUBLIC, "count_pairs", limits=LIMITS) as runner:
        assert runner.run(files(REFERENCE)).passed == 5
        assert runner._proc is not None
        zygotes = [pid for pid in _descendants(runner._proc.pid)
                   if b"zygote.py" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert zygotes
        for pid in zygotes:
            os.kill(pid, 9)
        again = runner.run(files(REFERENCE))
    assert again.passed == 5 and again.fatal is None, again.fatal
    assert _left_running(before) == set()  # the killed zygote's processes died with it


def test_graded_batch_refuses_a_weak_sandbox_unless_allowed(tmp_path: Path, monkeypatch, bank):
    from tests.workspace_helpers import grade as cli

    monkeypatch.setenv("GRADE_SANDBOX", RLIMITS)
    subs = tmp_path / "subs"
    subs.mkdir()
    assert cli("init", subs / "alice", "--chapter", "0").exit_code == 0
    refused = cli("batch", subs, "--out", tmp_path / "out")
    assert refused.exit_code == 1
    assert "Refusing to grade student code" in refused.output and "bubblewrap" in refused.output
    assert not (tmp_path / "out" / "results").exists()
    allowed = cli("batch", subs, "--out", tmp_path / "out2", "--allow-weak-sandbox")
    assert allowed.exit_code == 0, allowed.output
    assert (tmp_path / "out2" / "results" / "alice.json").exists()


@pytest.fixture
def class_outside_tmp(bank):
    """A class folder in the grader's home (not /tmp), with honest and hostile students."""
    from tests.workspace_helpers import grade as cli

    root = Path(tempfile.mkdtemp(prefix=f"grade-class-{uuid.uuid4().hex[:6]}-", dir=Path.home()))
    honest = {"alice": REFERENCE, "bob": "def count_pairs(sequences):\n    return {}\n",
              "carol": REFERENCE.replace("zip(seq, seq[1:])", "zip(seq, seq[2:])")}
    hostile = {"mallory": SIGNALLER, "trudy": IPC_PLANT, "eve": _classmate_thief(root),
               "oscar": "import os\nwhile True:\n    os.fork()\n"}
    for name, source in {**honest, **hostile}.items():
        assert cli("init", root / "all" / name, "--items", "0.6").exit_code == 0
        (root / "all" / name / "count_pairs" / "count_pairs.py").write_text(source)
    (root / "honest").mkdir()
    for name in honest:
        shutil.copytree(root / "all" / name, root / "honest" / name)
    yield root, list(honest)
    shutil.rmtree(root, ignore_errors=True)


def _classmate_thief(root: Path) -> str:
    """Copies alice from the class folder, found by glob or by its known path."""
    return _copier([f"{root}/{where}/alice/count_pairs/count_pairs.py" for where in ("*", "subs", "all")])


def test_honest_results_are_the_same_with_and_without_hostile_classmates(class_outside_tmp, path: str):
    import json

    from tests.workspace_helpers import grade as cli

    root, honest = class_outside_tmp
    for name in ("honest", "all"):
        result = cli("batch", root / name, "--out", root / f"out-{name}", "--workers", "2")
        assert result.exit_code == 0, result.output

    def item(out: str, student: str) -> dict:
        doc = json.loads((root / out / "results" / f"{student}.json").read_text())
        return doc["items"]["0.6"]

    for student in honest:
        assert item("out-all", student) == item("out-honest", student), student
    assert item("out-all", "alice")["score"] > 0
    wrong = item("out-all", "bob")["score"]  # {} for every case: what the attackers return
    for student in ("mallory", "trudy", "eve", "oscar"):
        assert item("out-all", student)["score"] <= wrong, (student, item("out-all", student))


DOCKER_LIKE = textwrap.dedent("""
    # Refuse new namespaces as Docker's default seccomp profile does, then run the rest.
    import ctypes, os, platform, runpy, sys
    from grader.sandbox import seccomp as s
    audit, _, _, _, clone, clone3, _ = s.ARCHES[platform.machine()]
    nrs = {"x86_64": (272, 308), "aarch64": (97, 268)}[platform.machine()]
    eperm = (s.RET_K, 0, 0, s.RET_ERRNO | s.EPERM)
    prog = [(s.LD_W_ABS, 0, 0, s.OFF_NR)]
    for nr in nrs:
        prog += [(s.JEQ_K, 0, 1, nr), eperm]
    prog += [(s.JEQ_K, 0, 1, clone3), (s.RET_K, 0, 0, s.RET_ERRNO | s.ENOSYS),
             (s.JEQ_K, 0, 3, clone), (s.LD_W_ABS, 0, 0, s.OFF_ARG0), (s.JSET_K, 0, 1, s.CLONE_NAMESPACES),
             eperm, (s.RET_K, 0, 0, s.RET_ALLOW)]
    libc = ctypes.CDLL(None, use_errno=True)
    filters = (s._Filter * len(prog))(*[s._Filter(*i) for i in prog])
    assert libc.prctl(s.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
    assert libc.syscall(s.ARCHES[platform.machine()][1], s.SECCOMP_SET_MODE_FILTER,
                        s.SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(s._Program(len(prog), filters))) == 0
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
    """)
CONTAINER_CHECK = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from grader.rules.code import grade_code_run
    from grader.sandbox.isolation import isolation_mode, weak_reason
    from grader.sandbox.limits import Limits
    from grader.sandbox.runner import run_tests
    public = Path(sys.argv[1])
    out = {"mode": isolation_mode(), "weak": weak_reason(), "scores": {}}
    for name in sys.argv[2:]:
        run = run_tests({"count_pairs.py": Path(name).read_bytes()}, "count_pairs", public,
                        limits=Limits(call_timeout_s=6, startup_timeout_s=30))
        out["scores"][Path(name).stem] = grade_code_run(run, show_messages=True).score
    print(json.dumps(out))
    """)


@pytest.mark.skipif(_landlock_works() is not None, reason=f"no Landlock here: {_landlock_works()}")
def test_a_host_that_refuses_namespaces_grades_through_landlock(tmp_path: Path, secret_clone: Path):
    """Simulate a container host (as Gradescope's): namespaces refused by seccomp, the grader
    root. bubblewrap fails, so the Landlock path is chosen by itself; it isolates (graded work
    proceeds) and the attacks earn nothing while a correct submission scores."""
    import json
    import subprocess
    import sys

    (tmp_path / "launch.py").write_text(DOCKER_LIKE)
    (tmp_path / "check.py").write_text(CONTAINER_CHECK)
    sources = {"honest": REFERENCE, "thief": _thief(secret_clone), "signals": SIGNALLER}
    for name, source in sources.items():
        (tmp_path / f"{name}.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "GRADE_SANDBOX"}
    done = subprocess.run([sys.executable, str(tmp_path / "launch.py"), str(tmp_path / "check.py"),
                           str(PUBLIC), *(str(tmp_path / f"{n}.py") for n in sources)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=CHECKOUT)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["mode"] == LANDLOCK and report["weak"] is None, report
    assert report["scores"] == {"honest": 1.0, "thief": 0.0, "signals": 0.0}, report


NON_ROOT_CHECK = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from grader.core.paths import COURSE_ROOT
    from grader.sandbox.isolation import isolation_mode, weak_reason
    from grader.sandbox.runner import run_tests
    probe = (COURSE_ROOT / "solutions/code/count_pairs.py").read_bytes() + b'''
    import os
    _count = count_pairs
    def count_pairs(sequences):
        assert os.getuid() == %d, os.getuid()
        assert open("/proc/self/status").read().split("CapEff:")[1].split()[0] == "0" * 16
        for secret in ("%s", "/etc/shadow", "%c"):
            try:
                open(secret).read()
                raise AssertionError("read " + secret)
            except OSError:
                pass
        with open("scratch.txt", "w") as fh:
            fh.write("its own work folder is writable")
        return _count(sequences)
    '''
    run = run_tests({"count_pairs.py": probe}, "count_pairs",
                    COURSE_ROOT / "student_templates/count_pairs/test_count_pairs_public.py")
    print(json.dumps({"mode": isolation_mode(), "weak": weak_reason(), "passed": run.passed,
                      "fatal": run.fatal, "first": run.outcomes[0].message if run.outcomes else ""}))
    """)


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/python3").exists()
                    or isolation_mode() != NAMESPACES,
                    reason="needs root (to become another user), the system's python3 and namespaces "
                           "(a grader that is not root runs this whole suite that way anyway)")
def test_a_grader_that_is_not_root_gets_namespaces_of_its_own():
    """The path students and most TAs take: the grader runs as an ordinary user, so bubblewrap
    makes a user namespace and the student keeps that user's uid with no capability; and the
    Landlock path for the same user. Run for real as uid 60000 from a virtual environment on
    the system's Python (this repository's own interpreter may live where other users cannot
    enter, as here under /root). A bug found this way: the Landlock child counted /proc after
    Landlock had closed it, and never started."""
    import json
    import subprocess

    user = 60_000
    folder = Path(tempfile.mkdtemp(prefix="grade-nonroot-", dir="/var/tmp"))
    try:
        venv = folder / "venv"
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", "-e", str(CHECKOUT), "pytest"], check=True,
                       capture_output=True, timeout=300)
        hidden = COURSE_ROOT / "solutions/hidden_tests/test_count_pairs_hidden.py"
        check = NON_ROOT_CHECK.replace("%d", str(user)).replace("%s", str(hidden))
        (folder / "check.py").write_text(check.replace("%c", str(folder / "check.py")))
        (folder / "home").mkdir()
        os.chown(folder / "home", user, user)
        for path in (folder, *folder.rglob("*")):
            path.chmod(path.stat().st_mode | 0o055 if path.is_dir() else path.stat().st_mode | 0o044)

        def become() -> None:
            os.setgroups([])
            os.setresgid(user, user, user)
            os.setresuid(user, user, user)

        reports = {}
        for path in (NAMESPACES, LANDLOCK):  # Landlock: the same user, no namespaces at all
            env = {"HOME": str(folder / "home"), "PATH": "/usr/bin:/bin",
                   **({"GRADE_SANDBOX": LANDLOCK} if path == LANDLOCK else {})}
            done = subprocess.run([str(venv / "bin/python"), str(folder / "check.py")], preexec_fn=become,
                                  env=env, cwd=folder / "home", capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr[-2000:]
            reports[path] = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for path, report in reports.items():
        assert report == {"mode": path, "weak": None, "passed": 5, "fatal": None, "first": ""}, report


NO_LANDLOCK = DOCKER_LIKE.replace(
    "for nr in nrs:\n",
    "for nr in (444, 445, 446):  # and no Landlock: an older kernel or a stricter profile\n"
    "    prog += [(s.JEQ_K, 0, 1, nr), (s.RET_K, 0, 0, s.RET_ERRNO | s.ENOSYS)]\n"
    "for nr in nrs:\n")
assert NO_LANDLOCK != DOCKER_LIKE


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
                    reason="needs root and the system's python3 (a runtime other users can run)")
def test_a_root_container_without_landlock_grades_each_student_as_its_own_user(bank):
    """The last isolation path: a root grader, no namespaces, no Landlock (simulated with a
    seccomp filter), a runtime other users can run. Each student is a user of its own; graded
    work proceeds only while the secrets are closed to other users, and then a class with
    hostile students grades as the honest ones alone would."""
    import json
    import subprocess

    from tests.workspace_helpers import grade as cli

    folder = Path(tempfile.mkdtemp(prefix="grade-uidpath-", dir="/var/tmp"))
    try:
        folder.chmod(0o755)
        repo = folder / "course"  # the instructor's copy, closed to other users
        shutil.copytree(CHECKOUT, repo, ignore=shutil.ignore_patterns(".git", "*.egg-info", "__pycache__"))
        venv = folder / "venv"
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", "-e", str(repo), "pytest"], check=True,
                       capture_output=True, timeout=300)
        for path in (venv, *venv.rglob("*")):
            path.chmod(path.stat().st_mode | (0o055 if path.is_dir() else 0o044))
        subs = folder / "private" / "subs"
        subs.parent.mkdir(mode=0o700)
        subs.mkdir()
        mark = f"grade-leftover-{uuid.uuid4().hex[:8]}"
        leaver = src(f"""
            import os
            def count_pairs(sequences):
                for folder in ("/tmp", "/dev/shm", "/var/tmp"):
                    with open(f"{{folder}}/{mark}", "w") as fh:
                        fh.write("for whoever comes next")
                return {{}}
            """)
        students = {"alice": REFERENCE, "bob": "def count_pairs(sequences):\n    return {}\n",
                    "leaver": leaver,
                    # this path protects what is closed to other users: the course copy here
                    # (a world-readable clone elsewhere would be readable: see the README)
                    "mallory": SIGNALLER, "trudy": IPC_PLANT, "eve": _thief(repo, None),
                    "copycat": _classmate_thief(subs.parent)}
        for name, source in students.items():
            assert cli("init", subs / name, "--items", "0.6").exit_code == 0
            (subs / name / "count_pairs" / "count_pairs.py").write_text(source)
        (folder / "launch.py").write_text(NO_LANDLOCK)
        env = {k: v for k, v in os.environ.items() if k not in ("GRADE_SANDBOX", "VIRTUAL_ENV")}
        spec = folder / "private/ps.yaml"  # count_pairs alone: this venv has no torch for the router
        spec.write_text("name: ps\ntitle: PS\nmode: practice\nitems: ['0.6']\n")
        grade_cmd = [str(venv / "bin/python"), str(folder / "launch.py"), str(venv / "bin/grade"), "batch",
                     str(subs), "--bank", str(repo / "bank"), "--assignment", str(spec)]

        repo.chmod(0o755)  # first as cloned: readable by everyone, so graded work refuses
        refused = subprocess.run([*grade_cmd, "--out", str(folder / "private/out1")], env=env,
                                 capture_output=True, text=True, timeout=300)
        repo.chmod(0o700)
        done = subprocess.run([*grade_cmd, "--out", str(folder / "private/out2")], env=env,
                              capture_output=True, text=True, timeout=600)
        results = {n: json.loads((folder / "private/out2/results" / f"{n}.json").read_text())["items"]["0.6"]
                   for n in students if done.returncode == 0}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert refused.returncode == 1 and "chmod -R go-rwx" in refused.stderr and str(repo) in refused.stderr, \
        refused.stderr[-1500:]
    assert done.returncode == 0, done.stderr[-2000:]
    assert results["alice"]["score"] == 1.0, results["alice"]
    for name in ("mallory", "trudy", "eve", "leaver", "copycat"):
        assert results[name]["score"] <= results["bob"]["score"], (name, results[name])
    left = [f"{d}/{mark}" for d in ("/tmp", "/dev/shm", "/var/tmp") if os.path.exists(f"{d}/{mark}")]
    assert left == []  # the uid's files in shared folders are removed after its job


METADATA = RAW + src("""
    import errno, threading, time
    def count_pairs(sequences):
        refused = []
        decoy = os.environ.get("DECOY", "/usr/bin/env")
        for name, attempt in [
                ("chmod", lambda: os.chmod(decoy, 0o4777)),
                ("chmod-parent", lambda: os.chmod("..", 0)),
                ("chmod-self-log", lambda: os.chmod("../output.log", 0o4777)),
                ("utime", lambda: os.utime(decoy, (0, 0))),
                ("setxattr", lambda: os.setxattr(decoy, "user.x", b"1")),
                ("chown", lambda: os.chown("..", 0, 0)),
                ("setresuid", lambda: os.setresuid(0, 0, 0)),
                ("setown", lambda: __import__("fcntl").fcntl(os.pipe()[0], 8, 1))]:  # F_SETOWN pid 1
            try:
                attempt()
            except OSError as exc:
                refused.append(name)
        libc.setpriority.restype = ctypes.c_int
        if libc.setpriority(2, 0, 19) != 0:   # PRIO_USER, this user: every process of it
            refused.append("setpriority-user")
        if libc.syscall(240, b"q", 0o100 | 2, 0o600, None) < 0:   # mq_open(O_CREAT)
            refused.append("mq_open")
        started = 0
        try:
            for _ in range(300):
                threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
                started += 1
        except RuntimeError:
            refused.append("threads")
        raise RuntimeError("refused " + " ".join(refused) + f" after {started} threads")
    """)


def test_no_metadata_priority_queue_or_thread_flood_reaches_the_host(path: str):
    """What Landlock does not cover, and a uid-0 child could otherwise do (found by review):
    chmod/utime/xattrs of files outside the job (its slot too: that stopped every later
    student), a whole user's priority, POSIX queues, and threads until the host has no pids.
    Seccomp refuses the first ones, a process limit counts the threads; later students grade
    as they would alone."""
    decoy = Path("/usr/bin/env")
    mode = decoy.stat().st_mode
    with WarmRunner(PUBLIC, "count_pairs", limits=LIMITS) as runner:
        attack = runner.run(files(METADATA))
        after = [runner.run(files(REFERENCE)) for _ in range(2)]
    message = attack.outcomes[0].message
    assert ("refused chmod chmod-parent chmod-self-log utime setxattr chown setresuid setown "
            "setpriority-user mq_open threads" in message), message
    assert int(message.rsplit("after ", 1)[1].split()[0]) <= LIMITS.extra_processes
    assert decoy.stat().st_mode == mode
    assert all(r.passed == 5 and r.fatal is None for r in after), [r.fatal for r in after]


def test_a_work_folder_that_is_no_tmpfs_is_still_capped(monkeypatch):
    """Landlock path: work/ is a plain folder, measured while the student runs."""
    if _landlock_works() is not None:
        pytest.skip(f"no Landlock here: {_landlock_works()}")
    monkeypatch.setenv("GRADE_SANDBOX", LANDLOCK)
    flood = src("""
        def count_pairs(sequences):
            for i in range(100_000):
                open(f"f{i}", "w").close()
            return {}
        """)
    run, result = grade(flood)
    assert run.fatal is not None and run.fatal[0] == "output_limit", run.fatal
    assert result.score == 0


def test_folders_of_graders_that_are_gone_are_swept(tmp_path: Path):
    """A grader killed with SIGKILL cannot clean up: the next one removes job, zygote and
    trusted folders whose creator is gone (and an older grader's unnamed ones after a day)."""
    import time

    from grader.sandbox.session import STALE_S, _sweep_once

    root = tmp_path / "sandbox"
    for sub in ("jobs", "zygotes", "trusted"):
        (root / sub).mkdir(parents=True)
    gone, mine = root / "jobs" / "999999999-abc", root / "trusted" / f"{os.getpid()}-abc"
    old, recent = root / "zygotes" / "tmpold", root / "zygotes" / "tmprecent"
    for folder in (gone, mine, old, recent):
        folder.mkdir()
    os.utime(old, (time.time() - STALE_S - 60,) * 2)
    _sweep_once.__wrapped__(root)
    assert not gone.exists() and not old.exists()
    assert mine.exists() and recent.exists()


@pytest.mark.parametrize("mode", [NAMESPACES, LANDLOCK, RLIMITS])
def test_a_student_dies_with_its_zygote_on_every_path(mode: str, monkeypatch):
    """Kill a zygote while its student runs: nothing of the job is left on the host (bubblewrap
    ends the namespaces; elsewhere the student's PR_SET_PDEATHSIG, which seccomp keeps set)."""
    import threading
    import time

    if mode == NAMESPACES and isolation_mode() != NAMESPACES:
        pytest.skip("bubblewrap cannot create namespaces on this host")
    if mode == LANDLOCK and _landlock_works() is not None:
        pytest.skip(f"no Landlock here: {_landlock_works()}")
    if mode == NAMESPACES:
        monkeypatch.delenv("GRADE_SANDBOX", raising=False)
    else:
        monkeypatch.setenv("GRADE_SANDBOX", mode)
    sleeper = "import time\ndef count_pairs(sequences):\n    time.sleep(60)\n"
    before = _host_processes()
    with WarmRunner(PUBLIC, "count_pairs", limits=LIMITS) as runner:
        worker = threading.Thread(target=runner.run, args=(files(sleeper),))
        worker.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            procs = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in _descendants(runner._proc.pid)
                     if Path(f"/proc/{pid}").exists()} if runner._proc else {}
            zygotes = [p for p, cmd in procs.items() if b"zygote.py" in cmd]
            if len(zygotes) >= 2:  # the zygote and its student (and, in namespaces, the relay)
                break
            time.sleep(0.05)
        parents = {p: int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1]) for p in zygotes}
        for pid in (p for p in zygotes if parents[p] not in zygotes):  # the zygote itself
            os.kill(pid, 9)
        worker.join(timeout=60)
    assert _left_running(before) == set()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a folder that belongs to another user")
def test_a_sandbox_folder_another_user_made_first_is_not_used(tmp_path: Path, monkeypatch):
    """A student on the same machine could create /tmp/grade-sandbox-<uid> first (found by
    review): the grader then takes a fresh folder of its own rather than use or refuse it."""
    from grader.sandbox import session

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    squatted = tmp_path / f"grade-sandbox-{os.getuid()}"
    squatted.mkdir()
    os.chown(squatted, 60_000, 60_000)
    session._private_root.cache_clear()
    try:
        root = session.sandbox_root()
        assert root != squatted and root.parent == tmp_path and root.stat().st_uid == os.getuid()
        assert not any(squatted.iterdir())
    finally:
        session._private_root.cache_clear()


def test_what_counts_as_open_to_other_users():
    """The uid path's refusal: a folder others may pass through is open (a known or guessed
    name is enough), whatever its read bit (found by review)."""
    from grader.sandbox.isolation import readable_by_others

    top = Path(tempfile.mkdtemp(dir="/var/tmp"))  # pytest's own folders are closed to others
    top.chmod(0o755)
    passable = top / "passable"
    passable.mkdir(mode=0o711)
    (passable / "alice.py").write_text("x")
    closed = top / "closed"
    closed.mkdir(mode=0o700)
    (closed / "bob.py").write_text("x")
    try:
        assert readable_by_others(passable) and readable_by_others(passable / "alice.py")
        assert not readable_by_others(closed) and not readable_by_others(closed / "bob.py")
    finally:
        shutil.rmtree(top, ignore_errors=True)
