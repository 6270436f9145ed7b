"""Mutant of the MoE router: returns the raw router logits as gates."""

import torch
from torch import Tensor


def route(x_flat: Tensor, w_router: Tensor, top_k: int) -> tuple[Tensor, Tensor]:
    """Deliberately wrong router used to check that the hidden tests catch this bug."""
    logits = x_flat @ w_router
    probs = torch.softmax(logits, dim=-1)
    topk = probs.topk(top_k, dim=-1)
    return topk.indices, logits
