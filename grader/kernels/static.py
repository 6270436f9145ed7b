"""Read a kernel's source without running it.

``forbidden_uses`` finds forbidden PyTorch ops: attribute access (``torch.softmax``,
``x.softmax``, ``F.silu``), imports of them, string constants naming them
(``getattr(torch, "softmax")``) and the ``@`` operator when ``__matmul__`` is forbidden.
Triton's own ``tl.dot`` or ``tl.sigmoid`` are allowed: names reached through a module
imported from ``triton`` are skipped.

``evasive_uses`` finds what would hide a forbidden op from that scan or from the run-time
watch (a ``__torch_function__`` mode): ``torch._C``, ``DisableTorchFunction``, ``torch.ops``,
dispatch overrides, imports and attribute lookups by computed name, ``eval``/``exec``.

``missing_triton_launch`` reports a Triton task's submission that launches no
``@triton.jit`` kernel as ``kernel[grid](...)``.

``static_problems`` runs all three as a task asks."""

from __future__ import annotations

import ast
import re
import threading
from collections.abc import Iterable, Mapping

# CPython 3.11 can raise "SystemError: AST constructor recursion depth mismatch" when two
# threads parse at once (python/cpython#106905), and grade check, grade validate --code and
# the tests check kernels side by side in threads.
_PARSING = threading.Lock()

LAUNCH_MESSAGE = ("no Triton kernel is launched: this task asks for a @triton.jit kernel "
                  "called as kernel[grid](...)")

_INTERNALS = "reaches PyTorch internals the grader cannot watch"
_DISPATCH = "changes PyTorch's dispatch, which the grader's watch relies on"
_COMPUTED = "looks a name up at run time, hidden from the forbidden-op scan"
# Attributes that are never needed in a kernel file, whatever object they are read from.
_ANY_ROOT = {
    "_C": _INTERNALS,
    "DisableTorchFunction": "switches off the grader's watch on PyTorch calls",
    "DisableTorchFunctionSubclass": "switches off the grader's watch on PyTorch calls",
    "__torch_function__": _DISPATCH,
    "__torch_dispatch__": _DISPATCH,
    "TorchFunctionMode": _DISPATCH,
    "TorchDispatchMode": _DISPATCH,
    "_python_dispatch": _DISPATCH,
    "__import__": "imports a module by computed name, hidden from the forbidden-op scan",
    "__dict__": _COMPUTED,
    "__getattribute__": _COMPUTED,
    "__getattr__": _COMPUTED,
    "getattr_static": _COMPUTED,
}
# Attributes of torch (or of a module inside it) that reach ops around the checks.
_OF_TORCH = {
    "ops": "calls raw aten ops, around the forbidden-op checks",
    "_ops": "calls raw aten ops, around the forbidden-op checks",
    "_VF": _INTERNALS,
    "overrides": _DISPATCH,
}
_MODULES = {
    "importlib": "imports a module by computed name, hidden from the forbidden-op scan",
    "builtins": "reaches getattr and __import__ under other names, hidden from the scan",
}
_BUILTIN_CALLS = {
    "eval": "runs code built at run time, hidden from the forbidden-op scan",
    "exec": "runs code built at run time, hidden from the forbidden-op scan",
    "compile": "runs code built at run time, hidden from the forbidden-op scan",
    "vars": _COMPUTED,
    "globals": _COMPUTED,
    "locals": _COMPUTED,
}
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _parse(source: str, filename: str) -> ast.AST | None:
    """The module's tree, or None when it does not parse (the correctness run says why)."""
    try:
        with _PARSING:
            return ast.parse(source, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _origins(tree: ast.AST) -> dict[str, str]:
    """Each name an import binds, mapped to the dotted name it stands for."""
    origins = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    origins[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    origins[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                origins[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return origins


def _triton_aliases(origins: Mapping[str, str]) -> set[str]:
    """Names bound by an import from triton (``tl``, ``triton``, ``jit``)."""
    return {name for name, origin in origins.items() if origin.split(".")[0] == "triton"}


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST, origins: Mapping[str, str]) -> str | None:
    """``tl.math.exp`` as ``triton.language.math.exp`` (imports resolved); None if not a name."""
    if isinstance(node, ast.Name):
        return origins.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, origins)
        return f"{base}.{node.attr}" if base else None
    return None


def _torch_aliases(tree: ast.AST, origins: Mapping[str, str]) -> set[str]:
    """Names bound to torch or to something inside it: imports, then plain assignments
    (``t = torch``, ``f = torch.nn.functional``) until nothing new is found."""
    names = {name for name, origin in origins.items() if origin.split(".")[0] == "torch"}
    assigns = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)]
    grew = True
    while grew:
        grew = False
        for node in assigns:
            if isinstance(node.value, (ast.Name, ast.Attribute)) and _root(node.value) in names:
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id not in names:
                        names.add(target.id)
                        grew = True
    return names


