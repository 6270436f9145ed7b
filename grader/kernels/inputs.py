"""Seeded inputs for a kernel task: never degenerate (no zero weights, no constant rows,
no ties where an order is asked for), generated in float32 and cast to the dtype under test."""

from __future__ import annotations

from typing import Any

import torch

from grader.kernels.spec import KernelTask

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
DISTINCT_STEP = 0.25  # exact in bfloat16 for |values| <= 16, so no two logits of a row tie


def _tensor(arg: dict[str, Any], shape: list[int], scale: float, gen: torch.Generator) -> torch.Tensor:
    if arg["init"] == "normal":
        return torch.randn(shape, generator=gen) * scale
    if arg["init"] == "uniform":
        low, high = float(arg["low"]), float(arg["high"])
        return torch.rand(shape, generator=gen) * (high - low) + low
    # distinct: each row a random permutation of evenly spaced values centred on zero
    rows, width = (int(torch.tensor(shape[:-1]).prod()) if len(shape) > 1 else 1), shape[-1]
    perms = torch.stack([torch.randperm(width, generator=gen) for _ in range(rows)])
    return ((perms.float() - (width - 1) / 2) * DISTINCT_STEP).reshape(shape)


def make_inputs(task: KernelTask, dims: dict[str, Any], dtype: str, seed: int,
                device: str = "cpu") -> list[Any]:
    """The call's positional arguments for one case (shape ``dims``, ``dtype``, ``seed``)."""
    gen = torch.Generator().manual_seed(seed)
    scale = float(dims.get("scale", 1.0))
    args: list[Any] = []
    for arg in task.args:
        if arg["kind"] == "tensor":
            shape = [int(dims[d]) for d in arg["shape"]]
            args.append(_tensor(arg, shape, scale, gen).to(DTYPES[dtype]).to(device).contiguous())
        else:
            value = dims.get(arg["name"], arg["value"])
            args.append(int(value) if arg["kind"] == "int" else float(value))
    return args
