"""Benchmark: `grade check` on a complete 51-item workspace, and hostile answers.

Run:  python benchmarks/check_speed.py [--repeat N]
Prints wall-clock figures; nothing is asserted. The workspace has every non-code
item answered (most correct, some wrong, some unreadable), as a student's would.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import timed

from grader.check import check_workspace
from grader.instance import key_entry
from grader.loader import load_bank
from grader.paths import COURSE_ROOT, default_bank_dir
from grader.quantity import AnswerFormatError, parse_quantity
from grader.workspace import init_workspace, open_workspace

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


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


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
        print(f"check in-process (read manifest + answers, load bank, grade 51, save progress): "
              f"median {med * 1e3:.1f} ms, min {best * 1e3:.1f} ms")
        py = sys.executable
        start_med, _ = timed(lambda: run([py, "-c", "pass"]), args.repeat)
        cli_med, cli_best = timed(lambda: run([py, "-m", "grader", "check", str(ws), "--json"]),
                                  args.repeat)
        print(f"`grade check --json` as a command: median {cli_med * 1e3:.0f} ms, min "
              f"{cli_best * 1e3:.0f} ms (bare Python start-up: {start_med * 1e3:.0f} ms)")
        probe = ("import sys, runpy; sys.argv = ['grade', 'check', sys.argv[1], '--json']\n"
                 "try: runpy.run_module('grader', run_name='__main__')\n"
                 "except SystemExit: pass\n"
                 "print('heavy modules imported:', sorted(m for m in ('torch', 'numpy', 'sympy', "
                 "'rfc3987_syntax') if sys.modules.get(m)) or 'none', file=sys.stderr)")
        out = subprocess.run([py, "-c", probe, str(ws)], capture_output=True, text=True, check=True)
        print(out.stderr.strip())
        code_ws = Path(tmp) / "code"
        run([py, "-m", "grader", "init", str(code_ws), "--items", "0.6,3.5"])
        for item in (i for i in load_bank(default_bank_dir()).bank.items.values() if i.code is not None):
            template = Path(item.code.template)
            (code_ws / template.parent.name / template.name).write_bytes(
                (COURSE_ROOT / item.code.reference).read_bytes())

        def first_check() -> None:  # nothing cached: both code items run in the sandbox, cold
            shutil.rmtree(code_ws / ".grade", ignore_errors=True)
            run([py, "-m", "grader", "check", str(code_ws), "--json"])
        first_med, first_best = timed(first_check, 3)
        print(f"first `grade check` of count_pairs and the MoE router (sandbox, cold): median "
              f"{first_med:.2f} s, min {first_best:.2f} s")
    for label, text in HOSTILE.items():
        def attempt(t: str = text) -> None:
            with contextlib.suppress(AnswerFormatError):
                parse_quantity(t)
        med, _ = timed(attempt, 200)
        print(f"hostile answer ({label}): refused in {med * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
