"""Mutant of the MoE router: only the k bug: one expert per token whatever top_k is."""

import torch
from torch import Tensor


def route(x_flat: Tensor, w_router: Tensor, top_k: int) -> tuple[Tensor, Tensor]:
    """Deliberately wrong router used to check that the hidden tests catch this bug."""
    logits = x_flat @ w_router
    probs = torch.softmax(logits, dim=-1)
    topk = probs.topk(1, dim=-1)
    gates = torch.softmax(logits, dim=-1)
    return topk.indices, gates
