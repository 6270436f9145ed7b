"""Seeded inputs for a kernel task: never degenerate (no zero weights, no constant rows,
no ties where an order is asked for), generated in float32 and cast to the dtype under test."""

from __future__ import annotations

import math
from typing import Any

import torch

from grader.kernels.spec import KernelTask

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
DISTINCT_STEP = 0.25  # exact in bfloat16 for |values| <= 16, so no two logits of a row tie


def _tensor(arg: dict[str, Any], shape: list[int], scale: float, gen: torch.Generator) -> torch.Tensor:
    on = gen.device
    if arg["init"] == "normal":
        return torch.randn(shape, generator=gen, device=on) * scale
    if arg["init"] == "uniform":
        low, high = float(arg["low"]), float(arg["high"])
        return torch.rand(shape, generator=gen, device=on) * (high - low) + low
    # distinct: each row a random permutation (the argsort of random keys) of evenly spaced
    # values centred on zero
    rows, width = math.prod(shape[:-1]), shape[-1]
    perms = torch.rand((rows, width), generator=gen, device=on).argsort(dim=-1)
    return ((perms.float() - (width - 1) / 2) * DISTINCT_STEP).reshape(shape)


def make_inputs(task: KernelTask, dims: dict[str, Any], dtype: str, seed: int,
                device: str = "cpu") -> list[Any]:
    """The call's positional arguments for one case (shape ``dims``, ``dtype``, ``seed``),
    generated on ``device``: the same seed gives the same values on the same kind of device
    (the correctness cases use the CPU; timed runs on a GPU draw there, which is fast)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    scale = float(dims.get("scale", 1.0))
    args: list[Any] = []
    for arg in task.args:
        if arg["kind"] == "tensor":
            shape = [int(dims[d]) for d in arg["shape"]]
            args.append(_tensor(arg, shape, scale, gen).to(DTYPES[dtype]).contiguous())
        else:
            value = dims.get(arg["name"], arg["value"])
            args.append(int(value) if arg["kind"] == "int" else float(value))
    return args
