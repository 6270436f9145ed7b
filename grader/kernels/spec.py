"""The kernel section of the bank: load ``bank/kernels/kernels.yaml``, validate it against
its JSON Schema, and evaluate each task's bytes and FLOPs formulas."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.core.fileio import grader_schema, json_path, schema_errors
from grader.core.problems import Problem, read_document
from grader.responses.expression import ExpressionError, parse_expression

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


def _task(doc: dict[str, Any]) -> KernelTask:
    return KernelTask(
        id=doc["id"], title=doc["title"], items=tuple(doc["items"]), bound=doc["bound"],
        language=doc["language"], entry_point=doc["entry_point"], signature=doc["signature"],
        prompt=doc["prompt"], args=tuple(doc["args"]), outputs=tuple(doc["outputs"]),
        dtypes={k: Tolerance(float(v["atol"]), float(v["rtol"])) for k, v in doc["dtypes"].items()},
        shapes=tuple(doc["shapes"]), seeds=doc["seeds"], bytes=doc["bytes"], flops=doc["flops"],
        bench=tuple(doc["bench"]), target=float(doc["target"]), forbidden=tuple(doc["forbidden"]),
        template=doc["template"], solution=doc["solution"], mutants=tuple(doc["mutants"]))


def _tensor_dims(task: KernelTask) -> set[str]:
    return {d for a in task.args if a["kind"] == "tensor" for d in a["shape"]}


def _shape_names(task: KernelTask, formula: str) -> set[str]:
    """Names in ``formula`` that a shape must give (not scalar arguments or ``elem``)."""
    scalars = {a["name"] for a in task.args if a["kind"] != "tensor"}
    return set(_NAME.findall(formula)) - scalars - {"elem"}


def _unknown_names(task: KernelTask) -> list[str]:
    """Formula names that no argument's shape, shape entry or bench entry gives."""
    given = _tensor_dims(task).union(*task.shapes, *task.bench) - {"scale", "dtype"}
    return [f"$.{field}: unknown name {name!r} in formula {formula!r}"
            for field, formula in (("bytes", task.bytes), ("flops", task.flops))
            for name in sorted(_shape_names(task, formula) - given)]


def _case_problems(task: KernelTask, case: dict[str, Any], where: str) -> list[str]:
    """One shape or bench entry: every dimension given, one of the task's dtypes, formulas
    that evaluate."""
    needed = _tensor_dims(task) | _shape_names(task, f"{task.bytes} {task.flops}")
    missing = needed - set(case)
    if missing:
        return [f"{where}: lacks {', '.join(sorted(missing))} (used by the arguments' shapes or the "
                "bytes/flops formulas)"]
    if "dtype" in case and case["dtype"] not in task.dtypes:
        return [f"{where}.dtype: {case['dtype']} is not one of the task's dtypes "
                f"({', '.join(task.dtypes)})"]
    found = []
    for dtype in [case["dtype"]] if "dtype" in case else list(task.dtypes):
        try:
            traffic(task, case, dtype)
        except FormulaError as exc:
            found.append(f"{where}: {exc}")
    return found


def _task_problems(task: KernelTask, root: Path, where: str) -> list[Problem]:
    """Names the formulas use, each shape and bench entry, files that must exist; reported as
    ``task: $.path: message`` (a name no entry gives is reported once, for its formula)."""
    messages = _unknown_names(task)
    if not messages:
        for field, entries in (("shapes", task.shapes), ("bench", task.bench)):
            for i, case in enumerate(entries):
                messages += _case_problems(task, case, f"$.{field}[{i}]")
    messages += [f"{path} does not exist" for path in (task.template, task.solution, *task.mutants)
                 if not (root / path).is_file()]
    return [Problem(where, f"{task.id}: {m}") for m in dict.fromkeys(messages)]


def _schema_problem(doc: Any, path: tuple[str | int, ...], message: str) -> Problem:
    """``$.tasks[3].items: [] should be non-empty (task matmul)``: the path, and the task's id
    when it has one."""
    if len(path) >= 2 and path[0] == "tasks" and isinstance(path[1], int):
        raw = doc["tasks"][path[1]]
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            message += f" (task {raw['id']})"
    return Problem(str(KERNELS_FILE), message, path=json_path(path))


def kernel_document(bank_dir: Path, data: bytes | None = None) -> tuple[Any, list[Problem]]:
    """The parsed, schema-valid ``kernels.yaml`` (None when the bank has none), or the problems
    that make it unusable (``data``: its bytes, already read)."""
    path = bank_dir / KERNELS_FILE
    if data is None and not path.is_file():
        return None, []
    doc, problems = read_document(path, str(KERNELS_FILE), data)
    if problems:
        return None, problems
    errors = schema_errors(doc, grader_schema("kernels"))
    if errors:
        return None, [_schema_problem(doc, path, message) for path, message in errors[:20]]
    return doc, []


def kernel_tasks(doc: dict[str, Any], bank_dir: Path) -> tuple[dict[str, KernelTask], list[Problem]]:
    """The tasks of a schema-valid document: every valid one by id, and the problems of the
    others (formulas, shapes, files that must exist)."""
    problems: list[Problem] = []
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


def load_kernel_tasks(bank_dir: Path) -> tuple[dict[str, KernelTask], list[Problem]]:
    """Every valid task by id, and the problems that kept the others out."""
    doc, problems = kernel_document(bank_dir)
    if problems or doc is None:
        return {}, problems
    return kernel_tasks(doc, bank_dir)
