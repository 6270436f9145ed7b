"""Mutant of the SwiGLU kernel: a 1% systematic error, silu(a) * b * 1.01 (say a
misremembered constant). Everything else is the reference solution, fp32 math included.
"""

import torch
import triton
import triton.language as tl

_BLOCK = 1024


@triton.jit
def _swiglu_kernel(a_ptr, b_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    a = tl.load(a_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    b = tl.load(b_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    y = a / (1.0 + tl.exp(-a)) * b * 1.01
    tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=mask)


def swiglu(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """silu(a) * b elementwise (silu(a) = a * sigmoid(a)); fp32 math, output in a's dtype."""
    assert a.shape == b.shape and a.dtype == b.dtype
    a, b = a.contiguous(), b.contiguous()
    y = torch.empty_like(a)
    n = a.numel()
    if n:
        _swiglu_kernel[(triton.cdiv(n, _BLOCK),)](a, b, y, n, BLOCK=_BLOCK, num_warps=4)
    return y
