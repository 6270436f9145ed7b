"""Mutant of the RMSNorm exercise: a busy ghost launch. A real @triton.jit kernel runs (it
copies x into a scratch buffer), but the returned values come from plain PyTorch ops (rsqrt,
mean), none of which the task forbids."""

import torch
import triton
import triton.language as tl


@triton.jit
def _copy_kernel(x_ptr, out_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < N
    tl.store(out_ptr + row * N + cols, tl.load(x_ptr + row * N + cols, mask=mask), mask=mask)


def rmsnorm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """Deliberately rule-breaking: the kernel's work is thrown away, PyTorch computes the result."""
    x = x.contiguous()
    M, N = x.shape
    scratch = torch.empty_like(x)
    _copy_kernel[(M,)](x, scratch, N, BLOCK=triton.next_power_of_2(N))
    x32 = x.float()
    y = x32 * torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + eps) * weight.float()
    return y.to(x.dtype)
