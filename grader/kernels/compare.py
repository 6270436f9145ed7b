"""Compare a kernel's outputs with the fp32 reference: exact type, shape, dtype, device,
NaN/inf positions, then values within the dtype's tolerance (indices exactly)."""

from __future__ import annotations

from typing import Any

import torch

from grader.kernels.inputs import DTYPES
from grader.kernels.spec import KernelTask, Tolerance


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _values(name: str, got: torch.Tensor, want: torch.Tensor, tol: Tolerance) -> str | None:
    got32, want32 = got.detach().to("cpu", torch.float32), want.detach().to("cpu", torch.float32)
    for label, test in (("NaN", torch.isnan), ("+inf", torch.isposinf), ("-inf", torch.isneginf)):
        if not torch.equal(test(got32), test(want32)):
            where = (test(got32) != test(want32)).nonzero()[0].tolist()
            return f"{name}: {label} at {where} where the reference has {want32[tuple(where)].item():.6g}"
    finite = torch.isfinite(want32)
    err = (got32 - want32).abs().where(finite, torch.zeros_like(want32))
    bound = tol.atol + tol.rtol * want32.abs()
    bad = err > bound.where(finite, torch.full_like(want32, float("inf")))
    if bool(bad.any()):
        first = tuple(bad.nonzero()[0].tolist())
        return (f"{name}: {int(bad.sum())} of {want32.numel()} values off (first at {list(first)}: "
                f"got {got32[first].item():.6g}, expected {want32[first].item():.6g}); "
                f"max error {err.max().item():.3g}, tolerance atol={tol.atol:g} rtol={tol.rtol:g}")
    return None


def compare_outputs(task: KernelTask, got: Any, want: Any, dtype: str, device: str = "cpu",
                    devices: list[str] | None = None) -> list[str]:
    """What is wrong with ``got``; empty when it matches ``want`` (the reference's outputs).
    ``devices``: where the outputs were made, when they travelled back from another process."""
    got_all, want_all = _as_tuple(got), _as_tuple(want)
    if len(got_all) != len(task.outputs):
        return [f"returned {len(got_all)} value(s); expected {len(task.outputs)}: "
                + ", ".join(o["name"] for o in task.outputs)]
    made_on = [getattr(o, "device", None) and o.device.type for o in got_all]
    if devices is not None:  # reported by the process that made them; missing ones fail
        made_on = [*devices[:len(got_all)], *[None] * (len(got_all) - len(devices))]
    for spec, out, ref, where in zip(task.outputs, got_all, want_all, made_on, strict=True):
        name = spec["name"]
        if type(out) is not torch.Tensor:  # subclasses too: a lazy tensor must not pass
            return [f"{name}: expected a torch.Tensor, got {type(out).__name__}"]
        expected_dtype = {"input": DTYPES[dtype], "int64": torch.int64,
                          "float32": torch.float32}[spec["dtype"]]
        if tuple(out.shape) != tuple(ref.shape):
            return [f"{name}: shape {list(out.shape)}, expected {list(ref.shape)}"]
        if out.dtype != expected_dtype:
            return [f"{name}: dtype {str(out.dtype).replace('torch.', '')}, "
                    f"expected {str(expected_dtype).replace('torch.', '')}"]
        if where != device:
            return [f"{name}: on {where}, expected {device}"]
        if expected_dtype == torch.int64:
            if not torch.equal(out.cpu(), ref.cpu()):
                bad = (out.cpu() != ref.cpu()).nonzero()[0].tolist()
                return [f"{name}: differs at {bad}: got {out.cpu()[tuple(bad)].item()}, "
                        f"expected {ref.cpu()[tuple(bad)].item()}"]
            continue
        problem = _values(name, out, ref, task.dtypes[dtype])
        if problem:
            return [problem]
    return []
