"""Benchmark: `grade check` on a complete 51-item workspace, and hostile answers.

Run:  python benchmarks/check_speed.py [--repeat N]
Prints wall-clock figures; nothing is asserted. The workspace has every non-code
item answered (most correct, some wrong, some unreadable), as a student's would.

`grade check` as a command is timed against `python -c pass` on the same machine (the ratio),
with the user's cache of the validated bank and manifest filled (every check after the first),
and without it (GRADE_NO_CACHE=1: the first check after an install or an edit of the bank).
The cache goes to a temporary folder. Where this environment keeps Python from writing
bytecode (PYTHONDONTWRITEBYTECODE), the commands are timed that way and also with bytecode
cached (a temporary PYTHONPYCACHEPREFIX), as a normal install runs them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import timed

import grader
from grader.bank.loader import load_bank
from grader.bank.user_cache import user_cache
from grader.core.paths import COURSE_ROOT, default_bank_dir
from grader.grading.check import check_workspace
from grader.items.instance import key_entry
from grader.responses.quantity import AnswerFormatError, parse_quantity
from grader.workspace.folder import init_workspace, open_workspace

SOURCE = Path(grader.__file__).resolve().parent.parent  # the grader the commands run

HOSTILE = {
    "malformed": "3,4.5", "call": "__import__('os').system('id')", "nan": "nan", "inf": "-inf",
    "power tower": "9**9**9", "10,000 chars": "1" * 10_000, "unicode digits": "٣٤٣٦٠",
    "deep nesting": "(" * 500 + "1" + ")" * 500, "long sum": "+".join(["1"] * 99),
}


def build_workspace(root: Path) -> Path:
    """A whole-bank workspace with answers: every 7th wrong, every 11th unreadable."""
    bank = load_bank(default_bank_dir()).bank
    ws = root / "ws"
    init_workspace(ws, bank, list(bank.items))
    text = (ws / "answers.yaml").read_text("utf-8")
    for n, (item_id, item) in enumerate(bank.items.items()):
        if item.code is not None:
            continue
        answer = key_entry(item)["answer"]
        if n % 11 == 5:
            answer = "3,4.5"
        elif n % 7 == 3 and isinstance(answer, float):
            answer = answer * 3
        value = "[" + ", ".join(answer) + "]" if isinstance(answer, list) else json.dumps(answer)
        text = re.sub(rf'^"{re.escape(item_id)}":$', f'"{item_id}": {value}', text, flags=re.M)
    (ws / "answers.yaml").write_text(text, "utf-8")
    return ws


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(cmd, check=True, capture_output=True, env=env)


def command_env(tmp: Path, bytecode: bool, **extra: str) -> dict[str, str]:
    """This environment, running the grader imported here, with the user cache in ``tmp``;
    ``bytecode``: Python writes and reuses bytecode (in ``tmp``), as in a normal install."""
    env = {**os.environ, "GRADE_CACHE_DIR": str(tmp / "user-cache"), **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SOURCE), env.get("PYTHONPATH")) if p)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return env


def time_commands(ws: Path, tmp: Path, bytecode: bool, repeat: int) -> None:
    """`python -c pass`, then `grade check --json` with the user cache filled and without it."""
    py = sys.executable
    env = command_env(tmp, bytecode)
    check = [py, "-m", "grader", "check", str(ws), "--json"]
    for cmd in ([py, "-c", "pass"], check):  # warm: bytecode written, the user cache filled
        run(cmd, env)
    start_med, start_best = timed(lambda: run([py, "-c", "pass"], env), repeat)
    how = "bytecode cached" if bytecode else "as this environment runs Python"
    print(f"[{how}] bare Python start-up (`python -c pass`): median {start_med * 1e3:.1f} ms, "
          f"min {start_best * 1e3:.1f} ms")
    uncached = command_env(tmp, bytecode, GRADE_NO_CACHE="1")
    for label, cmd_env in (("cached bank and manifest", env), ("no user cache (GRADE_NO_CACHE=1)", uncached)):
        med, best = timed(lambda e=cmd_env: run(check, e), repeat)
        print(f"[{how}] `grade check --json`, {label}: median {med * 1e3:.0f} ms, min {best * 1e3:.0f} ms "
              f"= {med / start_med:.1f}x `python -c pass` (target: at most 8x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = build_workspace(Path(tmp))
        workspace = open_workspace(ws)
        report = check_workspace(workspace)
        counts = {s: sum(o.result.status == s for o in report.outcomes)
                  for s in ("correct", "incorrect", "error", "unanswered")}
        print(f"workspace: {len(report.outcomes)} items, {counts}")
        med, best = timed(lambda: check_workspace(open_workspace(ws)), args.repeat)
        print(f"check in-process (read manifest + answers, load and validate bank, grade 51, save "
              f"progress): median {med * 1e3:.1f} ms, min {best * 1e3:.1f} ms")
        os.environ["GRADE_CACHE_DIR"] = str(Path(tmp) / "user-cache")
        with user_cache():
            med, best = timed(lambda: check_workspace(open_workspace(ws)), args.repeat)
        print(f"check in-process, bank and manifest from the user cache: median {med * 1e3:.1f} ms, "
              f"min {best * 1e3:.1f} ms")
        py = sys.executable
        for bytecode in (False, True) if os.environ.get("PYTHONDONTWRITEBYTECODE") else (False,):
            time_commands(ws, Path(tmp), bytecode, args.repeat)
        env = command_env(Path(tmp), bytecode=False)
        probe = ("import sys, runpy; sys.argv = ['grade', 'check', sys.argv[1], '--json']\n"
                 "try: runpy.run_module('grader', run_name='__main__')\n"
                 "except SystemExit: pass\n"
                 "print('heavy modules imported by a cached check:', sorted(m for m in ('torch', "
                 "'numpy', 'sympy', 'rfc3987_syntax', 'jsonschema', 'rich', 'grader.sandbox.runner') "
                 "if sys.modules.get(m)) or 'none', file=sys.stderr)")
        out = subprocess.run([py, "-c", probe, str(ws)], capture_output=True, text=True, check=True,
                             env=env)
        print(out.stderr.strip())
        code_ws = Path(tmp) / "code"
        run([py, "-m", "grader", "init", str(code_ws), "--items", "0.6,3.5"], env)
        for item in (i for i in load_bank(default_bank_dir()).bank.items.values() if i.code is not None):
            template = Path(item.code.template)
            (code_ws / template.parent.name / template.name).write_bytes(
                (COURSE_ROOT / item.code.reference).read_bytes())

        def first_check() -> None:  # no code result cached: both code items run in the sandbox, cold
            shutil.rmtree(code_ws / ".grade", ignore_errors=True)
            run([py, "-m", "grader", "check", str(code_ws), "--json"], env)
        first_med, first_best = timed(first_check, 3)
        print(f"first `grade check` of count_pairs and the MoE router (sandbox, cold, {os.cpu_count()} "
              f"cores): median {first_med:.2f} s, min {first_best:.2f} s (target: at most 3 s on 2 cores)")
    for label, text in HOSTILE.items():
        def attempt(t: str = text) -> None:
            with contextlib.suppress(AnswerFormatError):
                parse_quantity(t)
        med, _ = timed(attempt, 200)
        print(f"hostile answer ({label}): refused in {med * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
