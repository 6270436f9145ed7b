"""Top-k router for a mixture-of-experts layer (debug exercise).

Users report that this router misbehaves: every token is handed to exactly one
expert whatever ``top_k`` is, and the gate values a token receives change when
other tokens are added to the batch. Find and fix the bugs.
"""

import torch
from torch import Tensor


def route(x_flat: Tensor, w_router: Tensor, top_k: int) -> tuple[Tensor, Tensor]:
    """Choose experts for every token.

    Args:
        x_flat: token representations, shape [n_tokens, d_model], floating point
            (batch and sequence dimensions already flattened into n_tokens).
        w_router: router weight matrix, shape [d_model, n_experts], same dtype.
        top_k: how many experts each token is sent to, 1 <= top_k <= n_experts.

    Returns:
        topk_idx: int64 tensor of shape [n_tokens, top_k]; row t lists the ids of
            the top_k experts with the highest router probability for token t,
            most probable first.
        gates: tensor of shape [n_tokens, n_experts] with the dtype of x_flat; row t
            is token t's router probability distribution over the experts (the
            softmax of its router logits), so every row is non-negative and sums to 1.

    The inputs are not modified.
    """
    logits = x_flat @ w_router                    # [n_tokens, n_experts]
    probs = torch.softmax(logits, dim=-1)         # [n_tokens, n_experts]
    topk = probs.topk(1, dim=-1)                  # values, indices: [n_tokens, k]
    gates = torch.softmax(logits, dim=0)          # [n_tokens, n_experts]
    return topk.indices, gates
