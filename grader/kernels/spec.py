"""The kernel section of the bank: load ``bank/kernels/kernels.yaml``, validate it against
its JSON Schema, and evaluate each task's bytes and FLOPs formulas."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from grader.expression import ExpressionError, parse_expression
from grader.loader import read_yaml
from grader.problems import Problem

KERNELS_FILE = Path("kernels") / "kernels.yaml"
ELEMENT_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float


@dataclass(frozen=True)
class KernelTask:
    """One kernel task, as declared in the bank (paths relative to the repository root)."""

    id: str
    title: str
    items: tuple[str, ...]
    bound: str
    language: str
    entry_point: str
    signature: str
    prompt: str
    args: tuple[dict[str, Any], ...]
    outputs: tuple[dict[str, str], ...]
    dtypes: dict[str, Tolerance]
    shapes: tuple[dict[str, Any], ...]
    seeds: int
    bytes: str
    flops: str
    bench: tuple[dict[str, Any], ...]
    target: float
    forbidden: tuple[str, ...]
    template: str
    solution: str
    mutants: tuple[str, ...]

    @property
    def chapter(self) -> int:
        """The chapter of the first workbook item the task builds on."""
        return int(self.items[0].split(".")[0])

    @property
    def requires(self) -> tuple[str, ...]:
        """Modules the student's process needs preloaded."""
        return ("torch", "triton") if self.language == "triton" else ("torch",)


class FormulaError(ValueError):
    """A bytes/FLOPs formula that names something unknown or is not plain arithmetic."""


def formula_value(formula: str, names: dict[str, float]) -> float:
    """Evaluate ``formula`` with ``names`` substituted, by the safe arithmetic grammar."""
    def substitute(match: re.Match[str]) -> str:
        name = match.group(0)
        if name not in names:
            raise FormulaError(f"unknown name {name!r} in formula {formula!r}")
        return repr(float(names[name]))

    text = _NAME.sub(substitute, formula)
    try:
        parsed = parse_expression(text)
    except ExpressionError as exc:
        raise FormulaError(f"formula {formula!r}: {exc}") from None
    if parsed.rest.strip():
        raise FormulaError(f"formula {formula!r} is not plain arithmetic")
    return parsed.value


def case_names(task: KernelTask, dims: dict[str, Any], dtype: str) -> dict[str, float]:
    """Every name a formula may use: the dimensions, scalar arguments and ``elem``."""
    names = {a["name"]: a["value"] for a in task.args if a["kind"] != "tensor"}
    names.update({k: v for k, v in dims.items() if isinstance(v, (int, float)) and k != "scale"})
    names["elem"] = ELEMENT_BYTES[dtype]
    return names


def traffic(task: KernelTask, dims: dict[str, Any], dtype: str) -> tuple[float, float]:
    """(bytes moved, FLOPs) of one call, by the task's formulas."""
    names = case_names(task, dims, dtype)
    return formula_value(task.bytes, names), formula_value(task.flops, names)


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    text = resources.files("grader").joinpath("schemas/kernels.schema.json").read_text("utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def _task(doc: dict[str, Any]) -> KernelTask:
    return KernelTask(
        id=doc["id"], title=doc["title"], items=tuple(doc["items"]), bound=doc["bound"],
        language=doc["language"], entry_point=doc["entry_point"], signature=doc["signature"],
        prompt=doc["prompt"], args=tuple(doc["args"]), outputs=tuple(doc["outputs"]),
        dtypes={k: Tolerance(float(v["atol"]), float(v["rtol"])) for k, v in doc["dtypes"].items()},
        shapes=tuple(doc["shapes"]), seeds=doc["seeds"], bytes=doc["bytes"], flops=doc["flops"],
        bench=tuple(doc["bench"]), target=float(doc["target"]), forbidden=tuple(doc["forbidden"]),
        template=doc["template"], solution=doc["solution"], mutants=tuple(doc["mutants"]))


def _task_problems(task: KernelTask, root: Path, where: str) -> list[Problem]:
    """Names the shapes and formulas need, files that must exist."""
    problems = []
    dims = {d for a in task.args if a["kind"] == "tensor" for d in a["shape"]}
    for i, case in enumerate([*task.shapes, *task.bench]):
        missing = dims - set(case)
        if missing:
            problems.append(Problem(where, f"{task.id}: shape {i} lacks {', '.join(sorted(missing))}"))
            continue
        for dtype in [case["dtype"]] if "dtype" in case else list(task.dtypes):
            try:
                traffic(task, case, dtype)
            except FormulaError as exc:
                problems.append(Problem(where, f"{task.id}: {exc}"))
    for path in (task.template, task.solution, *task.mutants):
        if not (root / path).is_file():
            problems.append(Problem(where, f"{task.id}: {path} does not exist"))
    return problems


def load_kernel_tasks(bank_dir: Path) -> tuple[dict[str, KernelTask], list[Problem]]:
    """Every valid task by id, and the problems that kept the others out."""
    path = bank_dir / KERNELS_FILE
    if not path.is_file():
        return {}, []
    doc, problems = read_yaml(path, str(KERNELS_FILE))
    if problems:
        return {}, problems
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        return {}, [Problem(str(KERNELS_FILE), f"{'/'.join(map(str, e.absolute_path))}: {e.message}")
                    for e in errors[:20]]
    tasks: dict[str, KernelTask] = {}
    for raw in doc["tasks"]:
        task = _task(raw)
        if task.id in tasks:
            problems.append(Problem(str(KERNELS_FILE), f"task id {task.id} appears twice"))
            continue
        found = _task_problems(task, bank_dir.parent, str(KERNELS_FILE))
        problems += found
        if not found:
            tasks[task.id] = task
    return tasks, problems
