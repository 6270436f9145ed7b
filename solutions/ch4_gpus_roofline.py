"""Chapter 4 - GPUs and the roofline: ridge point, arithmetic intensity, HBM traffic."""


def ridge_point(peak_tflops: float, bandwidth_tbs: float) -> float:
    """Ridge point I* = peak FLOP/s / HBM bytes/s, in FLOP/byte."""
    return (peak_tflops * 1e12) / (bandwidth_tbs * 1e12)


def ridge_point_inverted(peak_tflops: float, bandwidth_tbs: float) -> float:
    """Known mistake: bandwidth divided by peak compute (bytes per FLOP)."""
    return (bandwidth_tbs * 1e12) / (peak_tflops * 1e12)


def decode_intensity(batch: float, new_tokens: float, bytes_per_elem: float) -> float:
    """FLOPs 2*B*T*D*F over the weight bytes bytes_per_elem*D*F; D and F cancel."""
    return 2 * batch * new_tokens / bytes_per_elem


def prefill_intensity(batch: float, seq_len: float, d_model: float, d_ff: float,
                      bytes_per_elem: float) -> float:
    """FLOPs 2*B*T*D*F over the bytes of the weight read, bytes_per_elem*D*F."""
    flops = 2 * batch * seq_len * d_model * d_ff
    bytes_read = bytes_per_elem * d_model * d_ff
    return flops / bytes_read


def prefill_intensity_one_token(batch: float, seq_len: float, d_model: float, d_ff: float,
                                bytes_per_elem: float) -> float:
    """Known mistake: the decode intensity (one token per sequence) reused for prefill."""
    return decode_intensity(batch, 1, bytes_per_elem)


def rmsnorm_hbm_bytes(d_model: float, n_passes: float, bytes_per_elem: float) -> float:
    """Bytes read from HBM for one token: n_passes full reads of a d_model vector."""
    return n_passes * d_model * bytes_per_elem
