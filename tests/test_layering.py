"""The layering holds: the import contracts in pyproject.toml (the stage packages are layers,
rules are pure, the sandbox imports nothing above it, reporters never run code) pass, rules
import only result types and response readers, every stage package says what it holds and
may import, and no module of the grader imports
itself through others (a cycle), counting imports made inside functions."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from tests.workspace_helpers import CHECKOUT

PACKAGE = CHECKOUT / "grader"


def _imports() -> dict[str, set[str]]:
    """Each module's imports of the grader's modules, at any depth but TYPE_CHECKING blocks."""
    modules: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(CHECKOUT).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text("utf-8"))
        annotations = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and getattr(block.test, "id", getattr(block.test, "attr", "")) == "TYPE_CHECKING"
                       for n in ast.walk(block)}
        found: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in annotations:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grader"):
                found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("grader")}
        modules[name] = found
    return {m: {d for d in deps if d in modules and d != m} for m, deps in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_through_others():
    assert _cycles(_imports()) == []


def test_a_cycle_is_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_import_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is one of the test extras"
    done = subprocess.run([lint], cwd=CHECKOUT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout and "4 kept, 0 broken" in done.stdout


# and ``grader`` itself, which holds only the version and the distribution's name
RULES_MAY_IMPORT = ("grader.results", "grader.responses", "grader.rules", "grader.sandbox.runner")


def test_rules_import_only_result_types_and_response_readers():
    found = {m: sorted(d for d in deps if d != "grader" and not d.startswith(RULES_MAY_IMPORT))
             for m, deps in _imports().items() if m.startswith("grader.rules")}
    assert {m: deps for m, deps in found.items() if deps} == {}


def test_every_stage_package_says_what_it_holds_and_may_import():
    packages = [p.parent for p in PACKAGE.glob("*/__init__.py")]
    assert len(packages) >= 15
    for package in packages:
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text("utf-8"))) or ""
        assert "import" in doc.lower() or package.name == "course", f"{package.name}: {doc[:80]!r}"


def test_no_module_sits_flat_in_the_package_but_the_entry_points():
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "__main__.py"]
