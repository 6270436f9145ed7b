"""Kernel tasks on a CPU machine: the bank section loads, every reference solution passes the
sandboxed correctness check (Triton ones under Triton's interpreter), every mutant and the
untouched template fail, each cheat is caught for the reason it cheats, performance is
reported as skipped with the reason, and without Triton a Triton task is skipped with the
reason. The roofline arithmetic is checked on its own; the loader's checks, the device table
and the formulas against the workbook's solvers are in test_kernel_bank.py."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.core.paths import COURSE_ROOT
from grader.kernels import check
from grader.kernels.check import cases, check_kernel, execution_mode
from grader.kernels.inputs import make_inputs
from grader.kernels.roofline import find_device, floor_seconds, judge
from grader.kernels.spec import load_kernel_tasks, traffic
from grader.kernels.static import forbidden_uses
from grader.model.mutants import mutant_sources

# kernel tasks are checked in the sandbox
pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox]

torch = pytest.importorskip("torch", reason="kernel tasks need torch (pip install '.[test]')")
pytest.importorskip("triton", reason="Triton kernels are checked by its interpreter (pip install '.[test]')")
if torch.cuda.is_available():  # the checks below assert the CPU path
    pytest.skip("a CUDA device is present: these tests cover the CPU path", allow_module_level=True)

TASKS, PROBLEMS = load_kernel_tasks(COURSE_ROOT / "bank")


def _check(task_id: str, path: str):
    return _run(task_id, (COURSE_ROOT / path).read_text())


def _run(task_id: str, source: str):
    task = TASKS[task_id]
    return check_kernel(task, {Path(task.template).name: source.encode()})


def _sources(task_id: str) -> dict[str, str]:
    """The task's solution, template and mutants (by name), as the grader checks them."""
    task = TASKS[task_id]
    return {"solution": (COURSE_ROOT / task.solution).read_text(),
            "template": (COURSE_ROOT / task.template).read_text(),
            **mutant_sources(COURSE_ROOT, task.mutants, task.solution)}


@pytest.fixture(scope="module")
def every_run() -> dict[tuple[str, str], object]:
    """Solution, template and every mutant of every task, keyed (task, "solution" | "template" |
    mutant name), two sandboxes at a time."""
    runs = [(t, name, source) for t in TASKS for name, source in _sources(t).items()]
    with ThreadPoolExecutor(2) as pool:
        return dict(zip([r[:2] for r in runs], pool.map(lambda r: _run(r[0], r[2]), runs), strict=True))


def test_the_kernel_section_loads_with_six_tasks_tied_to_workbook_items():
    assert PROBLEMS == []
    assert set(TASKS) == {"rmsnorm", "softmax", "swiglu", "matmul", "moe_gating", "attention"}
    assert {t.bound for t in TASKS.values()} == {"memory", "compute"}
    for task in TASKS.values():
        assert task.items and task.mutants and task.dtypes
        odd = [s for s in task.shapes
               if any(isinstance(v, int) and v > 2 and v & (v - 1) for v in s.values())]
        assert odd, f"{task.id} has no non-power-of-two shape"


def test_reference_solutions_pass_and_are_labelled(every_run):
    for task in TASKS.values():
        report = every_run[(task.id, "solution")]
        assert report.status == "passed", (task.id, report.feedback)
        assert report.mode == ("interpreter" if task.language == "triton" else "cpu")
        if task.language == "triton":
            assert "interpreter-checked" in report.feedback[0]
        assert report.performance == {"status": "skipped",
                                      "reason": "no CUDA device: performance is only measured on a GPU"}


def test_templates_and_every_mutant_fail(every_run):
    for task in TASKS:
        for name in _sources(task).keys() - {"solution"}:
            report = every_run[(task, name)]
            assert report.status == "failed" and report.score == 0.0, (task, name)


