"""The kernel section without a GPU or Triton: a broken kernels.yaml is refused with located
problems (never a crash later), GPU names resolve to exactly the device-table row of that
variant (or to none), and the tasks' bytes/FLOPs formulas agree with the workbook's solvers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.core.paths import COURSE_ROOT
from grader.kernels.roofline import device_key, device_table, find_device
from grader.kernels.spec import (
    ELEMENT_BYTES,
    KERNELS_FILE,
    FormulaError,
    KernelTask,
    formula_value,
    load_kernel_tasks,
    traffic,
)
from grader.model.bank import Bank
from grader.model.solvers import run_solver

TASKS, PROBLEMS = load_kernel_tasks(COURSE_ROOT / "bank")
FILE = str(KERNELS_FILE)
NON_EMPTY = r"(should be non-empty|is too short|does not have enough properties)"  # jsonschema wording


def _task(doc: dict[str, Any], task_id: str) -> dict[str, Any]:
    return next(t for t in doc["tasks"] if t["id"] == task_id)


Change = Callable[[dict[str, Any]], Any]


def _break(bank_dir: Path, change: Change) -> tuple[dict[str, KernelTask], list[str]]:
    """Apply ``change`` to the copy's kernels.yaml and load it."""
    path = bank_dir / KERNELS_FILE
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    tasks, problems = load_kernel_tasks(bank_dir)
    return tasks, [str(p) for p in problems]


def _rmsnorm_formula_uses_r(doc: dict[str, Any]) -> None:
    """A formula name only the shapes give (not an argument's dimension), missing from bench."""
    task = _task(doc, "rmsnorm")
    task["flops"] = "4 * M * N * R"
    for shape in task["shapes"]:
        shape["R"] = 1


SCHEMA_BREAKS = [  # the whole section is refused; matmul is task 3
    ("bench entry without dtype", lambda d: _task(d, "matmul")["bench"][0].pop("dtype"),
     r"\$\.tasks\[3\]\.bench\[0\]: 'dtype' is a required property \(task matmul\)"),
    ("bench dtype that is no dtype", lambda d: _task(d, "matmul")["bench"][1].update(dtype=3),
     r"\$\.tasks\[3\]\.bench\[1\]\.dtype: 3 is not one of "
     r"\['float32', 'float16', 'bfloat16'\] \(task matmul\)"),
    ("no workbook items", lambda d: _task(d, "matmul").update(items=[]),
     rf"\$\.tasks\[3\]\.items: \[\] {NON_EMPTY} \(task matmul\)"),
    ("no mutants", lambda d: _task(d, "matmul").update(mutants=[]),
     rf"\$\.tasks\[3\]\.mutants: \[\] {NON_EMPTY} \(task matmul\)"),
    ("no bench shapes", lambda d: _task(d, "matmul").update(bench=[]),
     rf"\$\.tasks\[3\]\.bench: \[\] {NON_EMPTY} \(task matmul\)"),
    ("no correctness shapes", lambda d: _task(d, "matmul").update(shapes=[]),
     rf"\$\.tasks\[3\]\.shapes: \[\] {NON_EMPTY} \(task matmul\)"),
    ("no dtypes", lambda d: _task(d, "matmul").update(dtypes={}),
     rf"\$\.tasks\[3\]\.dtypes: \{{\}} {NON_EMPTY} \(task matmul\)"),
]

TASK_BREAKS = [  # only the broken task is refused
    ("bench dtype the task does not check", "matmul",
     lambda d: _task(d, "matmul")["bench"][1].update(dtype="float32"),
     r"matmul: \$\.bench\[1\]\.dtype: float32 is not one of the task's dtypes \(float16, bfloat16\)"),
    ("bench entry without an argument's dimension", "matmul",
     lambda d: _task(d, "matmul")["bench"][0].pop("K"),
     r"matmul: \$\.bench\[0\]: lacks K \(used by the arguments' shapes or the bytes/flops formulas\)"),
    ("bench entry without a name only the formula uses", "rmsnorm", _rmsnorm_formula_uses_r,
     r"rmsnorm: \$\.bench\[0\]: lacks R "),
    ("correctness shape without an argument's dimension", "moe_gating",
     lambda d: _task(d, "moe_gating")["shapes"][1].pop("E"),
     r"moe_gating: \$\.shapes\[1\]: lacks E "),
    ("formula naming what nothing gives", "matmul",
     lambda d: _task(d, "matmul").update(flops="2 * M * N * Q"),
     r"matmul: \$\.flops: unknown name 'Q' in formula '2 \* M \* N \* Q'"),
]


def test_the_shipped_kernel_section_loads_clean():
    assert PROBLEMS == []
    assert all(t.items and t.mutants and t.shapes and t.bench and t.dtypes for t in TASKS.values())
    assert all(b["dtype"] in t.dtypes for t in TASKS.values() for b in t.bench)
    assert {t.id: t.chapter for t in TASKS.values()}["attention"] == 4


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in SCHEMA_BREAKS],
                         ids=[c[0] for c in SCHEMA_BREAKS])
