"""Mutant of the attention kernel: an online softmax that rescales the running sum but not
the output accumulator when a row's max grows, so earlier key blocks keep stale weights.
"""

import math
import os

import torch
import triton
import triton.language as tl

LOG2E = 1.4426950408889634  # exp(x) = exp2(x * log2(e))


@triton.jit
def _attend(acc, m_i, l_i, q, k_ptrs, v_ptrs, offs_m, offs_n, offs_d, lo, hi, S, qk_scale,
            stride_kn, stride_vn, D: tl.constexpr, MASKED: tl.constexpr, UPCAST: tl.constexpr,
            BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """Fold key/value blocks [lo, hi) into (acc, m_i, l_i); MASKED for the diagonal blocks."""
    k_ptrs += lo * stride_kn
    v_ptrs += lo * stride_vn
    d_ok = offs_d < D
    for start in range(lo, hi, BLOCK_N):
        cols = start + offs_n
        if MASKED:
            k = tl.load(k_ptrs, mask=d_ok[:, None] & (cols[None, :] < S), other=0.0)
            v = tl.load(v_ptrs, mask=(cols[:, None] < S) & d_ok[None, :], other=0.0)
        elif D == BLOCK_D:  # full tiles: unmasked (vectorised) loads
            k = tl.load(k_ptrs)
            v = tl.load(v_ptrs)
        else:
            k = tl.load(k_ptrs, mask=d_ok[:, None], other=0.0)
            v = tl.load(v_ptrs, mask=d_ok[None, :], other=0.0)
        if UPCAST:  # noqa: SIM108 -- fp32 inputs, or the interpreter (its bf16 dot is broken)
            s = tl.dot(q.to(tl.float32), k.to(tl.float32), input_precision="ieee")
        else:
            s = tl.dot(q, k)
        s = s * qk_scale                                  # log2-domain logits
        if MASKED:
            keep = (offs_m[:, None] >= cols[None, :]) & (cols[None, :] < S)
            s = tl.where(keep, s, -float("inf"))
        # every row sees key 0 in its first block, so m_new is finite from then on
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        p = tl.math.exp2(s - m_new[:, None])
        alpha = tl.math.exp2(m_i - m_new)                 # rescale what was summed so far
        l_i = l_i * alpha + tl.sum(p, axis=1)
        if UPCAST:
            acc = tl.dot(p, v.to(tl.float32), acc, input_precision="ieee")
        else:
            acc = tl.dot(p.to(v.dtype), v, acc)
        m_i = m_new
        k_ptrs += BLOCK_N * stride_kn
        v_ptrs += BLOCK_N * stride_vn
    return acc, m_i, l_i


@triton.jit
def _attention_kernel(q_ptr, k_ptr, v_ptr, o_ptr, H, S, qk_scale,
                      stride_qb, stride_qh, stride_qs, stride_qd,
                      stride_kb, stride_kh, stride_ks, stride_kd,
                      stride_vb, stride_vh, stride_vs, stride_vd,
                      stride_ob, stride_oh, stride_os, stride_od,
                      D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                      BLOCK_D: tl.constexpr, UPCAST: tl.constexpr):
    # the last query blocks have the most key blocks to visit: launch them first
    pid_m = tl.num_programs(0) - 1 - tl.program_id(0)
    pid_bh = tl.program_id(1)
    b = (pid_bh // H).to(tl.int64)
    h = (pid_bh % H).to(tl.int64)
    q_ptr += b * stride_qb + h * stride_qh
    k_ptr += b * stride_kb + h * stride_kh
    v_ptr += b * stride_vb + h * stride_vh
    o_ptr += b * stride_ob + h * stride_oh

    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    row_ok = offs_m < S
    d_ok = offs_d < D
    q = tl.load(q_ptr + offs_m[:, None] * stride_qs + offs_d[None, :] * stride_qd,
                mask=row_ok[:, None] & d_ok[None, :], other=0.0)
    k_ptrs = k_ptr + offs_d[:, None] * stride_kd + offs_n[None, :] * stride_ks   # k^T tile
    v_ptrs = v_ptr + offs_n[:, None] * stride_vs + offs_d[None, :] * stride_vd

    m_i = tl.full([BLOCK_M], -float("inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    # blocks entirely left of the diagonal (BLOCK_M is a multiple of BLOCK_N): no mask needed
    diag = pid_m * BLOCK_M
    acc, m_i, l_i = _attend(acc, m_i, l_i, q, k_ptrs, v_ptrs, offs_m, offs_n, offs_d, 0, diag, S,
                            qk_scale, stride_ks, stride_vs, D, False, UPCAST, BLOCK_N, BLOCK_D)
    # blocks on the diagonal, up to the last key any row of this block may see
    end = tl.minimum(diag + BLOCK_M, S)
    acc, m_i, l_i = _attend(acc, m_i, l_i, q, k_ptrs, v_ptrs, offs_m, offs_n, offs_d, diag, end, S,
                            qk_scale, stride_ks, stride_vs, D, True, UPCAST, BLOCK_N, BLOCK_D)

    out = acc / l_i[:, None]
    tl.store(o_ptr + offs_m[:, None] * stride_os + offs_d[None, :] * stride_od,
             out.to(o_ptr.dtype.element_ty), mask=row_ok[:, None] & d_ok[None, :])


_INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


def _config(head_dim: int) -> dict:
    if _INTERPRET:  # few, large blocks: the interpreter pays per operation, not per element
        return dict(BLOCK_M=64, BLOCK_N=32, num_warps=4, num_stages=1)
    if head_dim <= 64:
        return dict(BLOCK_M=128, BLOCK_N=64, num_warps=4, num_stages=3)
    if head_dim <= 128:
        return dict(BLOCK_M=128, BLOCK_N=64, num_warps=8, num_stages=3)
    return dict(BLOCK_M=64, BLOCK_N=32, num_warps=4, num_stages=2)   # keep K/V tiles in SMEM


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal softmax(q k^T / sqrt(D)) v for q, k, v [B, H, S, D] (fp16, bf16 or fp32);
    fp32 softmax statistics and accumulator, output in q's dtype."""
    assert q.dim() == 4 and q.shape == k.shape == v.shape
    assert q.dtype == k.dtype == v.dtype
    B, H, S, D = q.shape
    o = torch.empty_like(q, memory_format=torch.contiguous_format)
    if o.numel() == 0:
        return o
    cfg = _config(D)
    qk_scale = LOG2E / math.sqrt(D)
    grid = (triton.cdiv(S, cfg["BLOCK_M"]), B * H)
    _attention_kernel[grid](q, k, v, o, H, S, qk_scale, *q.stride(), *k.stride(), *v.stride(),
                            *o.stride(), D=D, BLOCK_D=max(triton.next_power_of_2(D), 16),
                            UPCAST=_INTERPRET or q.dtype == torch.float32, **cfg)
    return o
