"""Mutant of the attention exercise: correct values from PyTorch's fused
scaled_dot_product_attention (forbidden)."""

import torch
import torch.nn.functional as F


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Deliberately rule-breaking: calls the PyTorch op instead of a Triton kernel."""
    o = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), is_causal=True)
    return o.to(q.dtype)
