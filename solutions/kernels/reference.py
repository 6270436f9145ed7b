"""Trusted fp32 references of the kernel tasks: the contract, written plainly in PyTorch.

Every reference upcasts its inputs to float32 and returns float32 results (int64 for
indices), so a student's output in any dtype is compared against full-precision values.
The grader calls these on clones of the inputs, before the student's code sees them.
"""

from __future__ import annotations

import torch
from torch import Tensor


def rmsnorm(x: Tensor, weight: Tensor, eps: float) -> Tensor:
    x32 = x.float()
    inv_rms = torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + eps)
    return x32 * inv_rms * weight.float()


def softmax(x: Tensor) -> Tensor:
    x32 = x.float()
    shifted = x32 - x32.amax(dim=-1, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=-1, keepdim=True)


def swiglu(a: Tensor, b: Tensor) -> Tensor:
    a32 = a.float()
    return a32 * torch.sigmoid(a32) * b.float()


def matmul(a: Tensor, b: Tensor) -> Tensor:
    return (a.double() @ b.double()).float()


def moe_gating(logits: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    l32 = logits.float()
    top = l32.topk(k, dim=-1)
    gates = torch.softmax(top.values, dim=-1)
    flat = top.indices.reshape(-1)
    order = torch.argsort(flat, stable=True) // k
    counts = torch.bincount(flat, minlength=logits.shape[-1])
    return top.indices, gates, order, counts