def test_a_schema_break_is_located_and_refuses_the_section(bank_copy: Path, change, expected: str):
    tasks, problems = _break(bank_copy, change)
    assert tasks == {}
    assert len(problems) == 1 and re.fullmatch(rf"{re.escape(FILE)}: {expected}", problems[0]), problems


@pytest.mark.parametrize(("task_id", "change", "expected"), [c[1:] for c in TASK_BREAKS],
                         ids=[c[0] for c in TASK_BREAKS])
def test_a_task_break_is_located_and_refuses_only_that_task(bank_copy: Path, task_id: str, change,
                                                            expected: str):
    tasks, problems = _break(bank_copy, change)
    assert set(tasks) == set(TASKS) - {task_id}
    assert problems and all(p.startswith(f"{FILE}: {task_id}: $.") for p in problems), problems
    assert re.match(rf"{re.escape(FILE)}: {expected}", problems[0]), problems


def test_grade_validate_prints_the_located_problem(bank_copy: Path):
    _break(bank_copy, lambda d: _task(d, "matmul")["bench"][1].update(dtype="float32"))
    result = CliRunner().invoke(main, ["validate", "--bank", str(bank_copy), "--samples", "1"])
    assert result.exit_code == 1
    assert (f"{FILE}: matmul: $.bench[1].dtype: float32 is not one of the task's dtypes "
            "(float16, bfloat16)") in result.output


# --- device table ---------------------------------------------------------------------------

H200, H200_NVL = "NVIDIA H200 SXM (141 GB HBM3e)", "NVIDIA H200 NVL (141 GB HBM3e, PCIe)"
GH200_HBM3, GH200_HBM3E = "NVIDIA GH200 Grace Hopper (96 GB HBM3)", "NVIDIA GH200 Grace Hopper (144 GB HBM3e)"
H100_SXM, H100_NVL, H100_PCIE = ("NVIDIA H100 SXM5 (80 GB HBM3)", "NVIDIA H100 NVL (94 GB HBM3, PCIe)",
                                 "NVIDIA H100 PCIe (80 GB HBM2e)")
A100_SXM_80, A100_PCIE_80, A100_40 = "NVIDIA A100 SXM4 80 GB", "NVIDIA A100 PCIe 80 GB", "NVIDIA A100 40 GB"

# (torch.cuda.get_device_name(), row, HBM TB/s, dense BF16 TFLOP/s, FP32 TFLOP/s)
KNOWN = [
    ("NVIDIA H200", H200, 4.8, 989.4, 66.9),
    ("NVIDIA H200 NVL", H200_NVL, 4.8, 835.5, 60.0),
    ("NVIDIA GH200 480GB", GH200_HBM3, 4.0, 990.0, 67.0),
    ("NVIDIA GH200 120GB", GH200_HBM3, 4.0, 990.0, 67.0),
    ("NVIDIA GH200 144G HBM3e", GH200_HBM3E, 4.9, 990.0, 67.0),
    ("NVIDIA H100 80GB HBM3", H100_SXM, 3.35, 989.4, 66.9),
    ("NVIDIA H100 NVL", H100_NVL, 3.9, 835.5, 60.0),
    ("NVIDIA H100 PCIe", H100_PCIE, 2.0, 756.5, 51.2),
    ("NVIDIA A100-SXM4-80GB", A100_SXM_80, 2.039, 312.0, 19.5),
    ("NVIDIA A100 80GB PCIe", A100_PCIE_80, 1.935, 312.0, 19.5),
    ("NVIDIA A100-SXM4-40GB", A100_40, 1.555, 312.0, 19.5),
    ("NVIDIA A100-PCIE-40GB", A100_40, 1.555, 312.0, 19.5),
    ("A100-SXM4-40GB", A100_40, 1.555, 312.0, 19.5),       # older drivers leave out "NVIDIA"
    ("nvidia h100 80gb hbm3", H100_SXM, 3.35, 989.4, 66.9),  # case and spacing do not matter
]
UNKNOWN = ["NVIDIA GeForce RTX 4090", "GeForce GTX 1080", "NVIDIA H20", "NVIDIA H800",
           "NVIDIA A800-SXM4-80GB", "NVIDIA H100 96GB HBM3", "NVIDIA B200",
           "NVIDIA A100-SXM4-40GB MIG 1g.5gb", "NVIDIA H100 80GB HBM3 MIG 3g.40gb", "", "H200 GH200"]


@pytest.mark.parametrize(("name", "row", "tb_s", "bf16", "fp32"), KNOWN, ids=[k[0] for k in KNOWN])
def test_each_real_device_name_resolves_to_its_own_row(name: str, row: str, tb_s: float, bf16: float,
                                                       fp32: float):
    device = find_device(name)
    assert device is not None and device.name == row
    assert device.bandwidth == pytest.approx(tb_s * 1e12)
    assert device.flops["bfloat16"] == device.flops["float16"] == pytest.approx(bf16 * 1e12)
    assert device.flops["float32"] == pytest.approx(fp32 * 1e12)