@pytest.mark.parametrize(("task", "mutant", "reason"), [
    ("softmax", "torch_fallback", "not allowed in this task: softmax.py"),  # falls back to torch.softmax
    ("softmax", "hidden_name", "torch._C (reaches PyTorch internals"),   # builds the name, blinds the watch
    ("softmax", "torch_composition", "no Triton kernel is launched"),    # plain PyTorch, no kernel
    ("softmax", "ghost_launch", "unchanged when the kernel launches are skipped"),  # idle kernel
    ("rmsnorm", "ghost_launch", "unchanged when the kernel launches are skipped"),  # discarded work
    ("matmul", "torch_fallback", "@ (matmul)"),
    ("softmax", "in_place", "modified its input"),                       # mutates its input
    ("softmax", "tensor_subclass", "type Lazy cannot be sent back"),     # a lazy tensor subclass
    ("moe_gating", "cached_output", "seed 1: topk_idx: differs"),        # replays its first output
    ("rmsnorm", "half_accumulate", "float16 [M=3, N=4096, scale=4.0]"),  # lower precision than asked
    ("matmul", "fp16_accumulate", "values off"),
    ("softmax", "no_max_subtraction", "NaN at"),
    ("attention", "torch_fallback", "called at run time: scaled_dot_product_attention"),
    ("attention", "no_causal_mask", "[B=2, H=3, S=37, D=64] seed 10: o: "),  # S=1 cases pass
    ("attention", "no_rescale", "values off"),
])
def test_each_cheat_is_caught_for_its_reason(every_run, task: str, mutant: str, reason: str):
    report = every_run[(task, mutant)]
    assert any(reason in line for line in report.feedback), report.feedback


def test_ghost_mutants_pass_every_case_and_fail_only_the_launch_check(every_run):
    for task in ("softmax", "rmsnorm"):
        report = every_run[(task, "ghost_launch")]
        assert not report.forbidden and not any(c.problems for c in report.cases), report.feedback
        assert len(report.cases) == len(cases(TASKS[task])) and report.launch == check.GHOST_MESSAGE


def test_the_launch_check_runs_for_triton_tasks_only(monkeypatch: pytest.MonkeyPatch):
    ran = []
    real = check._check_launches
    monkeypatch.setattr(check, "_check_launches", lambda task, *a: ran.append(task.id) or real(task, *a))
    assert _check("moe_gating", TASKS["moe_gating"].solution).status == "passed"
    assert ran == []  # a PyTorch task: no launches to skip
    assert [len(check.ghost_cases(t)) for t in TASKS.values()] == [2] * len(TASKS)
    assert all(dims != {"M": 1, "N": 1} for _, dims, _ in check.ghost_cases(TASKS["softmax"]))


def test_a_launch_check_that_cannot_patch_triton_gives_no_verdict(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path):
    moved = tmp_path / "no_launch.py"
    moved.write_text("class LaunchPatchUnavailable(RuntimeError):\n    pass\n\n\n"
                     "raise LaunchPatchUnavailable('JITFunction.run is gone')\n")
    monkeypatch.setattr(check, "NO_LAUNCH_SOURCE", moved)
    report = _run("softmax", _sources("softmax")["ghost_launch"])
    assert report.status == "passed" and report.launch == ""  # never judged without the patch
    assert any("the ghost-launch check could not run: JITFunction.run is gone" in line
               for line in report.feedback), report.feedback


def test_a_fallback_hidden_from_the_static_scan_is_seen_at_run_time(tmp_path: Path):
    source = ("import importlib\n"
              "def softmax(x):\n"
              "    ops = importlib.import_module('tor' + 'ch')\n"
              "    return getattr(ops, 'soft' + 'max')(x, dim=-1)\n")
    assert forbidden_uses(source, TASKS["softmax"].forbidden) == []  # no forbidden name is written
    report = check_kernel(TASKS["softmax"], {"softmax.py": source.encode()})
    assert report.status == "failed" and "called at run time: softmax" in report.forbidden
    assert any("importlib" in line for line in report.forbidden)  # and the computed import is flagged


def test_the_static_scan_allows_triton_and_flags_torch():
    source = ("import torch\nimport triton.language as tl\nfrom torch.nn.functional import silu\n"
              "def f(a, b):\n    c = tl.dot(a, b)\n    return a @ b, torch.sigmoid(a), tl.sigmoid(a)\n")
    found = forbidden_uses(source, ("dot", "sigmoid", "silu", "__matmul__"), "k.py")
    assert found == ["k.py:3: silu", "k.py:6: @ (matmul)", "k.py:6: sigmoid"]


