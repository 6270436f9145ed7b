"""Chapter 2 - architecture details: RMSNorm, SwiGLU width, RoPE angles, GQA KV cache."""

import math


def rmsnorm_params_saved_per_layer(d_model: float, norms_per_layer: float = 2, **_) -> float:
    """LayerNorm has gamma and beta (2d); RMSNorm keeps gamma only (d): d saved per norm."""
    return norms_per_layer * d_model


def rmsnorm_params_saved_all_layers(d_model: float, n_layers: float,
                                    norms_per_layer: float = 2, **_) -> float:
    """Known mistake: the saving summed over all layers instead of per layer."""
    return n_layers * norms_per_layer * d_model


def swiglu_d_ff(d_model: float, multiple_of: float = 256, **_) -> float:
    """Iso-FLOP SwiGLU width (8/3) d, rounded to the NEAREST multiple of multiple_of."""
    raw = 8 * d_model / 3
    return float(multiple_of * math.floor(raw / multiple_of + 0.5))


def swiglu_d_ff_rounded_up(d_model: float, multiple_of: float = 256, **_) -> float:
    """Known mistake: rounding (8/3) d UP to the next multiple instead of to the nearest."""
    raw = 8 * d_model / 3
    return float(multiple_of * math.ceil(raw / multiple_of))


def swiglu_d_ff_unrounded(d_model: float, multiple_of: float = 256, **_) -> float:
    """Known mistake: (8/3) d without the rounding the question asks for."""
    return 8 * d_model / 3


def standard_ffn_width(d_model: float, multiple_of: float = 256, **_) -> float:
    """Known mistake: the non-gated FFN width 4d, not shrunk by 2/3."""
    return 4 * d_model


def rope_angle(theta_base: float, d: float, k: float, m: float, **_) -> float:
    """RoPE rotation angle of pair k at position m: m * base^(-2k/d), in radians."""
    return m * theta_base ** (-2 * k / d)


def rope_angle_one_based(theta_base: float, d: float, k: float, m: float, **_) -> float:
    """Known mistake: treating the pair index as 1-based, m * base^(-2(k+1)/d)."""
    return m * theta_base ** (-2 * (k + 1) / d)


def gqa_kv_cache_bytes(n_layers: float, n_kv_heads: float, seq_len: float, d_head: float,
                       bytes_per_elem: float = 2, **_) -> float:
    """K and V for every layer, KV head, position and head dimension, in bytes."""
    return 2 * n_layers * n_kv_heads * seq_len * d_head * bytes_per_elem


def kv_cache_bytes_query_heads(n_heads: float, n_layers: float, seq_len: float,
                               d_head: float, bytes_per_elem: float = 2, **_) -> float:
    """Known mistake: sizing the cache with the query heads (full multi-head attention)."""
    return 2 * n_layers * n_heads * seq_len * d_head * bytes_per_elem
