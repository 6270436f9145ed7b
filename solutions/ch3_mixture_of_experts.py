"""Chapter 3 - mixture of experts: active parameters, expert FLOPs, expert capacity."""


def active_params(n_experts: float, expert_params_b: float, shared_params_b: float,
                  top_k: float) -> float:
    """Parameters one token touches: the shared ones plus its top-k experts (in params)."""
    return (shared_params_b + top_k * expert_params_b) * 1e9


def total_params(n_experts: float, expert_params_b: float, shared_params_b: float,
                 top_k: float = 2) -> float:
    """Known mistake: the total parameter count (every expert) instead of the active one."""
    return (shared_params_b + n_experts * expert_params_b) * 1e9


def routed_expert_params_only(n_experts: float, expert_params_b: float,
                              shared_params_b: float, top_k: float) -> float:
    """Known mistake: the top-k experts' parameters without the shared ones."""
    return top_k * expert_params_b * 1e9


def moe_ffn_flops_per_token(d_model: float, d_ff: float, top_k: float,
                            n_proj: float) -> float:
    """Forward FLOPs of the routed FFN for one token: top_k experts x n_proj matmuls x 2*d*d_ff."""
    return top_k * n_proj * 2 * d_model * d_ff


def one_expert_flops_per_token(d_model: float, d_ff: float, top_k: float = 2,
                               n_proj: float = 2) -> float:
    """Known mistake: the cost of a single expert, forgetting that top_k experts run."""
    return n_proj * 2 * d_model * d_ff


def one_projection_flops(d_model: float, d_ff: float, top_k: float = 2,
                         n_proj: float = 2) -> float:
    """Known mistake: one projection of one expert only."""
    return 2 * d_model * d_ff


def training_moe_ffn_flops_per_token(d_model: float, d_ff: float, top_k: float,
                                     n_proj: float) -> float:
    """Known mistake: forward + backward (3x the forward) instead of the forward pass."""
    return 3 * moe_ffn_flops_per_token(d_model, d_ff, top_k, n_proj)


def expert_capacity(n_experts: float, top_k: float, n_tokens: float,
                    capacity_factor: float) -> float:
    """Token slots per expert: Cf x (top_k / n_experts) x T (unrounded)."""
    return capacity_factor * top_k / n_experts * n_tokens


def capacity_without_top_k(n_experts: float, top_k: float, n_tokens: float,
                           capacity_factor: float) -> float:
    """Known mistake: each token counted once instead of top_k times."""
    return capacity_factor * n_tokens / n_experts


def capacity_without_factor(n_experts: float, top_k: float, n_tokens: float,
                            capacity_factor: float = 1.0) -> float:
    """Known mistake: the expected load only, without the capacity factor's headroom."""
    return top_k / n_experts * n_tokens
