"""Hostile submissions for count_pairs: each scores zero on its item, and the grader and the
rest of the run are unharmed. Run through the real sandbox (namespaces where the kernel
allows them) and, for the attacks the fallback must also stop, through rlimits only."""

from __future__ import annotations

import os
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.core.paths import COURSE_ROOT
from grader.rules.code import grade_code_run
from grader.sandbox.isolation import NAMESPACES, RLIMITS, isolation_mode
from grader.sandbox.limits import Limits
from grader.sandbox.runner import run_tests

pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox]  # the sandbox itself

REFERENCE = (COURSE_ROOT / "solutions/code/count_pairs.py").read_text()
PUBLIC = COURSE_ROOT / "student_templates/count_pairs/test_count_pairs_public.py"
HIDDEN = COURSE_ROOT / "solutions/hidden_tests/test_count_pairs_hidden.py"
LIMITS = Limits(call_timeout_s=4, startup_timeout_s=30, memory_bytes=1 << 30, file_bytes=4 << 20)
WRONG = "def count_pairs(sequences):\n    return {}\n"


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip()


ATTACKS: dict[str, tuple[str, set[str]]] = {
    # name: (module source, statuses that count as "stopped, zero points")
    "sys.exit at import": (src("import sys\nsys.exit(0)\n"), {"error"}),
    "os._exit at import": (src("import os\nos._exit(0)\n"), {"crashed"}),
    "os._exit in the function": (src("""
        import os
        def count_pairs(sequences):
            os._exit(0)
        """), {"crashed"}),
    "sys.exit in the function": (src("""
        import sys
        def count_pairs(sequences):
            sys.exit(0)
        """), {"incorrect"}),
    "atexit prints passes": (WRONG + src("""
        import atexit
        atexit.register(lambda: print('5 passed', '{"collected": 5, "results": []}'))
        """), {"incorrect"}),
    "fake pass lines and JSON": (src("""
        import json, sys
        print("===== 5 passed in 0.01s =====")
        print(json.dumps({"collected": 5, "results": [{"test": "x", "outcome": "passed"}] * 5}))
        sys.stderr.write("PASSED\\n")
        def count_pairs(sequences):
            print("PASSED")
            return {}
        """), {"incorrect"}),
    "fake results files": (WRONG + src("""
        import glob, json, os
        fake = json.dumps({"collected": 1, "results": [{"test": "t", "outcome": "passed"}]})
        for path in ["report.xml", "results.json", "../results.json", "/tmp/results.json",
                     *glob.glob("/tmp/grade-sandbox-*/trusted/*/sandbox.json")]:
            try:
                open(path, "w").write(fake)
            except OSError:
                pass
        """), {"incorrect", "forbidden"}),
    "plant a .pth in site-packages": (src("""
        import site
        def count_pairs(sequences):
            for folder in site.getsitepackages():
                try:
                    with open(folder + "/zz_grade_attack.pth", "w") as fh:
                        fh.write("import os; os.system('touch /tmp/pwned')\\n")
                except OSError:
                    pass
            return {}
        """), {"forbidden", "incorrect"}),
    "write outside the work folder": (src("""
        import os
        def count_pairs(sequences):
            os.makedirs("../../escape", exist_ok=True)
            open("../../escape/x", "w").write("x")
            return {}
        """), {"forbidden"}),
    "patch pytest and unittest internals": (WRONG + src("""
        import _pytest.reports, unittest
        _pytest.reports.TestReport.outcome = "passed"
        unittest.TestCase.run = lambda self, result=None: None
        """), {"incorrect", "error"}),  # error: pytest is not in the student's view at all
    "always-equal result": (src("""
        class Equal(dict):
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
        class Anything:
            __eq__ = lambda self, other: True
            def __iter__(self):
                return iter(())
        def count_pairs(sequences):
            return Anything()
        """), {"incorrect"}),
    "infinite loop ignoring signals": (src("""
        import signal
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU):
            signal.signal(s, signal.SIG_IGN)
        def count_pairs(sequences):
            while True:
                pass
        """), {"timeout"}),
    "memory bomb": (src("""
        def count_pairs(sequences):
            blocks = []
            while True:
                blocks.append(bytearray(64 << 20))
        """), {"memory_limit", "crashed"}),
    "fork bomb": (src("""
        import os
        def count_pairs(sequences):
            while True:
                os.fork()
        """), {"forbidden"}),
    "fork through ctypes": (src("""
        import ctypes
        def count_pairs(sequences):
            libc = ctypes.CDLL(None)
            while True:
                libc.fork()
        """), {"forbidden"}),
    "subprocess": (src("""
        import subprocess
        def count_pairs(sequences):
            subprocess.run(["sh", "-c", ":(){ :|:& };:"])
        """), {"forbidden"}),
    "gigabytes of output": (src("""
        import sys
        def count_pairs(sequences):
            while True:
                sys.stdout.write("x" * (1 << 20))
        """), {"output_limit"}),
    "huge file": (src("""
        def count_pairs(sequences):
            with open("big.bin", "wb") as fh:
                while True:
                    fh.write(b"\\0" * (1 << 20))
        """), {"output_limit"}),
    "fill the disk with many files": (src("""
        def count_pairs(sequences):
            for i in range(10_000):
                with open(f"f{i}.bin", "wb") as fh:
                    fh.write(b"\\0" * ((4 << 20) - 1))
        """), {"output_limit"}),
    "network connection": (src("""
        import socket
        def count_pairs(sequences):
            socket.create_connection(("93.184.216.34", 80), timeout=2)
        """), {"forbidden"}),
    "kill the grader": (src("""
        import os, signal
        def count_pairs(sequences):
            os.kill(os.getppid(), signal.SIGKILL)
            os.kill(1, signal.SIGKILL)
        """), {"forbidden"}),
    "oversized forged reply": (src("""
        import os, struct
        def count_pairs(sequences):
            for fd in range(3, 20):
                try:
                    os.write(fd, struct.pack(">II", 400 << 20, 2))
                except OSError:
                    pass
            return {}
        """), {"tampered", "incorrect"}),
    "forged frames on the channel": (src("""
        import os, struct
        def count_pairs(sequences):
            for fd in range(3, 20):
                try:
                    os.write(fd, struct.pack(">II", 5, 2) + b'{"a":' + b"[]")
                except OSError:
                    pass
            return {}
        """), {"tampered", "incorrect"}),
}


