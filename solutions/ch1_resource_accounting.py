"""Chapter 1 - resource accounting: matmul FLOPs, 6ND, AdamW memory, activations."""

import math


def matmul_flops(m: float, k: float, n: float) -> float:
    """FLOPs of an [m, k] x [k, n] matmul: one multiply and one add per (i, j, k)."""
    return 2 * m * k * n


def matmul_flops_no_factor_two(m: float, k: float, n: float) -> float:
    """Known mistake: counting a multiply-add as one FLOP."""
    return m * k * n


def training_flops_exponent(n_params_b: float, tokens_b: float) -> float:
    """log10 of the 6ND training compute, N and D given in billions."""
    return math.log10(6 * n_params_b * 1e9 * tokens_b * 1e9)


def forward_only_flops_exponent(n_params_b: float, tokens_b: float) -> float:
    """Known mistake: 2ND (forward pass only) instead of 6ND."""
    return math.log10(2 * n_params_b * 1e9 * tokens_b * 1e9)


def integer_exponent(n_params_b: float, tokens_b: float) -> float:
    """Known mistake: the exponent truncated to an integer."""
    return float(math.floor(training_flops_exponent(n_params_b, tokens_b)))


def adamw_training_bytes(n_params_b: float, bytes_per_param: float) -> float:
    """Weights + gradients + fp32 master + Adam m and v, in bytes."""
    return n_params_b * 1e9 * bytes_per_param


def qkv_activation_bytes(batch: float, seq_len: float, d_model: float,
                         bytes_per_elem: float) -> float:
    """Bytes of the Q, K and V projection outputs, three [B, T, d] tensors."""
    return 3 * batch * seq_len * d_model * bytes_per_elem


def chinchilla_tokens(n_params_b: float, tokens_per_param: float, budget_exp: float = 22) -> float:
    """Chinchilla-optimal token count D = 20 N (the budget plays no part)."""
    return tokens_per_param * n_params_b * 1e9


def budget_tokens_ignoring_chinchilla(n_params_b: float, tokens_per_param: float,
                                      budget_exp: float = 22) -> float:
    """Known mistake: spending the whole FLOP budget, D = C / 6N."""
    return 10**budget_exp / (6 * n_params_b * 1e9)
