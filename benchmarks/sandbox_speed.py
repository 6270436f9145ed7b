"""Benchmark: one sandboxed run of each code item's reference against its hidden tests.

Run:  python benchmarks/sandbox_speed.py [--repeat N]
Prints wall-clock figures for each isolation path this host has, cold (a new trusted runner and
interpreter per submission, what `grade check` does) and warm (one serving runner and a
zygote that forks a fresh student process per submission, for batch grading); nothing
is asserted.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from timing import timed

from grader.bank.loader import load_bank
from grader.core.paths import COURSE_ROOT, default_bank_dir
from grader.sandbox.isolation import LANDLOCK, NAMESPACES, RLIMITS, _landlock_works, isolation_mode
from grader.sandbox.runner import WarmRunner, run_tests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bank = load_bank(default_bank_dir()).bank
    modes = [m for m in (NAMESPACES, LANDLOCK, RLIMITS)
             if m == RLIMITS or (m == NAMESPACES and isolation_mode() == NAMESPACES)
             or (m == LANDLOCK and _landlock_works() is None)]
    for mode in modes:
        os.environ["GRADE_SANDBOX"] = "" if mode == NAMESPACES else mode
        for item in (i for i in bank.items.values() if i.code is not None):
            spec = item.code
            module = Path(spec.template).stem
            files = {f"{module}.py": (COURSE_ROOT / spec.reference).read_bytes()}
            tests, requires = COURSE_ROOT / spec.hidden_tests, tuple(spec.requires)
            runs: list = []

            def once(files=files, module=module, tests=tests, requires=requires, runs=runs) -> None:
                runs.append(run_tests(files, module, tests, requires))

            med, best = timed(once, args.repeat)
            run = runs[-1]
            print(f"{item.id} {module} [{run.isolation}] cold: {run.passed}/{len(run.outcomes)} hidden "
                  f"tests passed; median {med:.2f} s, min {best:.2f} s per submission")
            with WarmRunner(tests, module, requires) as warm:
                warm.run(files)  # start-up, paid once
                med, best = timed(lambda warm=warm, files=files: warm.run(files), args.repeat * 3)
                run = warm.run(files)
            print(f"{item.id} {module} [{run.isolation}] warm: {run.passed}/{len(run.outcomes)} hidden "
                  f"tests passed; median {med:.2f} s, min {best:.2f} s per submission")


if __name__ == "__main__":
    main()
