"""Mutant of the softmax exercise: torch.softmax (forbidden) under a name built at run time,
called with PyTorch's function hooks switched off so the run-time watch does not see it."""

import torch


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Deliberately rule-breaking: hides the PyTorch op from the static scan and the watch."""
    name = "".join(chr(c) for c in (115, 111, 102, 116, 109, 97, 120))
    with torch._C.DisableTorchFunction():
        return getattr(torch, name)(x.float(), -1).to(x.dtype)
