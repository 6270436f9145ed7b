"""Mutant of the softmax exercise: a ghost launch. A @triton.jit kernel is defined and launched
as kernel[grid](...), so the static check sees one, but it does nothing: the values come from
plain PyTorch ops (amax, exp, sum), copied into the tensor the kernel was handed."""

import torch
import triton
import triton.language as tl


@triton.jit
def _softmax_kernel(x_ptr, y_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0)  # noqa: F841 - a kernel that touches nothing


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Deliberately rule-breaking: the launch is for show, PyTorch computes the result."""
    M, N = x.shape
    y = torch.empty_like(x)
    _softmax_kernel[(M,)](x, y, N, BLOCK=triton.next_power_of_2(N))
    x32 = x.float()
    e = (x32 - x32.amax(dim=-1, keepdim=True)).exp()
    y.copy_(e / e.sum(dim=-1, keepdim=True))
    return y