def _by_line(found: Iterable[str]) -> list[str]:
    return sorted(set(found), key=lambda s: (len(s.split(":")[1]), s))


def forbidden_uses(source: str, forbidden: tuple[str, ...], filename: str = "<kernel>") -> list[str]:
    """One line per use of a forbidden op, ``file:line: name``; a file that does not parse
    is reported by the correctness run instead."""
    if not forbidden:
        return []
    tree = _parse(source, filename)
    if tree is None:
        return []
    names, triton = set(forbidden), _triton_aliases(_origins(tree))
    found = []
    for node in ast.walk(tree):
        hit = None
        if isinstance(node, ast.Attribute) and node.attr in names and _root(node) not in triton:
            hit = node.attr
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] != "triton":
            hit = next((a.name for a in node.names if a.name in names), None)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
            hit = node.value
        elif isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, ast.MatMult) \
                and "__matmul__" in names:
            hit = "@ (matmul)"
        if hit:
            found.append(f"{filename}:{getattr(node, 'lineno', '?')}: {hit}")
    return _by_line(found)


class _Evasions(ast.NodeVisitor):
    """Collects ``(line, what, why)`` for every use that would blind the checks."""

    def __init__(self, tree: ast.AST) -> None:
        self.origins = _origins(tree)
        self.torch = _torch_aliases(tree, self.origins)
        self.triton = _triton_aliases(self.origins)
        self.callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        self.found: list[tuple[int, str, str]] = []

    def _add(self, node: ast.AST, what: str, why: str) -> None:
        self.found.append((getattr(node, "lineno", 0), what, why))

    def _attribute(self, node: ast.AST, base: ast.AST, attr: str) -> None:
        """``base.attr``, written out or looked up with a constant name."""
        root = _root(base)
        if root in self.triton:
            return
        shown = _dotted(base, {}) or "..."
        if attr in _ANY_ROOT:
            self._add(node, f"{shown}.{attr}", _ANY_ROOT[attr])
        elif attr == "modules" and _dotted(base, self.origins) == "sys":
            self._add(node, "sys.modules", "reaches modules without importing them, hidden from the scan")
        elif attr in _OF_TORCH and root in self.torch:
            self._add(node, f"{shown}.{attr}", _OF_TORCH[attr])

    def _module(self, node: ast.AST, module: str) -> None:
        """An imported module path: torch's internals, importlib, builtins."""
        parts = module.split(".")
        if parts[0] in _MODULES:
            self._add(node, parts[0], _MODULES[parts[0]])
        elif parts[0] == "torch":
            for part in parts[1:]:
                why = _ANY_ROOT.get(part) or _OF_TORCH.get(part)
                if why:
                    self._add(node, ".".join(parts[:parts.index(part) + 1]), why)
                    return

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._module(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        self._module(node, module)
        for alias in node.names:
            if alias.name in _ANY_ROOT or (alias.name in _OF_TORCH and module.split(".")[0] == "torch"):
                self._add(node, f"{module}.{alias.name}", _ANY_ROOT.get(alias.name)
                          or _OF_TORCH[alias.name])

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._attribute(node, node.value, node.attr)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in _ANY_ROOT and node.id not in self.origins:
            self._add(node, node.id, _ANY_ROOT[node.id])
        elif node.id == "getattr" and id(node) not in self.callees:
            self._add(node, "getattr passed as a value", _COMPUTED)
        elif node.id == "__builtins__":
            self._add(node, node.id, _MODULES["builtins"])

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        if node.name in _ANY_ROOT:
            self._add(node, f"def {node.name}", _ANY_ROOT[node.name])
        self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _definition

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and _DOTTED.fullmatch(node.value):
            hit = next((p for p in node.value.split(".") if p in _ANY_ROOT or p in _MODULES), None)
            if hit:
                self._add(node, repr(node.value), _ANY_ROOT.get(hit) or _MODULES[hit])

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) and func.id not in self.origins else None
        if name == "getattr":
            plain = len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2])
            key = node.args[1] if plain else None
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                self._attribute(node, node.args[0], key.value)
            elif not plain or _root(node.args[0]) not in self.triton:
                self._add(node, "getattr with a computed name", _COMPUTED)
        elif name in _BUILTIN_CALLS:
            self._add(node, f"{name}()", _BUILTIN_CALLS[name])
        elif isinstance(func, (ast.Name, ast.Attribute)):
            called = func.id if isinstance(func, ast.Name) else func.attr
            if called in ("attrgetter", "methodcaller") and not all(
                    isinstance(a, ast.Constant) for a in node.args[:1]):
                self._add(node, f"{called} with a computed name", _COMPUTED)
        self.generic_visit(node)


