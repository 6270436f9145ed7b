"""Mutant of MoE gating: token_order groups assignments by expert, but an unstable
sort lists each expert's tokens in reverse (last assignment first)."""

import torch


def moe_gating(logits: torch.Tensor, k: int):
    """Deliberately wrong: within one expert, assignments are not in their original order."""
    E = logits.shape[1]
    values, topk_idx = torch.topk(logits.float(), k, dim=-1)
    gates = torch.softmax(values, dim=-1).to(logits.dtype)
    flat = topk_idx.reshape(-1)
    pos = torch.arange(flat.numel(), device=flat.device)
    key = flat * flat.numel() + (flat.numel() - 1 - pos)  # by expert, then latest first
    token_order = torch.argsort(key) // k
    return topk_idx, gates, token_order, torch.bincount(flat, minlength=E)
