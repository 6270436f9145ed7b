"""Mutant of the softmax exercise: correct values from torch.softmax (forbidden)."""

import torch


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Deliberately rule-breaking: calls the PyTorch op instead of a Triton kernel."""
    return torch.softmax(x.float(), dim=-1).to(x.dtype)
