"""SwiGLU's gating product, silu(a) * b, as a Triton kernel (exercise).

Contract of ``swiglu(a, b)``:
    a, b: tensors of the same shape (any shape, any number of elements, odd counts
        such as 1 or 12345 included) and the same dtype: float32, float16 or bfloat16.
    Returns a NEW tensor y with a's shape, dtype and device (a and b are unchanged):
        y = silu(a) * b,  where silu(a) = a * sigmoid(a) = a / (1 + exp(-a))
    Compute in float32 inside the kernel and cast on the store.
    The work must be done by a @triton.jit kernel: torch.nn.functional.silu,
    torch.sigmoid and friends are forbidden.

Treat the tensors as flat contiguous arrays: a 1-D grid, one program per BLOCK
elements, with a mask for the last, partial block.
"""

import torch
import triton
import triton.language as tl

BLOCK = 1024


@triton.jit
def _swiglu_kernel(a_ptr, b_ptr, y_ptr, n_elements, BLOCK: tl.constexpr):
    # TODO: offsets of this program's BLOCK elements; mask = offsets < n_elements.
    # TODO: load a and b (masked), upcast to float32.
    # TODO: y = a * sigmoid(a) * b; store it cast to y's dtype (y_ptr.dtype.element_ty).
    pass


def swiglu(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """silu(a) * b elementwise, computed in fp32."""
    a, b = a.contiguous(), b.contiguous()
    y = torch.empty_like(a)
    n = a.numel()
    _swiglu_kernel[(triton.cdiv(n, BLOCK),)](a, b, y, n, BLOCK=BLOCK)
    # TODO: once _swiglu_kernel works, delete the raise below and return y.
    raise NotImplementedError("swiglu: implement _swiglu_kernel, then return y")
