"""RMSNorm as a Triton kernel (exercise).

Contract of ``rmsnorm(x, weight, eps)``:
    x: contiguous 2-D tensor [M, N], float32, float16 or bfloat16.
    weight: tensor [N] with x's dtype and device.  eps: a Python float.
    Returns a NEW tensor y [M, N] with x's dtype and device (x is not modified):
        y[i, j] = x[i, j] / sqrt(mean_j(x[i, :] ** 2) + eps) * weight[j]
    All arithmetic in float32 inside the kernel: load, upcast to fp32, accumulate the
    sum of squares in fp32, and cast back to x's dtype only when storing y.
    The work must be done by a @triton.jit kernel: torch.rms_norm,
    torch.nn.functional.rms_norm, or computing y with torch ops is forbidden.

Aim for one pass over memory: one program per row, BLOCK = next power of two >= N,
masked loads/stores for the columns past N. Rows too wide for one block need a loop.
"""

import torch
import triton
import triton.language as tl


@triton.jit
def _rmsnorm_kernel(x_ptr, w_ptr, y_ptr, stride_x, stride_y, N, eps, BLOCK: tl.constexpr):
    # TODO: row = tl.program_id(0); point at the start of row `row` in x and in y
    #       (use stride_x / stride_y).
    # TODO: load the row (and weight) with a mask for cols >= N, upcast to float32.
    # TODO: rstd = 1 / sqrt(sum(x * x) / N + eps)   (divide by N, not by BLOCK!)
    # TODO: store (x * rstd * w) cast to y's dtype (y_ptr.dtype.element_ty), masked.
    pass


def rmsnorm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """y = x / sqrt(mean(x**2 over the last dim) + eps) * weight, computed in fp32."""
    M, N = x.shape
    y = torch.empty_like(x)
    BLOCK = triton.next_power_of_2(N)
    _rmsnorm_kernel[(M,)](x, weight, y, x.stride(0), y.stride(0), N, eps, BLOCK=BLOCK)
    # TODO: once _rmsnorm_kernel works, delete the raise below and return y.
    raise NotImplementedError("rmsnorm: implement _rmsnorm_kernel, then return y")
