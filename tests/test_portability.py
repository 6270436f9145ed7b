"""Students run `grade` on Windows and macOS too. There, derive, trace and design items grade
exactly as on Linux, and code items and kernel tasks (which need the Linux sandbox) are an
error that says what they need: never a crash or a traceback, never cached.

Proved here on Linux by running the CLI in a Python that plays the other platform: the
modules Windows and macOS lack (fcntl, resource, pwd, grp, termios) cannot be imported, the
os and signal names they lack are gone, and ``sys.platform`` says win32 or darwin before the
grader is imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import grader
from grader.core.paths import COURSE_ROOT
from grader.items.instance import key_entry
from grader.results.points import score_text
from tests.answer_forms import in_asked_unit
from tests.workspace_helpers import check_json, grade, write_answers

pytestmark = [pytest.mark.slow]  # the CLI in a Python playing other platforms


# Run as ``python -c SIMULATE TARGET MODULES_OUT ARGS...``: the grade command ARGS on TARGET.
SIMULATE = r'''
import importlib, importlib.abc, json, os, signal, sys

TARGET, MODULES_OUT, ARGS = sys.argv[1], sys.argv[2], sys.argv[3:]
REFUSED = {"fcntl", "resource", "pwd", "grp", "termios"}  # none of them exists on Windows
MISSING = {  # what os and signal do not have there
    "win32": {os: ("fork", "forkpty", "killpg", "getpgid", "setsid", "getuid", "geteuid", "getgid",
                   "getegid", "setuid", "setgid", "setresuid", "getresuid", "sched_getaffinity",
                   "pipe2", "mkfifo", "chown", "lchown", "nice", "wait3", "wait4", "waitid", "sysconf",
                   "statvfs", "getloadavg", "O_NOFOLLOW", "O_DIRECTORY", "O_NONBLOCK", "WNOHANG"),
              signal: ("SIGKILL", "SIGCHLD", "SIGALRM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2",
                       "SIGPIPE", "SIGXCPU", "SIGXFSZ", "SIGSTOP", "SIGCONT", "SIGTSTP", "alarm",
                       "setitimer", "pthread_kill", "pthread_sigmask", "siginterrupt")},
    "darwin": {os: ("sched_getaffinity", "sched_setaffinity", "pipe2", "memfd_create", "eventfd",
                    "pidfd_open", "unshare", "setns", "getresuid", "getresgid", "setresuid",
                    "setresgid", "O_PATH", "O_TMPFILE", "posix_fadvise"),
               signal: ("SIGRTMIN", "SIGRTMAX")},
}


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in REFUSED:
            raise ImportError(f"No module named {name!r} (simulated {TARGET})", name=name)
        return None


for name in [m for m in sys.modules if m.partition(".")[0] in REFUSED]:
    del sys.modules[name]
sys.meta_path.insert(0, Refuse())
# Libraries that choose their implementation from sys.platform when imported (click and rich
# their console, subprocess its process calls) load with the real one, as they would load on the
# real platform; the grader itself is then imported afresh on TARGET. A Linux-only import of the
# grader fails here already.
for name in ("subprocess", "ctypes", "platform", "selectors", "shutil", "tempfile", "grader.cli",
             "grader.grading.check", "grader.reporters.terminal", "grader.workspace.folder",
             "grader.workspace.progress"):
    importlib.import_module(name)
for name in [m for m in sys.modules if m == "grader" or m.startswith("grader.")]:
    del sys.modules[name]
for module, names in MISSING[TARGET].items():
    for name in names:
        if hasattr(module, name):
            delattr(module, name)
sys.platform = TARGET
try:
    if ARGS == ["--probe"]:
        found = {}
        for name in (*sorted(REFUSED), "grader.kernels.check"):
            try:
                importlib.import_module(name)
                found[name] = True
            except ImportError:
                found[name] = False
        print(json.dumps({"platform": sys.platform, "importable": found,
                          "SIGKILL": hasattr(signal, "SIGKILL"), "getuid": hasattr(os, "getuid")}))
    else:
        from grader.cli import main

        main(args=ARGS, prog_name="grade")
finally:
    with open(MODULES_OUT, "w") as out:
        json.dump(sorted(sys.modules), out)
'''
TARGETS = ["win32", "darwin"]
DTD = ("1.1", "1.2", "1.5", "2.5")  # derive, derive, trace, design
ITEMS = (*DTD, "0.6")  # and count_pairs, a code item
KERNEL = "moe_gating"  # a kernel task (plain PyTorch)
NO_SANDBOX = "run in a Linux sandbox"
# Of the sandbox, what these commands may import: nothing but the limits (a dataclass).
SANDBOX_MODULES = ("grader.sandbox.runner", "grader.sandbox.session", "grader.sandbox.isolation",
                   "grader.sandbox.zygote", "grader.sandbox.child", "grader.sandbox.seccomp",
                   "grader.sandbox.landlock", "grader.sandbox.plugin", "grader.sandbox.wire",
                   "grader.kernels.check")


def simulate(target: str, tmp_path: Path, *args: str | Path) -> tuple[subprocess.CompletedProcess[str],
                                                                       list[str]]:
    """``grade ARGS`` in a Python playing ``target``; the run and the modules it imported."""
    modules = tmp_path / f"modules-{target}.json"
    modules.unlink(missing_ok=True)
    env = {**os.environ, "COLUMNS": "1000",  # the table's feedback on one line
           "PYTHONPATH": os.pathsep.join([str(Path(grader.__file__).parents[1]),
                                          os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", SIMULATE, target, str(modules), *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done, json.loads(modules.read_text()) if modules.is_file() else []


def _answers(bank) -> dict[str, object]:
    """Right, wrong (a hint) and partly right (ordering feedback) answers."""
    order = key_entry(bank.items["2.5"])["answer"]
    return {"1.1": in_asked_unit(bank.items["1.1"]), "1.2": "21 GB",
            "1.5": key_entry(bank.items["1.5"])["answer"], "2.5": [order[1], order[0], *order[2:]]}


def _cached(ws: Path) -> dict:
    path = ws / ".grade" / "code_results.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else {}


@pytest.mark.linux_only  # plays the other platforms on Linux; its last run needs the sandbox
@pytest.mark.parametrize("target", TARGETS)
def test_the_simulation_refuses_what_the_platform_lacks(tmp_path: Path, target: str):
    done, _ = simulate(target, tmp_path, "--probe")
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout)
    assert probe["platform"] == target
    assert not any(probe["importable"].values()), probe  # grader.kernels.check imports resource
    assert probe["SIGKILL"] is (target != "win32") and probe["getuid"] is (target != "win32")


@pytest.mark.linux_only
@pytest.mark.parametrize("target", TARGETS)
def test_other_platforms_grade_all_but_code_and_say_what_code_needs(tmp_path: Path, bank, target: str):
    real, sim = tmp_path / "real", tmp_path / "sim"
    made = grade("init", real, "--items", ",".join(ITEMS), "--kernel", KERNEL)
    assert made.exit_code == 0, made.output
    done, modules = simulate(target, tmp_path, "init", sim, "--items", ",".join(ITEMS), "--kernel", KERNEL)
    assert done.returncode == 0 and done.stdout == made.output.replace(str(real), str(sim)), done.stderr
    for name in ("answers.yaml", "grade.yaml", "count_pairs/count_pairs.py", f"kernels/{KERNEL}.py"):
        assert (sim / name).read_bytes() == (real / name).read_bytes(), name
    for ws in (real, sim):
        write_answers(ws, _answers(bank))
    shutil.copyfile(COURSE_ROOT / "solutions/code/count_pairs.py", sim / "count_pairs/count_pairs.py")
    shutil.copyfile(COURSE_ROOT / f"solutions/kernels/{KERNEL}.py", sim / f"kernels/{KERNEL}.py")

    expected = check_json(real)  # Linux; its code item and kernel task are untouched templates
    for _ in range(2):  # the second check is not served from a cache
        done, modules = simulate(target, tmp_path, "check", sim, "--json")
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        assert {i: doc["items"][i] for i in DTD} == {i: expected["items"][i] for i in DTD}
        assert doc["warnings"] == expected["warnings"] == []
        for item_id, what in (("0.6", "Code items"), (KERNEL, "Kernel tasks")):
            item = doc["items"][item_id]
            assert item["status"] == "error" and item["score"] == 0.0, item
            assert item["feedback"].startswith(f"{what} {NO_SANDBOX}"), item
            assert "WSL 2" in item["feedback"] and "not a problem in your code" in item["feedback"]
            assert ("Windows", "macOS")[target == "darwin"] in item["feedback"]
        assert "0.6" not in _cached(sim) and KERNEL not in _cached(sim)
        assert not set(SANDBOX_MODULES) & set(modules), set(SANDBOX_MODULES) & set(modules)

    done, _ = simulate(target, tmp_path, "check", sim)  # the table a student sees
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("│ 0.6 "))
    assert "! error" in row and f"Code items {NO_SANDBOX}" in row and "WSL 2" in row, row
    total = f"Total {score_text(doc['total'], doc['max_total'], between=' / ')}"  # as people write it
    assert total in done.stdout and "2 error" in done.stdout, (total, done.stdout[-400:])

    done, _ = simulate(target, tmp_path, "progress", sim, "--json")
    assert done.returncode == 0, done.stderr
    mastered = json.loads(grade("progress", real, "--json").output)["mastered"]
    assert json.loads(done.stdout)["mastered"] == mastered
    for args in (("progress", sim), ("list", "--chapter", "1"), ("list", "--json"), ("show", "2.5"),
                 ("show", "1.1", "--json", "--solution")):
        done, modules = simulate(target, tmp_path, *args)
        assert done.returncode == 0 and done.stdout, (args, done.stderr)
        if "--json" in args:
            assert json.loads(done.stdout) == json.loads(grade(*args).output), args
        assert not set(SANDBOX_MODULES) & set(modules), args

    fixed = check_json(sim, "--item", "0.6")  # on Linux the same files grade: nothing was cached
    assert fixed["items"]["0.6"]["status"] == "correct", fixed["items"]["0.6"]


@pytest.mark.linux_only
@pytest.mark.parametrize("target", TARGETS)
def test_commands_that_run_student_code_refuse_off_linux_with_the_reason(tmp_path: Path, target: str):
    """A TA's batch of code items and a student's kernel check stop before running anything,
    saying what they need (simulate() fails on any traceback)."""
    subs = tmp_path / "subs"
    assert grade("init", subs / "alice", "--items", "0.6,1.1", "--kernel", KERNEL).exit_code == 0
    (tmp_path / "ps.yaml").write_text("name: ps\ntitle: PS\nmode: practice\nitems: ['0.6', '1.1']\n")
    for args in (("batch", subs, "--out", tmp_path / "out", "--assignment", tmp_path / "ps.yaml"),
                 ("kernel", "check", subs / "alice"), ("validate", "--code")):
        done, _ = simulate(target, tmp_path, *args)
        assert done.returncode == 1, (args, done.stderr)
        assert NO_SANDBOX in done.stderr and "WSL 2" in done.stderr, (args, done.stderr)
    assert not (tmp_path / "out/results").exists() or not any((tmp_path / "out/results").iterdir())


def test_a_code_item_off_linux_is_the_graders_error_and_not_cached(tmp_path: Path, monkeypatch):
    """In process, on every platform (CI runs this on Windows and macOS for real)."""
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "1.1,0.6").exit_code == 0
    assert check_json(ws)["items"]["0.6"]["status"] == "unanswered"  # the template: not started
    shutil.copyfile(COURSE_ROOT / "solutions/code/count_pairs.py", ws / "count_pairs/count_pairs.py")
    monkeypatch.setattr(sys, "platform", "darwin" if sys.platform.startswith("linux") else sys.platform)
    for _ in range(2):
        item = check_json(ws)["items"]["0.6"]
        assert item["status"] == "error" and f"Code items {NO_SANDBOX}" in item["feedback"], item
        assert "0.6" not in _cached(ws)
    assert "! error" in grade("check", ws).output
