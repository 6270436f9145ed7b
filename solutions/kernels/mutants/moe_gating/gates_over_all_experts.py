"""Mutant of MoE gating: gates are the softmax over all E experts, not renormalised
over the k chosen ones (they sum to less than 1 whenever k < E)."""

import torch


def moe_gating(logits: torch.Tensor, k: int):
    """Deliberately wrong: top-k of the full softmax, without renormalising."""
    E = logits.shape[1]
    probs = torch.softmax(logits.float(), dim=-1)
    values, topk_idx = torch.topk(probs, k, dim=-1)
    gates = values.to(logits.dtype)
    flat = topk_idx.reshape(-1)
    token_order = torch.argsort(flat, stable=True) // k
    return topk_idx, gates, token_order, torch.bincount(flat, minlength=E)