def grade(source: str, extra: dict[str, str] | None = None, tests: Path = PUBLIC):
    files = {"count_pairs.py": source.encode(), **{k: v.encode() for k, v in (extra or {}).items()}}
    run = run_tests(files, "count_pairs", tests, limits=LIMITS)
    return run, grade_code_run(run, show_messages=True)


def run_all(cases: dict[str, tuple[str, set[str]]]) -> dict[str, tuple]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(grade, source) for name, (source, _) in cases.items()}
        return {name: future.result() for name, future in futures.items()}


def _assert_stopped(results, cases):
    import site

    for folder in site.getsitepackages():
        assert not Path(folder, "zz_grade_attack.pth").exists()
    problems = {}
    for name, (_run, result) in results.items():
        if result.status not in cases[name][1] or result.score != 0:
            problems[name] = (result.status, result.feedback)
    assert problems == {}


@pytest.mark.skipif(isolation_mode() != NAMESPACES, reason="this kernel does not allow user namespaces")
def test_every_attack_scores_zero_in_namespaces():
    results = run_all(ATTACKS)
    _assert_stopped(results, ATTACKS)
    assert all(run.isolation == NAMESPACES for run, _ in results.values())
    # the grader's own process and the machine are fine: a normal submission still passes
    run, result = grade(REFERENCE)
    assert result.status == "correct" and run.passed == 5


