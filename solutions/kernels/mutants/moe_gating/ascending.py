"""Mutant of MoE gating: the right experts and gates, listed smallest logit first."""

import torch


def moe_gating(logits: torch.Tensor, k: int):
    """Deliberately wrong: topk_idx (and gates, consistently) are in ascending order."""
    E = logits.shape[1]
    values, topk_idx = torch.topk(logits.float(), k, dim=-1)
    values, topk_idx = values.flip(-1), topk_idx.flip(-1)
    gates = torch.softmax(values, dim=-1).to(logits.dtype)
    flat = topk_idx.reshape(-1)
    token_order = torch.argsort(flat, stable=True) // k
    return topk_idx, gates, token_order, torch.bincount(flat, minlength=E)
