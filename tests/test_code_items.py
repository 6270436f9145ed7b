"""The build and debug items' files are real: the reference passes every hidden test,
each declared mutant fails at least one, and the unfixed template fails.

Only trusted code (reference, mutants, templates) runs here, in a pytest subprocess.
Student code is the sandbox's business (a later issue).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.paths import REPO_ROOT

ROUTER_FIXES = [("probs.topk(1, dim=-1)", "probs.topk(top_k, dim=-1)"),
                ("torch.softmax(logits, dim=0)", "torch.softmax(logits, dim=-1)")]


def run_tests(tmp_path: Path, module_source: str, module_name: str, test_file: Path,
              stop_at_first_failure: bool = False) -> tuple[int, int]:
    """Run ``test_file`` against ``module_source`` saved as ``module_name``.py; (passed, failed)."""
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    (work / f"{module_name}.py").write_text(module_source)
    shutil.copy(test_file, work / test_file.name)
    report = work / "report.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    *(["-x"] if stop_at_first_failure else []), f"--junitxml={report}", test_file.name],
                   cwd=work, capture_output=True, text=True, timeout=300)
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    total, failed = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    assert total > 0
    return total - failed, failed


def run_many(jobs: list[tuple]) -> list[tuple[int, int]]:
    """Run several ``run_tests`` jobs at once (each is its own subprocess)."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(lambda job: run_tests(*job), jobs))


def _code(bank, item_id):
    item = bank.items[item_id]
    assert item.code is not None
    return item.code, Path(item.code.template).stem


@pytest.fixture(params=["0.6", "3.5"])
def code_item(request, bank):
    if bank.items[request.param].code.requires and "torch" in bank.items[request.param].code.requires:
        pytest.importorskip("torch", reason="the MoE router item needs torch (pip install '.[test]')")
    return _code(bank, request.param)


def test_reference_passes_hidden_and_public_tests(tmp_path, code_item):
    spec, name = code_item
    source = (REPO_ROOT / spec.reference).read_text()
    tests = (spec.hidden_tests, spec.public_tests)
    for (passed, failed), path in zip(run_many([(tmp_path, source, name, REPO_ROOT / t) for t in tests]),
                                      tests, strict=True):
        assert failed == 0 and passed > 0, path


def test_every_mutant_fails_a_hidden_test(tmp_path, code_item):
    spec, name = code_item
    assert spec.mutants
    results = run_many([(tmp_path, (REPO_ROOT / m).read_text(), name, REPO_ROOT / spec.hidden_tests, True)
                        for m in spec.mutants])
    survivors = [m for m, (_, failed) in zip(spec.mutants, results, strict=True) if failed == 0]
    assert survivors == []


def test_unfixed_template_fails_the_hidden_tests(tmp_path, code_item):
    spec, name = code_item
    passed, failed = run_tests(tmp_path, (REPO_ROOT / spec.template).read_text(), name,
                               REPO_ROOT / spec.hidden_tests)
    assert passed == 0 and failed > 0


def test_router_exact_workbook_fixes_earn_full_marks_and_one_fix_does_not(tmp_path, bank):
    pytest.importorskip("torch", reason="the MoE router item needs torch (pip install '.[test]')")
    spec, name = _code(bank, "3.5")
    template = (REPO_ROOT / spec.template).read_text()
    hidden = REPO_ROOT / spec.hidden_tests
    for old, _new in ROUTER_FIXES:
        assert template.count(old) == 1, f"template should contain {old!r} once"

    def fixed(*which: int) -> str:
        text = template
        for i in which:
            text = text.replace(*ROUTER_FIXES[i])
        return text

    (both_passed, both_failed), *singles = run_many(
        [(tmp_path, fixed(0, 1), name, hidden), (tmp_path, fixed(0), name, hidden),
         (tmp_path, fixed(1), name, hidden)])
    assert both_failed == 0
    for passed, failed in singles:
        assert failed > 0 and passed < both_passed
