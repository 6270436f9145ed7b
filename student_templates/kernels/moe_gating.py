"""Top-k gating and token dispatch order for a mixture-of-experts layer (exercise).

Contract of ``moe_gating(logits, k)``:
    logits: [T, E] router logits (float32, float16 or bfloat16); k: int, 1 <= k <= E.
    The inputs are not modified. Returns a tuple of four tensors:
    topk_idx: int64 [T, k], the k experts with the largest logits for each token,
        largest first.
    gates: [T, k] with logits' dtype: the softmax of the k selected logits, computed
        in float32 and then cast (the top-k router probabilities renormalised to sum
        to 1 per token); gates[t, j] belongs to expert topk_idx[t, j].
    token_order: int64 [T*k], the token index of every (token, slot) assignment,
        ordered by expert id; assignments to the same expert keep their order in
        topk_idx.reshape(-1) (a stable sort).
    expert_counts: int64 [E], how many assignments each expert received.
Plain PyTorch is fine here.
"""

import torch


def moe_gating(logits: torch.Tensor, k: int):
    """Return (topk_idx, gates, token_order, expert_counts) as described above."""
    # TODO: pick each token's top-k experts, largest first.
    # TODO: gates = softmax of the selected logits, in float32, cast to logits' dtype.
    # TODO: token_order by a stable sort of the flattened expert ids; expert_counts.
    raise NotImplementedError("moe_gating")
