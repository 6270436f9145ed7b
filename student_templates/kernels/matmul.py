"""Tiled matrix multiply as a Triton kernel (exercise).

Contract of ``matmul(a, b)``:
    a: [M, K], b: [K, N], both float16 or both bfloat16 (float32 is accepted too).
    Returns a NEW tensor c [M, N] with a's dtype and device, c = a @ b, accumulated
    in float32: tl.dot into a float32 accumulator, cast to c's dtype only on the store
    (for float32 inputs pass input_precision="ieee" to tl.dot, so no TF32 is used).
    Any sizes must work, odd ones such as 1, 7, 33, 129, 257 included: mask the M and
    N edges AND the K tail (K need not be a multiple of BLOCK_K).
    The work must be done by a @triton.jit kernel: torch.matmul, torch.mm, ``@``,
    torch.einsum and torch.nn.functional.linear are forbidden.

Each program computes one BLOCK_M x BLOCK_N tile of c, looping over K in BLOCK_K
steps. On an H100, tiles of 128 x 128 (or 256) x 64 with num_warps=8 and
num_stages=3 or 4 are a good start; under TRITON_INTERPRET=1 smaller ones run faster.
"""

import torch
import triton
import triton.language as tl

BLOCK_M, BLOCK_N, BLOCK_K = 64, 64, 32


@triton.jit
def _matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K,
                   stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
                   BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    # TODO: map tl.program_id(0) to a tile (pid_m, pid_n) of c.
    # TODO: acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    # TODO: for each BLOCK_K step: load the a and b tiles with masks for the M/N edges
    #       and for the K tail (other=0.0), then acc = tl.dot(a, b, acc).
    # TODO: store acc cast to c's dtype (c_ptr.dtype.element_ty), masked to M x N.
    pass


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """c = a @ b with float32 accumulation, c in a's dtype."""
    M, K = a.shape
    N = b.shape[1]
    c = torch.empty((M, N), dtype=a.dtype, device=a.device)
    grid = (triton.cdiv(M, BLOCK_M), triton.cdiv(N, BLOCK_N))
    _matmul_kernel[grid](a, b, c, M, N, K, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
                         c.stride(0), c.stride(1), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, BLOCK_K=BLOCK_K)
    # TODO: once _matmul_kernel works, delete the raise below and return c.
    raise NotImplementedError("matmul: implement _matmul_kernel, then return c")
