"""Mutant of the RMSNorm exercise: correct values from torch's own rms_norm (forbidden)."""

import torch
import torch.nn.functional as F


def rmsnorm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """Deliberately rule-breaking: calls the PyTorch op instead of a Triton kernel."""
    y = F.rms_norm(x.float(), (x.shape[-1],), weight.float(), eps)
    return y.to(x.dtype)