def evasive_uses(source: str, filename: str = "<kernel>") -> list[str]:
    """One line per use that would hide a forbidden op from the static scan or the run-time
    watch, ``file:line: what (why)``; meant for every task that forbids ops. A file that
    does not parse is reported by the correctness run instead."""
    tree = _parse(source, filename)
    if tree is None:
        return []
    scan = _Evasions(tree)
    scan.visit(tree)
    return _by_line(f"{filename}:{line}: {what} ({why})" for line, what, why in scan.found)


def _is_jit(node: ast.AST, origins: Mapping[str, str]) -> bool:
    """``triton.jit``, ``jit`` imported from triton, or either called with options."""
    name = _dotted(node.func if isinstance(node, ast.Call) else node, origins) or ""
    return name.split(".")[0] == "triton" and name.endswith(".jit")


def _kernels(tree: ast.AST, origins: Mapping[str, str]) -> set[str]:
    """Names of this module's Triton kernels: ``@triton.jit`` functions (autotune or
    heuristics may be stacked on the jit) and ``name = triton.jit(f)``."""
    kernels = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                and any(_is_jit(d, origins) for d in node.decorator_list):
            kernels.add(node.name)
        elif isinstance(node, ast.Assign) and any(
                isinstance(n, ast.Call) and _is_jit(n, origins) for n in ast.walk(node.value)):
            kernels.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return kernels


def _launched(trees: Iterable[ast.AST], kernels: set[str]) -> bool:
    """Whether some ``k[grid](...)`` calls a kernel (by its name, an alias, an import of it
    from a sibling module, or ``module.kernel``)."""
    names = set(kernels)
    nodes = [n for tree in trees for n in ast.walk(tree)]
    grew = True
    while grew:  # aliases: from helper import _kernel as k; k2 = k
        grew = False
        for node in nodes:
            new: list[str] = []
            if isinstance(node, ast.ImportFrom):
                new = [a.asname or a.name for a in node.names if a.name in names]
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in names:
                new = [t.id for t in node.targets if isinstance(t, ast.Name)]
            grew |= bool(set(new) - names)
            names.update(new)
    for node in nodes:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Subscript):
            target = node.func.value
            if (isinstance(target, ast.Name) and target.id in names) or \
                    (isinstance(target, ast.Attribute) and target.attr in names):
                return True
    return False


def missing_triton_launch(sources: Mapping[str, str] | str) -> list[str]:
    """For a Triton task: ``[LAUNCH_MESSAGE]`` (with what is missing) when no file of the
    submission (``{filename: source}``, or one source) defines a ``@triton.jit`` kernel that
    some file launches as ``kernel[grid](...)``; ``[]`` otherwise, or when a file does not
    parse (the correctness run reports that)."""
    if isinstance(sources, str):
        sources = {"<kernel>": sources}
    trees = [_parse(text, name) for name, text in sources.items()]
    if any(tree is None for tree in trees):
        return []
    kernels = set().union(*(_kernels(t, _origins(t)) for t in trees if t is not None))
    if not kernels:
        return [LAUNCH_MESSAGE + " (no function is decorated with @triton.jit)"]
    if not _launched([t for t in trees if t is not None], kernels):
        shown = ", ".join(sorted(kernels)[:3])
        return [f"{LAUNCH_MESSAGE} ({shown} defined but never launched)"]
    return []


def static_problems(sources: Mapping[str, str], forbidden: tuple[str, ...], language: str) -> list[str]:
    """Everything the static scan finds in a submission (``{filename: source}``) for a task
    that forbids ``forbidden`` and is written in ``language``: forbidden ops, then evasions
    (both only when something is forbidden), then a missing launch (Triton tasks)."""
    found: list[str] = []
    if forbidden:
        for name, text in sorted(sources.items()):
            found += forbidden_uses(text, forbidden, name)
        for name, text in sorted(sources.items()):
            found += evasive_uses(text, name)
    if language == "triton":
        found += missing_triton_launch(sources)
    return found
