"""The static kernel scan without running anything: what hides a forbidden op from the scan or
the run-time watch is flagged with what it is and why, a Triton task needs a launched
``@triton.jit`` kernel, and every shipped solution and template passes both checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.core.paths import COURSE_ROOT
from grader.kernels.spec import load_kernel_tasks
from grader.kernels.static import (
    LAUNCH_MESSAGE,
    evasive_uses,
    forbidden_uses,
    missing_triton_launch,
    static_problems,
)
from grader.model.mutants import mutant_source, mutant_sources

TASKS, _ = load_kernel_tasks(COURSE_ROOT / "bank")
MUTANTS = [(task.id, name, source) for task in TASKS.values()
           for name, source in mutant_sources(COURSE_ROOT, task.mutants, task.solution).items()]
SOFTMAX = TASKS["softmax"]
# Mutants that fall back on PyTorch instead of writing a kernel: the only ones the scan may flag.
FALLBACKS = {"torch_fallback", "torch_composition", "hidden_name"}

HEAD = "import torch\nimport torch.nn.functional as F\n"


def _evasions(body: str) -> list[str]:
    return evasive_uses(HEAD + body, "softmax.py")


@pytest.mark.parametrize(("body", "expected"), [
    # names built at run time
    ('name = "soft" + "max"\ny = getattr(torch, name)(x, -1)\n',
     "softmax.py:4: getattr with a computed name (looks a name up at run time"),
    ("n = ''.join(chr(c) for c in (115, 111, 102, 116, 109, 97, 120))\ny = getattr(F, n)(x, -1)\n",
     "softmax.py:4: getattr with a computed name"),
    ("y = getattr(x, 'soft' + 'max')(-1)\n", "softmax.py:3: getattr with a computed name"),
    ("y = getattr(*(torch, n))(x)\n", "softmax.py:3: getattr with a computed name"),
    ("y = vars(torch)[n](x)\n", "softmax.py:3: vars() (looks a name up at run time"),
    ("y = F.__dict__[n](x)\n", "softmax.py:3: F.__dict__ (looks a name up at run time"),
    ("y = torch.__getattribute__(n)(x)\n", "softmax.py:3: torch.__getattribute__"),
    ("import operator\ny = operator.methodcaller(n, -1)(x)\n",
     "softmax.py:4: methodcaller with a computed name"),
    ("g = getattr\ny = g(torch, n)(x)\n", "softmax.py:3: getattr passed as a value"),
    ("y = eval('torch.' + n)(x)\n", "softmax.py:3: eval() (runs code built at run time"),
    # PyTorch internals and the switch that blinds the run-time watch
    ("with torch._C.DisableTorchFunction():\n    y = x\n",
     "softmax.py:3: torch._C (reaches PyTorch internals the grader cannot watch)"),
    ("with torch._C.DisableTorchFunction():\n    y = x\n",
     "softmax.py:3: torch._C.DisableTorchFunction (switches off the grader's watch on PyTorch calls)"),
    ("from torch._C import DisableTorchFunctionSubclass\n",
     "softmax.py:3: torch._C (reaches PyTorch internals the grader cannot watch)"),
    ("from torch._C import DisableTorchFunctionSubclass\n",
     "softmax.py:3: torch._C.DisableTorchFunctionSubclass (switches off the grader's watch"),
    ("from torch import _C\n", "softmax.py:3: torch._C (reaches PyTorch internals"),
    ("import torch._C as C\n", "softmax.py:3: torch._C (reaches PyTorch internals"),
    ("y = getattr(torch, '_C')\n", "softmax.py:3: torch._C (reaches PyTorch internals"),
    ("t = torch\ny = t._C\n", "softmax.py:4: t._C (reaches PyTorch internals"),
    ("y = torch._VF\n", "softmax.py:3: torch._VF (reaches PyTorch internals"),
    ("y = torch.ops.aten.exp(x)\n",
     "softmax.py:3: torch.ops (calls raw aten ops, around the forbidden-op checks)"),
    ("t = torch\ny = t.ops.aten.exp(x)\n", "softmax.py:4: t.ops (calls raw aten ops"),
    ("from torch.ops import aten\n", "softmax.py:3: torch.ops (calls raw aten ops"),
    ("from torch import ops\n", "softmax.py:3: torch.ops (calls raw aten ops"),
    # overriding dispatch
    ("class T(torch.Tensor):\n    @classmethod\n    def __torch_function__(cls, f, t, a=(), k=None):\n"
     "        return f(*a)\n", "softmax.py:5: def __torch_function__ (changes PyTorch's dispatch"),
    ("class T(torch.Tensor):\n    def __torch_dispatch__(cls, f, t, a=(), k=None):\n        return f(*a)\n",
     "softmax.py:4: def __torch_dispatch__ (changes PyTorch's dispatch"),
    ("class M(torch.overrides.TorchFunctionMode):\n    pass\n", "softmax.py:3: torch.overrides (changes"),
    ("from torch.overrides import TorchFunctionMode\n", "softmax.py:3: torch.overrides (changes PyTorch's"),
    ("from torch.utils._python_dispatch import TorchDispatchMode\n",
     "softmax.py:3: torch.utils._python_dispatch"),
    # imports by computed name
    ("import importlib\n", "softmax.py:3: importlib (imports a module by computed name"),
    ("from importlib import import_module\n", "softmax.py:3: importlib (imports a module by computed name"),
    ("t = __import__('tor' + 'ch')\n", "softmax.py:3: __import__ (imports a module by computed name"),
    ("import sys\nt = sys.modules['torch']\n",
     "softmax.py:4: sys.modules (reaches modules without importing"),
])
def test_each_evasion_is_flagged_with_what_and_why(body: str, expected: str):
    found = _evasions(body)
    assert any(line.startswith(expected) for line in found), found


def test_the_review_softmax_is_flagged_though_no_forbidden_name_is_written():
    source = mutant_source(COURSE_ROOT, SOFTMAX.mutants, SOFTMAX.solution, "hidden_name")
    assert forbidden_uses(source, TASKS["softmax"].forbidden, "softmax.py") == []
    found = static_problems({"softmax.py": source}, TASKS["softmax"].forbidden, "triton")
    assert found == [
        "softmax.py:10: torch._C (reaches PyTorch internals the grader cannot watch)",
        "softmax.py:10: torch._C.DisableTorchFunction (switches off the grader's watch on PyTorch calls)",
        "softmax.py:11: getattr with a computed name (looks a name up at run time, hidden from the "
        "forbidden-op scan)",
        LAUNCH_MESSAGE + " (no function is decorated with @triton.jit)",
    ]


def test_ordinary_torch_and_triton_code_is_not_flagged():
    source = HEAD + (
        "import triton\nimport triton.language as tl\n"
        "def f(x, n):\n"
        "    y = torch.empty_like(x, dtype=torch.float32)\n"
        "    m, k = x.shape\n"
        "    z = x.float().contiguous().to(x.dtype)\n"
        "    s = getattr(x, 'shape'), getattr(torch, 'float16', None), x.stride(0)\n"
        "    d = getattr(tl, n)\n"
        "    g = (triton.cdiv(m, 64), triton.next_power_of_2(k))\n"
        "    doc = 'see torch._C in the docs'\n"
        "    return (torch.compile, F.pad(x, (0, 1)), torch.float32, torch.cuda.is_available(),\n"
        "            y, z, s, d, g)\n")
    assert evasive_uses(source, "k.py") == []


def test_nothing_is_scanned_for_evasions_when_the_task_forbids_nothing():
    source = "import torch\ndef moe_gating(logits, k):\n    return getattr(torch, 'top' + 'k')(logits, k)\n"
    assert static_problems({"moe_gating.py": source}, (), "pytorch") == []


def test_every_solution_and_template_passes_both_checks():
    for task in TASKS.values():
        for path in (task.solution, task.template):
            name = Path(path).name
            source = (COURSE_ROOT / path).read_text()
            assert evasive_uses(source, name) == [], path
            assert static_problems({name: source}, task.forbidden, task.language) == [], path


@pytest.mark.parametrize(("task_id", "name", "source"), MUTANTS, ids=[f"{t}/{n}" for t, n, _ in MUTANTS])
def test_only_the_fallback_mutants_are_flagged(task_id: str, name: str, source: str):
    task = TASKS[task_id]
    file = Path(task.template).name
    evasive = evasive_uses(source, file)
    assert bool(evasive) == (name == "hidden_name"), evasive
    if task.language == "triton":
        assert bool(missing_triton_launch({file: source})) == (name in FALLBACKS)


def test_a_plain_pytorch_softmax_is_flagged_by_the_launch_check():
    source = mutant_source(COURSE_ROOT, SOFTMAX.mutants, SOFTMAX.solution, "torch_composition")
    assert static_problems({"softmax.py": source}, TASKS["softmax"].forbidden, "triton") == [
        LAUNCH_MESSAGE + " (no function is decorated with @triton.jit)"]
    assert static_problems({"softmax.py": source}, (), "pytorch") == []


def test_a_jit_kernel_that_is_never_launched_is_flagged():
    source = ("import torch\nimport triton\n\n@triton.jit\ndef _k(x_ptr):\n    pass\n\n"
              "def softmax(x):\n    _k  # referenced, not launched\n    _k(x)\n"
              "    return (x - x.amax(-1, keepdim=True)).exp()\n")
    never = LAUNCH_MESSAGE + " (_k defined but never launched)"
    assert missing_triton_launch({"softmax.py": source}) == [never]
    assert missing_triton_launch(source.replace("_k(x)", "_k[(1,)](x)")) == []


def test_a_launch_of_something_that_is_not_a_jit_kernel_is_flagged():
    source = ("import triton\n\ndef _k(x_ptr):\n    pass\n\ndef f(x):\n    _k[(1,)](x)\n")
    assert missing_triton_launch(source) == [LAUNCH_MESSAGE + " (no function is decorated with @triton.jit)"]


@pytest.mark.parametrize("source", [
    "from triton import jit\n@jit\ndef k(p):\n    pass\ndef f(x):\n    k[(1,)](x)\n",
    "import triton as tr\n@tr.jit(do_not_specialize=['n'])\ndef k(p, n):\n    pass\n"
    "def f(x):\n    k[lambda meta: (1,)](x, 1)\n",
    "import triton\n@triton.autotune(configs=[], key=['n'])\n@triton.heuristics({})\n@triton.jit\n"
    "def k(p, n):\n    pass\ndef f(x):\n    k[(1,)](x, 1)\n",
    "import triton\ndef body(p):\n    pass\nk = triton.jit(body)\nkernel = k\n"
    "def f(x):\n    kernel[(1,)](x)\n",
])
def test_the_usual_ways_of_writing_and_launching_a_kernel_pass(source: str):
    assert missing_triton_launch({"kernel.py": source}) == []


def test_a_kernel_in_a_helper_file_launched_from_the_main_file_passes():
    helper = "import triton\n@triton.jit\ndef _k(p):\n    pass\n"
    by_name = "from helper import _k as kern\ndef softmax(x):\n    kern[(1,)](x)\n"
    by_module = "import helper\ndef softmax(x):\n    helper._k[(1,)](x)\n"
    assert missing_triton_launch({"helper.py": helper, "softmax.py": by_name}) == []
    assert missing_triton_launch({"helper.py": helper, "softmax.py": by_module}) == []
    assert missing_triton_launch({"softmax.py": by_name}) != []


def test_a_file_that_does_not_parse_is_left_to_the_correctness_run():
    assert evasive_uses("def f(:\n", "k.py") == []
    assert missing_triton_launch({"k.py": "def f(:\n", "ok.py": "x = 1\n"}) == []
