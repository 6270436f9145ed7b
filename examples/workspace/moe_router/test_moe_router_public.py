"""Public tests for the MoE router. Run with: pytest test_moe_router_public.py"""

import torch
from moe_router import route


def _inputs(n_tokens=16, d_model=32, n_experts=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n_tokens, d_model, generator=gen)
    w = torch.randn(d_model, n_experts, generator=gen) / d_model**0.5
    return x, w


def test_topk_idx_has_one_column_per_chosen_expert():
    x, w = _inputs()
    topk_idx, _ = route(x, w, top_k=2)
    assert tuple(topk_idx.shape) == (16, 2)
    assert topk_idx.dtype == torch.int64


def test_gates_have_one_row_per_token_and_one_column_per_expert():
    x, w = _inputs()
    _, gates = route(x, w, top_k=2)
    assert tuple(gates.shape) == (16, 8)


def test_each_tokens_gates_sum_to_one():
    x, w = _inputs()
    _, gates = route(x, w, top_k=2)
    torch.testing.assert_close(gates.sum(dim=-1), torch.ones(16))


def test_expert_ids_are_valid():
    x, w = _inputs()
    topk_idx, _ = route(x, w, top_k=2)
    assert int(topk_idx.min()) >= 0 and int(topk_idx.max()) < 8