def test_inputs_are_seeded_and_never_degenerate():
    task = TASKS["moe_gating"]
    first = make_inputs(task, {"T": 129, "E": 64}, "bfloat16", seed=3)
    again = make_inputs(task, {"T": 129, "E": 64}, "bfloat16", seed=3)
    assert torch.equal(first[0], again[0]) and first[1] == 2
    rows = first[0].float()
    assert all(len(set(r.tolist())) == 64 for r in rows)  # no ties, even in bfloat16
    x, weight, eps = make_inputs(TASKS["rmsnorm"], {"M": 7, "N": 33}, "float16", seed=0)
    assert x.dtype == torch.float16 and bool((weight.abs() >= 0.5).all()) and eps == 1e-5
    assert bool((x.float().std(dim=-1) > 0).all())


def test_without_triton_a_triton_task_is_skipped_and_a_pytorch_task_still_runs(
        monkeypatch: pytest.MonkeyPatch):
    real = check.importlib.util.find_spec

    def find_spec(name: str, *args, **kwargs):
        return None if name.partition(".")[0] == "triton" else real(name, *args, **kwargs)

    monkeypatch.setattr(check.importlib.util, "find_spec", find_spec)
    mode, why = execution_mode(TASKS["softmax"])
    assert mode is None and "pip install triton" in why
    skipped = _check("softmax", TASKS["softmax"].solution)
    assert skipped.status == "skipped" and skipped.mode == "none" and skipped.score == 0.0
    assert skipped.feedback == [why] and skipped.cases == []
    assert skipped.performance == {"status": "skipped", "reason": "no CUDA device"}
    ran = _check("moe_gating", TASKS["moe_gating"].solution)
    assert ran.status == "passed" and ran.mode == "cpu"
    assert len(ran.cases) == len(cases(TASKS["moe_gating"])) and not any(c.problems for c in ran.cases)


def test_roofline_floor_efficiency_and_rejection():
    h100 = find_device("NVIDIA H100 80GB HBM3")
    assert h100 is not None and h100.bandwidth == 3.35e12 and "datasheet" in h100.source
    assert find_device("NVIDIA H200") is not None and find_device("NVIDIA A100-SXM4-80GB") is not None
    assert find_device("GeForce GTX 1080") is None
    moved, flops = traffic(TASKS["softmax"], {"M": 8192, "N": 8192}, "bfloat16")
    floor = floor_seconds(moved, flops, h100, "bfloat16")
    assert floor == pytest.approx(2 * 8192 * 8192 * 2 / 3.35e12)  # memory-bound
    assert judge(floor, floor / 0.8, 0.8, correct=True).score == pytest.approx(1.0)
    assert judge(floor, floor / 0.4, 0.8, correct=True).score == pytest.approx(0.5)
    assert judge(floor, floor / 0.8, 0.8, correct=False).score == 0.0
    too_fast = judge(floor, floor / 2, 0.8, correct=True)
    assert too_fast.score == 0.0 and "below the roofline floor" in too_fast.problem


def test_cli_lists_checks_and_skips_the_bench_without_a_gpu(tmp_path: Path):
    runner = CliRunner()
    listed = json.loads(runner.invoke(main, ["kernel", "list", "--json"]).output)
    assert [t["id"] for t in listed] == list(TASKS)
    assert runner.invoke(main, ["kernel", "init", str(tmp_path)]).exit_code == 0
    (tmp_path / "swiglu.py").write_bytes((COURSE_ROOT / TASKS["swiglu"].solution).read_bytes())
    result = runner.invoke(main, ["kernel", "check", str(tmp_path), "--task", "swiglu", "--task",
                                  "moe_gating", "--json"])
    reports = {r["task"]: r for r in json.loads(result.output)}
    assert reports["swiglu"]["status"] == "passed" and reports["moe_gating"]["status"] == "failed"
    assert result.exit_code == 1  # an unfinished template fails
    bench = runner.invoke(main, ["kernel", "bench"])
    assert bench.exit_code == 0 and "skipped: no CUDA device" in bench.output
    assert execution_mode(TASKS["matmul"])[0] == "interpreter"
