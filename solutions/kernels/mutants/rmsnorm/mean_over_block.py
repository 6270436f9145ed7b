"""Mutant of the RMSNorm kernel: divides the sum of squares by BLOCK, not N
(wrong whenever N is not a power of two).
"""

import torch
import triton
import triton.language as tl

_MAX_BLOCK = 16384  # widest row kept in registers in a single pass


@triton.jit
def _rmsnorm_kernel(x_ptr, w_ptr, y_ptr, stride_x, stride_y, N, eps,
                    BLOCK: tl.constexpr, ONE_PASS: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    x_row = x_ptr + row * stride_x
    y_row = y_ptr + row * stride_y
    cols = tl.arange(0, BLOCK)
    if ONE_PASS:
        mask = cols < N
        x = tl.load(x_row + cols, mask=mask, other=0.0).to(tl.float32)
        rstd = 1.0 / tl.sqrt(tl.sum(x * x, axis=0) / BLOCK + eps)
        w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(tl.float32)
        tl.store(y_row + cols, (x * rstd * w).to(y_ptr.dtype.element_ty), mask=mask)
    else:
        acc = tl.zeros([BLOCK], dtype=tl.float32)
        for start in range(0, N, BLOCK):
            c = start + cols
            x = tl.load(x_row + c, mask=c < N, other=0.0).to(tl.float32)
            acc += x * x
        rstd = 1.0 / tl.sqrt(tl.sum(acc, axis=0) / BLOCK + eps)
        for start in range(0, N, BLOCK):
            c = start + cols
            mask = c < N
            x = tl.load(x_row + c, mask=mask, other=0.0).to(tl.float32)
            w = tl.load(w_ptr + c, mask=mask, other=0.0).to(tl.float32)
            tl.store(y_row + c, (x * rstd * w).to(y_ptr.dtype.element_ty), mask=mask)


def rmsnorm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """y = x / sqrt(mean(x**2, -1) + eps) * weight for x [M, N], weight [N]; fp32 math."""
    assert x.dim() == 2 and weight.shape == (x.shape[1],) and weight.dtype == x.dtype
    x, weight = x.contiguous(), weight.contiguous()
    M, N = x.shape
    y = torch.empty_like(x)
    if M == 0 or N == 0:
        return y
    block = triton.next_power_of_2(N)
    one_pass = block <= _MAX_BLOCK
    block = min(block, _MAX_BLOCK)
    num_warps = min(max(block // 256, 1), 16 if block >= 8192 else 8)
    _rmsnorm_kernel[(M,)](x, weight, y, x.stride(0), y.stride(0), N, float(eps),
                          BLOCK=block, ONE_PASS=one_pass, num_warps=num_warps)
    return y
