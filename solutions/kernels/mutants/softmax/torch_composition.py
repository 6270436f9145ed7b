"""Mutant of the softmax exercise: correct values from plain PyTorch ops (exp, sum), with no
Triton kernel at all, though the task asks for one."""

import torch


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Deliberately rule-breaking: composes allowed torch ops instead of writing a kernel."""
    x32 = x.float()
    e = (x32 - x32.amax(dim=-1, keepdim=True)).exp()
    return (e / e.sum(dim=-1, keepdim=True)).to(x.dtype)
