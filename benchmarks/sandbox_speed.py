"""Benchmark: one sandboxed run of each code item's reference against its hidden tests.

Run:  python benchmarks/sandbox_speed.py [--repeat N]
Prints wall-clock figures for both isolation paths; nothing is asserted. A run is
everything one code item costs one submission today: the trusted pytest runner, the
student process (with torch for the router) and the tests themselves.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from timing import timed

from grader.loader import load_bank
from grader.paths import REPO_ROOT, default_bank_dir
from grader.sandbox.isolation import RLIMITS, isolation_mode
from grader.sandbox.runner import run_tests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bank = load_bank(default_bank_dir()).bank
    for mode in (isolation_mode(), RLIMITS):
        os.environ["GRADE_SANDBOX"] = mode
        for item in (i for i in bank.items.values() if i.code is not None):
            spec = item.code
            module = Path(spec.template).stem
            files = {f"{module}.py": (REPO_ROOT / spec.reference).read_bytes()}
            tests, requires = REPO_ROOT / spec.hidden_tests, tuple(spec.requires)
            runs: list = []

            def once(files=files, module=module, tests=tests, requires=requires, runs=runs) -> None:
                runs.append(run_tests(files, module, tests, requires))

            med, best = timed(once, args.repeat)
            run = runs[-1]
            print(f"{item.id} {module} [{run.isolation}]: {run.passed}/{len(run.outcomes)} hidden tests "
                  f"passed; median {med:.2f} s, min {best:.2f} s per submission")


if __name__ == "__main__":
    main()
