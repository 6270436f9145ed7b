"""The build and debug items' files, run through the real sandbox (what `grade validate --code`
does): the reference passes every hidden and public test, each declared mutant fails at least
one, the unfixed template passes none, and the workbook's two router fixes together earn full
marks while either one alone does not."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.bank.code_validation import code_checks, validate_code_item
from grader.cli import main
from grader.core.paths import COURSE_ROOT
from grader.rules.code import grade_code_run
from grader.sandbox.runner import run_tests

pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox]  # code items run in the sandbox

ROUTER_FIXES = [("probs.topk(1, dim=-1)", "probs.topk(top_k, dim=-1)"),
                ("torch.softmax(logits, dim=0)", "torch.softmax(logits, dim=-1)")]


def test_grade_validate_code_runs_references_templates_and_mutants(bank):
    """The mutation check, as CI runs it: `grade validate --code`."""
    pytest.importorskip("torch", reason="the MoE router item needs torch (pip install '.[test]')")
    result = CliRunner().invoke(main, ["validate", "--code", "--json"])
    doc = json.loads(result.output)
    assert result.exit_code == 0 and doc["ok"], doc["problems"]
    expected_runs = sum(len(code_checks(i)) for i in bank.items.values() if i.code is not None)
    assert doc["code_runs"] == expected_runs == 21  # 2 x (reference x 2, template) + 15 mutants


def test_validation_reports_a_mutant_no_test_catches(bank, tmp_path: Path):
    item = bank.items["0.6"]
    survivor = tmp_path / "survivor.yaml"  # a mutant that only rewords the docstring
    survivor.write_text("mutants:\n- name: reworded_docstring\n  bug: changes nothing that runs\n"
                        "  edits:\n  - replace: {old: Reference solution, new: Not a bug}\n")
    broken = dataclasses.replace(item, code=dataclasses.replace(item.code, mutants=(str(survivor),)))
    problems, runs = validate_code_item(broken)
    assert runs == 4 and [p.message for p in problems] == [
        f"mutant reworded_docstring ({survivor}) passes every test in test_count_pairs_hidden.py: "
        "no test catches this mutant"]


def test_router_exact_workbook_fixes_earn_full_marks_and_one_fix_does_not(bank):
    pytest.importorskip("torch", reason="the MoE router item needs torch (pip install '.[test]')")
    spec = bank.items["3.5"].code
    template = (COURSE_ROOT / spec.template).read_text()
    for old, _new in ROUTER_FIXES:
        assert template.count(old) == 1, f"template should contain {old!r} once"

    def fixed(*which: int) -> str:
        text = template
        for i in which:
            text = text.replace(*ROUTER_FIXES[i])
        return text

    def score(source: str) -> float:
        run = run_tests({"moe_router.py": source.encode()}, "moe_router", COURSE_ROOT / spec.hidden_tests,
                        ("torch",))
        return grade_code_run(run, show_messages=False).score

    with ThreadPoolExecutor(max_workers=3) as pool:
        both, first, second, none = pool.map(score, [fixed(0, 1), fixed(0), fixed(1), template])
    assert both == 1.0 and none == 0.0
    assert 0 < first < 1 and 0 < second < 1


def test_a_cached_result_is_reused_only_by_the_same_grader_version(tmp_path: Path, monkeypatch):
    """Practice caches key on the files, what grades them and the grader's version."""
    from grader.items import code_runs
    from grader.results.result import Result

    cache, files = tmp_path / "code_results.json", {"count_pairs.py": b"x = 1\n"}
    done = Result("correct", 1.0, ("Tests: 5/5 pass.",))
    code_runs.remember_result(cache, "2.3", code_runs.files_digest(files, b"tests"), done)
    assert code_runs.cached_result(cache, "2.3", code_runs.files_digest(files, b"tests")) == done
    assert code_runs.cached_result(cache, "2.3", code_runs.files_digest(files, b"other")) is None
    monkeypatch.setattr(code_runs, "__version__", "99.0")
    assert code_runs.cached_result(cache, "2.3", code_runs.files_digest(files, b"tests")) is None
