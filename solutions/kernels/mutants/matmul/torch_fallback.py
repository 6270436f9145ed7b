"""Mutant of the matmul exercise: correct values from torch's own matmul (forbidden)."""

import torch


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Deliberately rule-breaking: uses ``@`` instead of a Triton kernel."""
    return (a.float() @ b.float()).to(a.dtype)
