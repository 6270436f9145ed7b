"""Fused causal attention forward, FlashAttention-style, as a Triton kernel (exercise).

Contract of ``attention(q, k, v)``:
    q, k, v: tensors [B, H, S, D] of the same dtype (float16 or bfloat16; float32 is
    accepted too) and device. Returns a NEW tensor o [B, H, S, D] with q's dtype and
    device (the inputs are not modified), for every batch b and head h:
        scores = q[b, h] @ k[b, h].T / sqrt(D)         # [S, S]
        scores[i, j] = -inf where j > i                # causal: no peeking at later tokens
        o[b, h] = softmax(scores, over j) @ v[b, h]
    The scale is 1/sqrt(D) of the real head dimension D, not of a padded block.
    Any sizes must work, odd ones such as S = 1, 37 or 129 and D = 40 included, and
    logits far beyond exp's range (inputs scaled up) must not overflow.
    The S x S scores must never be written to memory: the work must be done by a
    @triton.jit kernel, and torch's scaled_dot_product_attention, softmax, matmul,
    bmm, einsum and ``@`` are forbidden (tl.dot inside the kernel is what to use).

The online softmax: one program owns BLOCK_M query rows of one (b, h) and loops over
BLOCK_N-wide blocks of keys and values, only up to the causal limit. Per row it keeps
m (the largest logit seen so far), l (the sum of exp(logit - m)) and acc (the sum of
exp(logit - m) * v, float32, [BLOCK_M, BLOCK_D]). When a new block raises m to m_new,
everything summed so far was weighted against the old m: multiply both l and acc by
exp(m - m_new) before adding the new block. At the end o = acc / l.
Pad the head dimension to BLOCK_D = next power of two >= D (at least 16, tl.dot's
minimum) and mask the loads and the store; mask keys past S as well as keys j > i.
On an H100, BLOCK_M = 128, BLOCK_N = 64, num_warps = 4 to 8 and num_stages = 2 or 3
are a good start. Under TRITON_INTERPRET=1, bfloat16 tl.dot is unreliable: upcast the
tiles to float32 there (tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="ieee")).
"""

import math

import torch
import triton
import triton.language as tl

BLOCK_M, BLOCK_N = 64, 32


@triton.jit
def _attention_kernel(q_ptr, k_ptr, v_ptr, o_ptr, H, S, D, sm_scale,
                      stride_qb, stride_qh, stride_qs, stride_qd,
                      stride_kb, stride_kh, stride_ks, stride_kd,
                      stride_vb, stride_vh, stride_vs, stride_vd,
                      stride_ob, stride_oh, stride_os, stride_od,
                      BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    # TODO: pid_m = tl.program_id(0) (a block of query rows), pid_bh = tl.program_id(1);
    #       b, h = pid_bh // H, pid_bh % H; move q_ptr, k_ptr, v_ptr, o_ptr to that head.
    # TODO: load the [BLOCK_M, BLOCK_D] q tile, masked for rows >= S and columns >= D.
    # TODO: m = -inf, l = 0 ([BLOCK_M], float32); acc = 0 ([BLOCK_M, BLOCK_D], float32).
    # TODO: for each key block start in range(0, min((pid_m + 1) * BLOCK_M, S), BLOCK_N):
    #       load k (as a [BLOCK_D, BLOCK_N] tile, i.e. k transposed) and v, masked;
    #       s = tl.dot(q, k) * sm_scale; set s to -inf where key > query row or key >= S;
    #       m_new = max(m, max of s over the block); p = exp(s - m_new);
    #       alpha = exp(m - m_new); l = l * alpha + sum(p); acc = acc * alpha + tl.dot(p, v);
    #       m = m_new.
    # TODO: store acc / l cast to o's dtype (o_ptr.dtype.element_ty), masked to S x D.
    pass


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal softmax(q k^T / sqrt(D)) v with float32 softmax and accumulator, o in q's dtype."""
    B, H, S, D = q.shape
    o = torch.empty_like(q)
    grid = (triton.cdiv(S, BLOCK_M), B * H)
    _attention_kernel[grid](q, k, v, o, H, S, D, 1.0 / math.sqrt(D),
                            *q.stride(), *k.stride(), *v.stride(), *o.stride(),
                            BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
                            BLOCK_D=max(triton.next_power_of_2(D), 16))
    # TODO: once _attention_kernel works, delete the raise below and return o.
    raise NotImplementedError("attention: implement _attention_kernel, then return o")
