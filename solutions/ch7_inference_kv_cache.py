"""Chapter 7 - inference: KV-cache size, batch size for compute-bound decode, int8 savings."""

import math

# 7.1 KV cache ------------------------------------------------------------------------

def kv_cache_bytes(n_layers: float, n_kv_heads: float, d_head: float, seq_len: float,
                   bytes_per_elem: float = 2, **_) -> float:
    """Bytes of K and V for one request: 2 x L x n_kv x T x d_head x bytes."""
    return 2 * n_layers * n_kv_heads * seq_len * d_head * bytes_per_elem


# 7.2 batch size for compute-bound decode ----------------------------------------------

def min_decode_batch(ridge_flop_per_byte: float, **_) -> float:
    """Smallest integer B with I ~ B >= I*: ceil(I*)."""
    return float(math.ceil(ridge_flop_per_byte - 1e-9))


def power_of_two_below_ridge(ridge_flop_per_byte: float, **_) -> float:
    """Known mistake: the largest power of two strictly below the ridge (e.g. 256 for 295)."""
    return float(2 ** (math.ceil(math.log2(ridge_flop_per_byte)) - 1))


def min_batch_one_byte_per_weight(ridge_flop_per_byte: float, **_) -> float:
    """Known mistake: 1 byte per weight assumed, so I ~ 2B and B = ceil(I*/2)."""
    return float(math.ceil(ridge_flop_per_byte / 2 - 1e-9))


# 7.3 int8 weight quantization -----------------------------------------------------------

def int8_bytes_saved(n_params_b: float, bytes_bf16: float = 2, bytes_int8: float = 1, **_) -> float:
    """Weight bytes saved going from bf16 to int8: N x (2 - 1)."""
    return n_params_b * 1e9 * (bytes_bf16 - bytes_int8)
