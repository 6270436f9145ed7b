"""Find forbidden PyTorch ops in a kernel's source without running it: attribute access
(``torch.softmax``, ``x.softmax``, ``F.silu``), imports of them, string constants naming them
(``getattr(torch, "softmax")``) and the ``@`` operator when ``__matmul__`` is forbidden.
Triton's own ``tl.dot`` or ``tl.sigmoid`` are allowed: names reached through a module
imported from ``triton`` are skipped."""

from __future__ import annotations

import ast
import threading

# CPython 3.11 can raise "SystemError: AST constructor recursion depth mismatch" when two
# threads parse at once (python/cpython#106905), and grade check, grade validate --code and
# the tests check kernels side by side in threads.
_PARSING = threading.Lock()


def _triton_aliases(tree: ast.AST) -> set[str]:
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "triton":
                    aliases.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "triton":
            aliases.update(alias.asname or alias.name for alias in node.names)
    return aliases


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def forbidden_uses(source: str, forbidden: tuple[str, ...], filename: str = "<kernel>") -> list[str]:
    """One line per use of a forbidden op, ``file:line: name``; a file that does not parse
    is reported by the correctness run instead."""
    if not forbidden:
        return []
    try:
        with _PARSING:
            tree = ast.parse(source, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    names, triton = set(forbidden), _triton_aliases(tree)
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
    return sorted(set(found), key=lambda s: (len(s.split(":")[1]), s))
