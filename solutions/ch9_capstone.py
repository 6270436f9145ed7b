"""Chapter 9 - capstone: effective throughput, training time and cost, serving, param count."""

H100_PEAK_BF16_TFLOPS = 989.0  # dense bf16 peak of an H100 SXM, TFLOP/s


def effective_throughput(peak_tflops: float, mfu: float, **_) -> float:
    """Useful FLOP/s of one GPU: MFU x peak."""
    return mfu * peak_tflops * 1e12


def effective_throughput_divided(peak_tflops: float, mfu: float, **_) -> float:
    """Known mistake: dividing the peak by the MFU instead of multiplying."""
    return peak_tflops * 1e12 / mfu


def _training_flops(n_params_b: float, tokens_b: float) -> float:
    return 6 * n_params_b * 1e9 * tokens_b * 1e9


def training_time_s(n_params_b: float, tokens_b: float, n_gpus: float,
                    effective_tflops: float, **_) -> float:
    """Wall-clock seconds: 6ND / (n_gpus x effective FLOP/s per GPU)."""
    return _training_flops(n_params_b, tokens_b) / (n_gpus * effective_tflops * 1e12)


def training_time_s_one_gpu(n_params_b: float, tokens_b: float, n_gpus: float,
                            effective_tflops: float, **_) -> float:
    """Known mistake: the compute is not split across the GPUs."""
    return _training_flops(n_params_b, tokens_b) / (effective_tflops * 1e12)


def training_time_s_at_peak(n_params_b: float, tokens_b: float, n_gpus: float,
                            effective_tflops: float, **_) -> float:
    """Known mistake: using the 989 TFLOP/s peak instead of the effective rate."""
    return _training_flops(n_params_b, tokens_b) / (n_gpus * H100_PEAK_BF16_TFLOPS * 1e12)


def training_cost_usd(n_gpus: float, hours: float, usd_per_gpu_hour: float, **_) -> float:
    """Rental cost: GPUs x hours x price per GPU-hour."""
    return n_gpus * hours * usd_per_gpu_hour


def training_cost_usd_one_gpu(n_gpus: float, hours: float, usd_per_gpu_hour: float, **_) -> float:
    """Known mistake: pricing the wall-clock hours for a single GPU."""
    return hours * usd_per_gpu_hour


def decode_tokens_per_s(effective_tflops: float, n_params_b: float,
                        flops_per_param_token: float = 2, **_) -> float:
    """Compute-bound decode throughput: effective FLOP/s / (2N FLOPs per token)."""
    return effective_tflops * 1e12 / (flops_per_param_token * n_params_b * 1e9)


def decode_tokens_per_s_training_cost(effective_tflops: float, n_params_b: float, **_) -> float:
    """Known mistake: charging 6N (forward + backward) per generated token."""
    return effective_tflops * 1e12 / (6 * n_params_b * 1e9)


def _layer_params(d_model: float, d_ff: float) -> float:
    attention = 4 * d_model * d_model          # Wq, Wk, Wv, Wo
    ffn = 3 * d_model * d_ff                    # W1, Wgate, W2 of SwiGLU
    norms = 2 * d_model                         # two RMSNorm gains
    return attention + ffn + norms


def total_params(d_model: float, d_ff: float, n_layers: float, vocab: float, **_) -> float:
    """Tied embedding + n_layers x (attention + SwiGLU FFN + 2 RMSNorms), no biases."""
    return vocab * d_model + n_layers * _layer_params(d_model, d_ff)


def total_params_untied_head(d_model: float, d_ff: float, n_layers: float, vocab: float,
                             **_) -> float:
    """Known mistake: adding a separate [d, V] LM head the question does not list."""
    return total_params(d_model, d_ff, n_layers, vocab) + vocab * d_model


def total_params_no_embedding(d_model: float, d_ff: float, n_layers: float, vocab: float,
                              **_) -> float:
    """Known mistake: counting the layers only and forgetting the embedding table."""
    return n_layers * _layer_params(d_model, d_ff)


def total_params_two_ffn_matrices(d_model: float, d_ff: float, n_layers: float, vocab: float,
                                  **_) -> float:
    """Known mistake: a classic two-matrix FFN, dropping SwiGLU's gate projection."""
    return total_params(d_model, d_ff, n_layers, vocab) - n_layers * d_model * d_ff