FALLBACK_ATTACKS = ("os._exit in the function", "plant a .pth in site-packages",
                    "write outside the work folder", "infinite loop ignoring signals", "memory bomb",
                    "fork bomb", "fork through ctypes", "gigabytes of output", "huge file",
                    "network connection", "kill the grader", "fake pass lines and JSON")


def test_the_rlimits_fallback_stops_the_same_attacks(monkeypatch):
    monkeypatch.setenv("GRADE_SANDBOX", RLIMITS)
    cases = {name: ATTACKS[name] for name in FALLBACK_ATTACKS}
    results = run_all(cases)
    _assert_stopped(results, cases)
    assert all(run.isolation == RLIMITS for run, _ in results.values())


def test_shadowing_stdlib_and_pytest_modules_has_no_effect():
    shadows = {"json.py": "raise SystemExit('shadowed json')\n",
               "pytest.py": "raise SystemExit('shadowed pytest')\n",
               "wire.py": "raise SystemExit('shadowed wire')\n",
               "traceback.py": "raise SystemExit('shadowed traceback')\n",
               "collections.py": "raise SystemExit('shadowed collections')\n"}
    _run, result = grade(REFERENCE, shadows)
    assert result.status == "correct", result.feedback


def test_submission_conftest_and_ini_files_are_ignored(tmp_path: Path, bank):
    from grader.items.code_runs import grade_code_item
    from grader.workspace.manifest import manifest_item

    item = bank.items["0.6"]
    folder = tmp_path / "count_pairs"
    folder.mkdir()
    (folder / "count_pairs.py").write_text(WRONG)
    (folder / "conftest.py").write_text(src("""
        import pytest
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(item, call):
            outcome = yield
            outcome.get_result().outcome = "passed"
        """))
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p no:terminal --co\n")
    (folder / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '--co'\n")
    result = grade_code_item(item, tmp_path, manifest_item(item), hidden=False)
    assert result.status == "incorrect" and result.score == 0


LEAK_PROBE = REFERENCE + src(f"""
    import glob, gc, os, sys

    def _leaks():
        found = []
        for path in [{str(HIDDEN)!r}, {str(COURSE_ROOT / "solutions/code/count_pairs.py")!r},
                     *glob.glob("/tmp/grade-sandbox-*/trusted/*/*.py"),
                     *glob.glob({str(COURSE_ROOT)!r} + "/**/test_*hidden*.py", recursive=True)]:
            try:
                open(path).read()
                found.append(path)
            except OSError:
                pass
        try:
            parent = open(f"/proc/{{os.getppid()}}/cmdline", "rb").read()
            if b"pytest" in parent or b"hidden" in parent:
                found.append("parent cmdline")
        except OSError:
            pass
        for pid in os.listdir("/proc"):
            if pid.isdigit() and int(pid) not in (os.getpid(), os.getppid(), 1):
                try:
                    if b"pytest" in open(f"/proc/{{pid}}/cmdline", "rb").read():
                        found.append(f"process {{pid}}")
                except OSError:
                    pass
        if any("oracle" in str(getattr(o, "__name__", "")) for o in gc.get_objects()[:200000]):
            found.append("gc")
        frame = sys._getframe()
        while frame is not None:
            if "hidden" in frame.f_code.co_filename:
                found.append("frames")
            frame = frame.f_back
        if any(k for k in os.environ):
            found.append("environment: " + ",".join(os.environ))
        return found

    _count = count_pairs

    def count_pairs(sequences):
        leaks = _leaks()
        if leaks:
            raise RuntimeError("leaked: " + "; ".join(leaks))
        return _count(sequences)
    """)


@pytest.mark.skipif(isolation_mode() != NAMESPACES, reason="this kernel does not allow user namespaces")
def test_hidden_tests_references_and_the_parent_are_unreachable():
    run, result = grade(LEAK_PROBE, tests=HIDDEN)
    leaks = [o.message for o in run.outcomes if "leaked" in o.message]
    assert leaks == [] and result.status == "correct", (leaks[:1], result.feedback)


def test_fallback_warns_that_files_are_readable(monkeypatch):
    from grader.sandbox import isolation

    monkeypatch.delenv("GRADE_SANDBOX", raising=False)
    monkeypatch.setattr(isolation, "_namespaces_work", lambda: "user namespaces disabled (test)")
    monkeypatch.setattr(isolation, "_landlock_works", lambda: "no Landlock (test)")
    isolation._warn_once.cache_clear()
    with pytest.warns(isolation.SandboxWarning, match="can read any file your user can read"):
        assert isolation.isolation_mode() == RLIMITS


def test_environment_is_empty_and_interpreter_isolated():
    probe = REFERENCE + src("""
        import os, sys
        _count = count_pairs
        def count_pairs(sequences):
            assert dict(os.environ) == {}, dict(os.environ)
            assert sys.flags.isolated == 1
            assert os.getcwd().endswith("work")
            assert sorted(os.listdir(".")) == ["count_pairs.py"], os.listdir(".")
            return _count(sequences)
        """)
    _run, result = grade(probe)
    assert result.status == "correct", result.feedback
    assert os.environ  # the grader's own environment is untouched


def test_the_leak_probe_does_find_leaks_without_namespaces(monkeypatch):
    """Keeps the test above honest: the same probe reports the hidden tests when they are readable."""
    monkeypatch.setenv("GRADE_SANDBOX", RLIMITS)
    run, result = grade(LEAK_PROBE, tests=PUBLIC)
    assert result.status == "incorrect"
    assert any(str(HIDDEN) in o.message for o in run.outcomes)


@pytest.mark.skipif(isolation_mode() != NAMESPACES, reason="this kernel does not allow user namespaces")
def test_everything_but_the_job_folder_is_read_only_in_namespaces():
    probe = REFERENCE + src("""
        import os, site, sys
        _count = count_pairs
        def count_pairs(sequences):
            for folder in ["/", "/usr", "/dev", "/harness", sys.prefix, *site.getsitepackages()]:
                assert os.statvfs(folder).f_flag & os.ST_RDONLY, folder
            assert not os.path.exists("/tmp")
            assert not os.statvfs(".").f_flag & os.ST_RDONLY
            return _count(sequences)
        """)
    _run, result = grade(probe)
    assert result.status == "correct", result.feedback


def test_a_router_that_wipes_its_input_earns_nothing(bank):
    """Inputs are never copied back into the trusted tests: changing one fails the call."""
    pytest.importorskip("torch", reason="the MoE router item needs torch (pip install '.[test]')")
    wiper = src("""
        import torch
        def route(x, w, top_k):
            x.zero_()
            n, e = x.shape[0], w.shape[1]
            idx = torch.arange(top_k, dtype=torch.int64).expand(n, top_k).clone()
            return idx, torch.full((n, e), 1.0 / e, dtype=x.dtype)
        """)
    spec = bank.items["3.5"].code
    run = run_tests({"moe_router.py": wiper.encode()}, "moe_router", COURSE_ROOT / spec.hidden_tests,
                    ("torch",), LIMITS)
    assert run.passed == 0
    assert "modified its input" in run.outcomes[0].message


HOOK_DISABLED = src("""
    import os, socket, subprocess, sys
    harness = sys.modules["child"]
    harness.FORBIDDEN, harness.WRITE_EVENTS = (), ()   # blind the audit hook

    def count_pairs(sequences):
        refused = []
        for name, attempt in [("fork", os.fork),
                              ("subprocess", lambda: subprocess.Popen(["/bin/true"])),
                              ("socket", lambda: socket.socket())]:
            try:
                pid = attempt()
                if name == "fork" and pid == 0:
                    os._exit(0)
            except OSError as exc:
                refused.append(f"{name}:{exc.errno}")
        raise RuntimeError("refused " + " ".join(refused))
    """)


@pytest.mark.parametrize("mode", [NAMESPACES, RLIMITS])
def test_seccomp_refuses_what_a_blinded_audit_hook_lets_through(monkeypatch, mode):
    if mode == NAMESPACES and isolation_mode() != NAMESPACES:
        pytest.skip("this kernel does not allow user namespaces")
    monkeypatch.setenv("GRADE_SANDBOX", mode)
    run, result = grade(HOOK_DISABLED)
    message = run.outcomes[0].message
    assert "refused fork:1 subprocess:1 socket:1" in message, message
    assert result.score == 0


def test_every_attack_scores_zero_through_a_warm_runner_that_stays_healthy():
    """The same attacks, one after another through one warm runner (zygote-forked processes)."""
    from grader.sandbox.runner import WarmRunner

    with WarmRunner(PUBLIC, "count_pairs", limits=LIMITS) as runner:
        results = {}
        for name, (source, _) in ATTACKS.items():
            run = runner.run({"count_pairs.py": source.encode()})
            results[name] = (run, grade_code_run(run, show_messages=True))
        _assert_stopped(results, ATTACKS)
        healthy = runner.run({"count_pairs.py": REFERENCE.encode()})
        assert healthy.passed == 5 and healthy.fatal is None


@pytest.mark.skipif(isolation_mode() != NAMESPACES, reason="this kernel does not allow user namespaces")
def test_warm_processes_cannot_reach_secrets_or_other_jobs():
    from grader.sandbox.runner import WarmRunner

    other_job = REFERENCE + "\n# another student's submission\n"
    probe = LEAK_PROBE + src("""
        import glob as _glob
        _inner = count_pairs
        def count_pairs(sequences):
            others = _glob.glob("/tmp/grade-sandbox-*/jobs/*/src/*.py")
            if others:
                raise RuntimeError("leaked: other jobs " + ",".join(others))
            return _inner(sequences)
        """)
    from grader.sandbox.session import Job

    other = Job.create({"count_pairs.py": other_job.encode()}, "count_pairs")  # a job in flight
    try:
        assert list(other.dir.parent.glob("*/src/*.py"))  # visible from here, so the probe can tell
        with WarmRunner(HIDDEN, "count_pairs", limits=LIMITS) as runner:
            run = runner.run({"count_pairs.py": probe.encode()})
    finally:
        other.remove()
    leaks = [o.message for o in run.outcomes if "leaked" in o.message]
    assert leaks == [] and run.passed == 26, leaks[:1]


@pytest.mark.parametrize("path", ["cold-rlimits", "cold-default", "warm"])
def test_the_cpu_time_limit_reads_as_a_timeout(path, monkeypatch):
    """SIGXCPU from RLIMIT_CPU is a timeout on every path: a cold process without wrappers,
    a cold one inside the namespace wrappers (whose shell reports the signal as 128 + N; the
    outer unshare of util-linux 2.38 alone would make it exit status 1), and a zygote-forked
    one (the zygote reports how its child ended)."""
    from dataclasses import replace

    from grader.sandbox.runner import WarmRunner

    limits = replace(LIMITS, cpu_s=1, call_timeout_s=15)
    burner = {"count_pairs.py": b"def count_pairs(sequences):\n    while True:\n        pass\n"}
    if path == "warm":
        with WarmRunner(PUBLIC, "count_pairs", limits=limits) as runner:
            run = runner.run(burner)
            assert runner.run({"count_pairs.py": REFERENCE.encode()}).passed == 5
    else:
        if path == "cold-rlimits":
            monkeypatch.setenv("GRADE_SANDBOX", RLIMITS)
        run = run_tests(burner, "count_pairs", PUBLIC, limits=limits)
    assert run.fatal is not None and run.fatal[0] == "timeout", run.fatal
    assert "CPU time" in run.fatal[1]
