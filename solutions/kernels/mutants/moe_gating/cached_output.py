"""Mutant of MoE gating: a replay cheat that computes the right answer once and then
returns that first result on every later call, whatever the inputs."""

import torch

_FIRST = None


def moe_gating(logits: torch.Tensor, k: int):
    """Deliberately wrong: correct on the first call only."""
    global _FIRST
    if _FIRST is None:
        E = logits.shape[1]
        values, topk_idx = torch.topk(logits.float(), k, dim=-1)
        gates = torch.softmax(values, dim=-1).to(logits.dtype)
        flat = topk_idx.reshape(-1)
        token_order = torch.argsort(flat, stable=True) // k
        _FIRST = (topk_idx, gates, token_order, torch.bincount(flat, minlength=E))
    return _FIRST