@pytest.mark.parametrize("name", UNKNOWN)
def test_a_device_the_table_does_not_list_is_not_matched(name: str):
    assert find_device(name) is None


def test_every_row_is_complete_sourced_and_owns_its_names():
    keys = [key for names, _ in device_table() for key in names]
    assert len(keys) == len(set(keys))  # no name can match two rows
    assert device_key("NVIDIA A100-SXM4-80GB") == ("a100", "sxm4", "80gb")
    for _, device in device_table():
        assert set(device.flops) == set(ELEMENT_BYTES), device.name
        assert "datasheet" in device.source and "https://" in device.source, device.name


def test_an_unknown_gpu_is_reported_as_not_in_the_device_table(monkeypatch: pytest.MonkeyPatch):
    torch = pytest.importorskip("torch")
    from grader.kernels.roofline import NoGPU, current_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "NVIDIA GeForce RTX 4090")
    with pytest.raises(NoGPU, match=r"NVIDIA GeForce RTX 4090 is not in the device table"):
        current_device()
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "NVIDIA GH200 480GB")
    assert current_device().name == GH200_HBM3


# --- formulas against the workbook ----------------------------------------------------------

def _solve(bank: Bank, item_id: str, **params: float) -> float:
    """The derive item's own solver, at its defaults overridden by ``params``."""
    item = bank.items[item_id]
    assert item.solver is not None
    return run_solver(item.solver, {**item.defaults(), **params})


def _cases(task_id: str) -> list[tuple[dict[str, Any], str]]:
    """Every correctness and bench shape of the task with every dtype it is checked in."""
    task = TASKS[task_id]
    dims = [{k: v for k, v in s.items() if k not in ("scale", "dtype")} for s in (*task.shapes, *task.bench)]
    return [(d, dtype) for d in dims for dtype in task.dtypes]


def test_formulas_are_the_ones_the_derive_items_teach(bank: Bank):
    for d, dtype in _cases("matmul"):
        moved, flops = traffic(TASKS["matmul"], d, dtype)
        m, n, k, elem = d["M"], d["N"], d["K"], ELEMENT_BYTES[dtype]
        assert flops == pytest.approx(_solve(bank, "1.1", m=m, k=k, n=n))  # 1.1: 2mkn
        # 4.3: intensity over the weight read alone, with the M rows as B x T tokens
        assert flops / (k * n * elem) == pytest.approx(
            _solve(bank, "4.3", batch=1, seq_len=m, d_model=k, d_ff=n, bytes_per_elem=elem))
        # No item counts a matmul's full traffic (4.3 counts the weights only): a, b and c once each.
        assert moved == (m * k + k * n + m * n) * elem
    for d, dtype in _cases("rmsnorm"):
        one_pass = _solve(bank, "4.5", d_model=d["N"], n_passes=1, bytes_per_elem=ELEMENT_BYTES[dtype])
        # 4.5's single pass over a row: x read once, y written once per row, the weight read once
        assert traffic(TASKS["rmsnorm"], d, dtype)[0] == pytest.approx(2 * d["M"] * one_pass + one_pass)
    for d, dtype in _cases("softmax"):
        one_pass = _solve(bank, "4.5", d_model=d["N"], n_passes=1, bytes_per_elem=ELEMENT_BYTES[dtype])
        assert traffic(TASKS["softmax"], d, dtype)[0] == pytest.approx(2 * d["M"] * one_pass)
    for d, dtype in _cases("attention"):
        moved, flops = traffic(TASKS["attention"], d, dtype)
        b, h, s, hd = d["B"], d["H"], d["S"], d["D"]
        qkv = _solve(bank, "1.4", batch=b, seq_len=s, d_model=h * hd, bytes_per_elem=ELEMENT_BYTES[dtype])
        assert moved == pytest.approx(qkv * 4 / 3)  # 1.4's Q, K, V, and o of the same shape
        per_head = _solve(bank, "1.1", m=s, k=hd, n=s) + _solve(bank, "1.1", m=s, k=s, n=hd)  # QK^T, PV
        assert flops == pytest.approx(b * h * per_head / 2)  # the causal mask halves both
    # No solver counterpart: 2.2 sizes SwiGLU's width, not its traffic, so this stays hard-coded.
    assert traffic(TASKS["swiglu"], {"M": 8192, "N": 14336}, "bfloat16")[0] == 3 * 8192 * 14336 * 2
    # The formula grammar itself (no solver counterpart): names only ever become numbers.
    with pytest.raises(FormulaError, match="unknown name"):
        formula_value("2 * M * Q", {"M": 3})
    with pytest.raises(FormulaError, match="not plain arithmetic"):
        formula_value("M; os", {"M": 3, "os": 1})
