"""Mutant of the SwiGLU exercise: correct values from torch.nn.functional.silu (forbidden)."""

import torch
import torch.nn.functional as F


def swiglu(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Deliberately rule-breaking: calls the PyTorch op instead of a Triton kernel."""
    return (F.silu(a.float()) * b.float()).to(a.dtype)
