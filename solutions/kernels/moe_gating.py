"""Top-k MoE gating with token dispatch order, in plain PyTorch (reference solution)."""

import torch


def moe_gating(logits: torch.Tensor, k: int):
    """Route each of T tokens to its k highest-logit experts out of E.

    Returns (topk_idx int64 [T, k] largest first, gates [T, k] = softmax of the chosen
    logits in fp32 cast to logits' dtype, token_order int64 [T*k] = token of each
    assignment sorted stably by expert, expert_counts int64 [E]).
    """
    E = logits.shape[1]
    assert 1 <= k <= E
    values, topk_idx = torch.topk(logits.float(), k, dim=-1, largest=True, sorted=True)
    gates = torch.softmax(values, dim=-1).to(logits.dtype)
    flat = topk_idx.reshape(-1)
    token_order = torch.argsort(flat, stable=True) // k
    expert_counts = torch.bincount(flat, minlength=E)
    return topk_idx, gates, token_order, expert_counts
