"""Launch skipping for the ghost-launch check: this file runs in the sandbox, not in the grader.

``check.check_kernel`` ships it beside the student's file and has the child import it first
(child.py's ``GRADE_PREIMPORT`` hook), so the student's module is imported with it in place:

- every Triton kernel launch does nothing: ``JITFunction.run`` (what ``kernel[grid](...)``,
  autotuners and heuristics call), ``InterpretedFunction.run`` (the same under
  ``TRITON_INTERPRET=1``) and a compiled kernel's own ``kernel[grid](...)``;
- every uninitialised allocation (``torch.empty``, ``empty_like``, ``empty_strided``,
  ``Tensor.new_empty``, ``new_empty_strided``) comes filled with poison: NaN, or an integer
  dtype's minimum. Their contents are undefined anyway, so no correct program reads them.

An output that a skipped kernel should have written then stays poisoned (or zero, or a copy of
the input), so a submission whose result still matches the reference did not compute it in its
kernel. When Triton's launch path is not where this file expects it, the import fails with
``LaunchPatchUnavailable`` and the grader skips the check rather than judge without it.
Standard library, torch and triton only.
"""

import functools

import torch


class LaunchPatchUnavailable(RuntimeError):
    """Triton's launch path is not where this module expects it (another Triton version)."""


def _poison(tensor):
    if isinstance(tensor, torch.Tensor) and tensor.numel():
        if tensor.is_floating_point() or tensor.is_complex():
            tensor.fill_(float("nan"))
        elif tensor.dtype != torch.bool:
            tensor.fill_(torch.iinfo(tensor.dtype).min)
    return tensor


def _poisoned(make):
    @functools.wraps(make)
    def allocate(*args, **kwargs):
        return _poison(make(*args, **kwargs))
    return allocate


def _skipped(run):
    @functools.wraps(run)
    def launch(self, *args, grid, warmup, **kwargs):
        if warmup:  # compiles without running anything: left alone
            return run(self, *args, grid=grid, warmup=warmup, **kwargs)
        return None
    return launch


def _skipped_compiled(self, grid):
    def launch(*args, **kwargs):
        return None
    return launch


def _install():
    try:
        from triton.compiler.compiler import CompiledKernel
        from triton.runtime.interpreter import InterpretedFunction
        from triton.runtime.jit import JITFunction

        runs = [(cls, cls.__dict__["run"]) for cls in (JITFunction, InterpretedFunction)]
        if not callable(CompiledKernel.__dict__["__getitem__"]):
            raise TypeError("CompiledKernel.__getitem__ is not a method")
    except (ImportError, AttributeError, KeyError, TypeError) as exc:
        raise LaunchPatchUnavailable(f"Triton's launch path moved ({type(exc).__name__}: {exc})") from None
    for cls, run in runs:
        cls.run = _skipped(run)
    CompiledKernel.__getitem__ = _skipped_compiled
    for name in ("empty", "empty_like", "empty_strided"):
        setattr(torch, name, _poisoned(getattr(torch, name)))
    for name in ("new_empty", "new_empty_strided"):
        setattr(torch.Tensor, name, _poisoned(getattr(torch.Tensor, name)))


_install()
