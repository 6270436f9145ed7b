"""Trusted fp32 references of the kernel tasks: the contract, written plainly in PyTorch.

Every reference upcasts its inputs to float32 and returns float32 results (int64 for
indices), so a student's output in any dtype is compared against full-precision values.
The grader calls these on clones of the inputs, before the student's code sees them.
"""

from __future__ import annotations

import math

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


def attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Causal softmax(q k^T / sqrt(D)) v per (batch, head), in float64 with an explicit mask.
    Query rows go in chunks so the [B, H, rows, S] scores stay near 256 MB at bench sizes."""
    q64, k64, v64 = q.double(), k.double(), v.double()
    batch, heads, seq, dim = q.shape
    out = torch.empty(q.shape, dtype=torch.float64, device=q.device)
    keys = torch.arange(seq, device=q.device)
    step = max(1, (1 << 25) // max(1, batch * heads * seq))
    for start in range(0, seq, step):
        rows = keys[start:start + step]
        scores = (q64[:, :, rows] @ k64.transpose(-2, -1)) / math.sqrt(dim)
        scores = scores.masked_fill(keys[None, :] > rows[:, None], float("-inf"))
        e = (scores - scores.amax(dim=-1, keepdim=True)).exp()
        out[:, :, rows] = (e / e.sum(dim=-1, keepdim=True)) @ v64
    return out.float()
