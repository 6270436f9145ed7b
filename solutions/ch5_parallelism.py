"""Chapter 5 - parallelism: ZeRO memory per GPU, ring all-reduce volume, pipeline bubbles."""

GB = 1e9


# 5.1 ZeRO stage 1 -------------------------------------------------------------

def zero1_bytes_per_gpu(n_params_b: float, n_gpus: float, optimizer_bytes: float = 12,
                        weight_bytes: float = 2, grad_bytes: float = 2, **_) -> float:
    """ZeRO-1: fp32 master + Adam m, v (12 B/param) sharded; bf16 weights and grads replicated."""
    return (optimizer_bytes / n_gpus + weight_bytes + grad_bytes) * n_params_b * 1e9


def zero1_all_sharded(n_params_b: float, n_gpus: float, optimizer_bytes: float = 12,
                      weight_bytes: float = 2, grad_bytes: float = 2, **_) -> float:
    """Known mistake: all 16 bytes/param sharded (that is ZeRO-3, not ZeRO-1)."""
    return (optimizer_bytes + weight_bytes + grad_bytes) / n_gpus * n_params_b * 1e9


def zero1_no_sharding(n_params_b: float, n_gpus: float, optimizer_bytes: float = 12,
                      weight_bytes: float = 2, grad_bytes: float = 2, **_) -> float:
    """Known mistake: nothing sharded, the full 16 bytes/param on each GPU."""
    return (optimizer_bytes + weight_bytes + grad_bytes) * n_params_b * 1e9


def zero1_sixteen_over_p_plus_four(n_params_b: float, n_gpus: float, optimizer_bytes: float = 12,
                                   weight_bytes: float = 2, grad_bytes: float = 2, **_) -> float:
    """Known mistake: 16/P + 4 (the weights' and grads' 4 bytes counted in the shard too)."""
    total = optimizer_bytes + weight_bytes + grad_bytes
    return (total / n_gpus + weight_bytes + grad_bytes) * n_params_b * 1e9


# 5.2 ring all-reduce --------------------------------------------------------------

def ring_allreduce_bytes(n_params_b: float, n_gpus: float, bytes_per_grad: float = 2, **_) -> float:
    """Bytes each GPU sends in a ring all-reduce of an M-byte buffer: 2 (P-1)/P M."""
    m = n_params_b * 1e9 * bytes_per_grad
    return 2 * (n_gpus - 1) / n_gpus * m


def ring_allreduce_2m(n_params_b: float, n_gpus: float, bytes_per_grad: float = 2, **_) -> float:
    """Known mistake: the large-P limit 2M used for a small ring."""
    return 2 * n_params_b * 1e9 * bytes_per_grad


def ring_allreduce_m_only(n_params_b: float, n_gpus: float, bytes_per_grad: float = 2, **_) -> float:
    """Known mistake: only the buffer size M (one pass instead of reduce-scatter + all-gather)."""
    return n_params_b * 1e9 * bytes_per_grad


# 5.3 pipeline bubble ----------------------------------------------------------------

def pipeline_bubble_fraction(n_stages: float, n_microbatches: float, **_) -> float:
    """Idle fraction of a GPipe/1F1B schedule: (P-1) / (m + P - 1)."""
    return (n_stages - 1) / (n_microbatches + n_stages - 1)


def pipeline_bubble_over_m(n_stages: float, n_microbatches: float, **_) -> float:
    """Known mistake: (P-1)/m, the bubble relative to the ideal time, not to the total."""
    return (n_stages - 1) / n_microbatches


# 5.5 ZeRO stage 3 -----------------------------------------------------------------

def zero3_bytes_per_gpu(n_params_b: float, n_gpus: float, bytes_per_param: float = 16, **_) -> float:
    """ZeRO-3: all 16 bytes/param (weights, grads, master, m, v) sharded over P GPUs."""
    return bytes_per_param * n_params_b * 1e9 / n_gpus


def zero3_only_optimizer_sharded(n_params_b: float, n_gpus: float, bytes_per_param: float = 16,
                                 **_) -> float:
    """Known mistake: only the 12 optimizer bytes sharded (that is ZeRO-1)."""
    return ((bytes_per_param - 4) / n_gpus + 4) * n_params_b * 1e9


def zero3_no_sharding(n_params_b: float, n_gpus: float, bytes_per_param: float = 16, **_) -> float:
    """Known mistake: the unsharded 16 bytes/param per GPU."""
    return bytes_per_param * n_params_b * 1e9
