"""Volumetric layers (video, scans): Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d, AdaptiveAvgPool3d, BatchNorm3d, InstanceNorm3d,
Dropout3d, on (N, C, D, H, W) or unbatched (C, D, H, W) inputs.

A 3-D window is a stack of 2-D windows, one per depth tap, so each op is its 2-D form applied to depth slices
and combined over the taps (the 2-D kernels are the fast ones; autograd chains the rest):

    conv:  z[n, o, t] = b[o] + Σ_{i<k_d} conv2d(a_prev[n, :, s_d·t + d_d·i − p_d], W[o, :, i])
           ∂L/∂W[:, :, i] and ∂L/∂a_prev come from each tap's conv2d backward, summed where slices overlap
    max:   a[n, c, t] = max_i max_pool2d(x[n, c, s_d·t + i − p_d])   (the first maximum in (d, h, w) order, as
           PyTorch: the first depth holding it, then max_pool2d's first (h, w))
    avg:   a[n, c, t] = Σ_i avg_pool2d(x[n, c, s_d·t + i − p_d]) · |hw window| / |window|
    adaptive average: separable, the mean over a depth segment of the adaptive 2-D means

with the depth padding p_d of zeros (−∞ for max), D_out = ⌊(D + 2p_d − d_d(k_d − 1) − 1)/s_d⌋ + 1 (⌈·⌉ with
ceil_mode, as the 2-D pooling).
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import as_dtype, get_backend, get_default_dtype
from ..functions import stack
from ..tensor import Tensor
from . import init
from ._window import pair, pool_out_size
from .conv import _conv2d, _resolve_padding
from .conv_transpose import _ConvTransposeNd
from .dropout import DropoutFunction, _check_p
from .module import Module, Parameter
from .norm import _BatchNorm
from .norm_extra import _InstanceNorm
from .padding import pad
from .pooling import avg_pool2d, max_pool2d

__all__ = [
    "Conv3d", "ConvTranspose3d", "conv_transpose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "BatchNorm3d", "InstanceNorm3d", "Dropout3d",
    "conv3d", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "dropout3d",
]


def _batched(where: str, input: Tensor) -> tuple:  # noqa: A002
    """(N, C, D, H, W) and whether the input was unbatched (C, D, H, W)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (4, 5):
        raise RuntimeError(f"{where}: expected a 5-D input (N, C, D, H, W) or 4-D (C, D, H, W), got shape "
                           f"{tuple(input.shape)}")
    return (input, False) if input.ndim == 5 else (input.unsqueeze(0), True)


def _slab(x: Tensor, start: int, count: int, step: int) -> Tensor:
    """Depth slices start, start + step, … (count of them) of (N, C, D, H, W) as a batch (N·count, C, H, W)."""
    N, C, _, H, W = x.shape
    part = x[:, :, start : start + step * (count - 1) + 1 : step]
    return part.transpose(1, 2).reshape(N * count, C, H, W)


def _unslab(y: Tensor, N: int, count: int) -> Tensor:
    """(N·count, C, H, W) back to (N, C, count, H, W)."""
    return y.reshape((N, count) + tuple(y.shape[1:])).transpose(1, 2)


# ---- convolution --------------------------------------------------------------------------------------------------
def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,  # noqa: A002
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """3-D convolution of (N, C, D, H, W) with weight (O, C/groups, k_d, k_h, k_w); see the module docstring."""
    x, unbatched = _batched("conv3d", input)
    stride, dilation = pair(stride, "stride", 3), pair(dilation, "dilation", 3)
    kernel = tuple(weight.shape[2:])
    if weight.ndim != 5:
        raise RuntimeError(f"conv3d: expected a 5-D weight (O, C/groups, k_d, k_h, k_w), got shape "
                           f"{tuple(weight.shape)}")
    pads = _resolve_padding(padding, kernel, dilation, stride, 3)  # (front, back, top, bottom, left, right)
    N, C, D = x.shape[:3]
    if C != weight.shape[1] * groups:
        raise RuntimeError(f"conv3d: input has {C} channels (input shape {tuple(input.shape)}), expected "
                           f"{weight.shape[1] * groups} (weight shape {tuple(weight.shape)}, groups={groups})")
    front, back = pads[0], pads[1]
    if front or back:
        x = pad(x, (0, 0, 0, 0, front, back))
    kd, sd, dd = kernel[0], stride[0], dilation[0]
    Do = (D + front + back - dd * (kd - 1) - 1) // sd + 1
    if Do <= 0:
        raise RuntimeError(f"conv3d: the padded depth {D + front + back} is smaller than the dilated kernel "
                           f"{dd * (kd - 1) + 1} (input shape {tuple(input.shape)}, weight {tuple(weight.shape)})")
    out = None
    for i in range(kd):  # z = Σ over depth taps of a 2-D convolution of the slices that tap reads
        y = _conv2d(_slab(x, i * dd, Do, sd), weight[:, :, i], None, stride[1:], pads[2:], dilation[1:], groups,
                    "conv3d")
        out = y if out is None else out + y
    out = _unslab(out, N, Do)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out[0] if unbatched else out


class Conv3d(Module):
    """3-D convolution over (N, C, D, H, W), as ``torch.nn.Conv3d``: weight (O, C/groups, k_d, k_h, k_w), bias (O,),
    PyTorch's initialisation U(±1/√fan_in); see the module docstring for the formula."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "groups" else 0):
                raise ValueError(f"Conv3d: {name} must be a {'positive' if name == 'groups' else 'non-negative'} "
                                 f"int, got {value!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv3d: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                             f"divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f"Conv3d: padding_mode {padding_mode!r} is not supported yet (only 'zeros')")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size", 3)
        self.stride, self.dilation = pair(stride, "stride", 3), pair(dilation, "dilation", 3)
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding", 3)
        self.padding_mode = padding_mode
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        xp = get_backend(device).xp
        self.weight = Parameter(xp.empty((out_channels, in_channels // groups) + self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(xp.empty((out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return conv3d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0, 0):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1, 1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def get_config(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
                "dilation": list(self.dilation), "groups": self.groups, "bias": self.bias is not None}


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """Transposed 3-D convolution of (N, C_in, D, H, W) with weight (C_in, C_out/groups, k_d, k_h, k_w).

    Each depth tap i spreads input depth t to output depth s_d·t + d_d·i − p_d, so the output is
    Σ_i (conv_transpose2d of every input slice with W[:, :, i]) placed s_d apart from offset d_d·i − p_d:
    D_out = (D − 1)s_d − 2p_d + d_d(k_d − 1) + output_padding_d + 1.
    """
    from .conv_transpose import conv_transpose2d

    x, unbatched = _batched("conv_transpose3d", input)
    if weight.ndim != 5:
        raise RuntimeError(f"conv_transpose3d: expected a 5-D weight (C_in, C_out/groups, k_d, k_h, k_w), got shape "
                           f"{tuple(weight.shape)}")
    stride, padding, dilation = pair(stride, "stride", 3), pair(padding, "padding", 3), pair(dilation, "dilation", 3)
    output_padding = pair(output_padding, "output_padding", 3)
    N, C, D = x.shape[:3]
    if C != weight.shape[0]:
        raise RuntimeError(f"conv_transpose3d: expected input with {weight.shape[0]} channels (weight "
                           f"{tuple(weight.shape)}), got {C} (input shape {tuple(input.shape)})")
    kd, sd, pd, dd = weight.shape[2], stride[0], padding[0], dilation[0]
    spread = (D - 1) * sd + 1  # input depths s_d apart
    full = spread + dd * (kd - 1) + output_padding[0]
    Do = full - 2 * pd
    if Do <= 0:
        raise RuntimeError(f"conv_transpose3d: the output depth {Do} is not positive (input shape "
                           f"{tuple(input.shape)}, weight {tuple(weight.shape)}, padding {padding})")
    slab = x.transpose(1, 2).reshape((N * D, C) + tuple(x.shape[3:]))
    out = None
    for i in range(kd):
        y = conv_transpose2d(slab, weight[:, :, i], None, stride[1:], padding[1:], output_padding[1:], groups,
                             dilation[1:])
        y = y.reshape((N, D) + tuple(y.shape[1:])).transpose(1, 2)  # (N, C_out, D, H_out, W_out)
        if sd > 1:  # s_d − 1 zero slices between input depths
            y = stack([y] + [y * 0] * (sd - 1), 3).reshape(y.shape[:2] + (D * sd,) + tuple(y.shape[3:]))
            y = y[:, :, :spread]
        front = dd * i - pd  # where this tap's first slice lands in the cropped output (negative: cropped)
        y = pad(y, (0, 0, 0, 0, front, Do - front - spread))
        out = y if out is None else out + y
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out[0] if unbatched else out


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution, as ``torch.nn.ConvTranspose3d``: weight (C_in, C_out/groups, k_d, k_h, k_w),
    bias (C_out,), PyTorch's initialisation (the arguments, checks, repr and config of ConvTranspose2d); see
    :func:`conv_transpose3d` for the formula."""

    _n = 3

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                self.groups, self.dilation)


# ---- pooling ------------------------------------------------------------------------------------------------------
def _depth_geometry(D: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> tuple:
    """D_out and the depth padding (front, back) the windows reach."""
    Do = pool_out_size(D, padding, kernel, dilation, stride, ceil_mode)
    back = max(padding, stride * (Do - 1) + dilation * (kernel - 1) + 1 - D - padding)
    return Do, padding, back


def _pool_args(kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1) -> tuple:
    kernel = pair(kernel_size, "kernel_size", 3)
    stride = kernel if stride is None or stride == [] else pair(stride, "stride", 3)
    return kernel, stride, pair(padding, "padding", 3), pair(dilation, "dilation", 3)


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,  # noqa: A002
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """Max over each k_d × k_h × k_w window of (N, C, D, H, W); see the module docstring.

    With ``return_indices`` also each maximum's position d·H·W + h·W + w in its (n, c) volume (for max_unpool3d):
    the winning depth tap's depth beside max_pool2d's (h, w) index.
    """
    x, unbatched = _batched("max_pool3d", input)
    kernel, stride, padding, dilation = _pool_args(kernel_size, stride, padding, dilation)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise RuntimeError(f"max_pool3d: pad should be at most half of effective kernel size, but got pad="
                           f"{padding} and kernel_size={kernel}")
    N, _, D, H, W = x.shape
    Do, front, back = _depth_geometry(D, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    if front or back:
        x = pad(x, (0, 0, 0, 0, front, back), value=float("-inf"))
    taps = [max_pool2d(_slab(x, i * dilation[0], Do, stride[0]), kernel[1:], stride[1:], padding[1:], dilation[1:],
                       ceil_mode, return_indices) for i in range(kernel[0])]
    values = [t[0] for t in taps] if return_indices else taps
    # the first depth holding the maximum gets the gradient (max over dim 0 routes it to its index), as PyTorch
    if len(values) == 1:
        pooled, tap = values[0], None
    else:
        best = stack(values, 0).max(0)
        pooled, tap = best.values, best.indices
    out = _unslab(pooled, N, Do)
    if not return_indices:
        return out[0] if unbatched else out
    xp = get_backend(out.device).xp
    planes = xp.stack([t[1].array for t in taps])  # (k_d, N·D_out, C, H_out, W_out): each tap's (h, w) index
    chosen = xp.zeros(planes.shape[1:], dtype="int64") if tap is None else tap.array
    hw = xp.take_along_axis(planes, chosen[None], 0)[0]
    depth = (xp.arange(Do) * stride[0] - front).reshape(1, 1, Do, 1, 1)  # the window's first depth, per t
    depth = depth + dilation[0] * _unslab(Tensor._wrap(chosen), N, Do).array
    where = Tensor._wrap(depth * (H * W) + _unslab(Tensor._wrap(hw), N, Do).array)
    return (out[0], where[0]) if unbatched else (out, where)


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over each k_d × k_h × k_w window of (N, C, D, H, W); the divisor as PyTorch's (see avg_pool2d)."""
    x, unbatched = _batched("avg_pool3d", input)
    kernel, stride, padding, _ = _pool_args(kernel_size, stride, padding)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise RuntimeError(f"avg_pool3d: pad should be at most half of effective kernel size, but got pad="
                           f"{padding} and kernel_size={kernel}")
    N, _, D = x.shape[:3]
    Do, front, back = _depth_geometry(D, kernel[0], stride[0], padding[0], 1, ceil_mode)
    if front or back:
        x = pad(x, (0, 0, 0, 0, front, back))
    total = None
    for i in range(kernel[0]):  # Σ over depth taps of the 2-D window sums
        part = avg_pool2d(_slab(x, i, Do, stride[0]), kernel[1:], stride[1:], padding[1:], ceil_mode,
                          count_include_pad, divisor_override=1)
        total = part if total is None else total + part
    out = _unslab(total, N, Do)
    xp = get_backend(out.device).xp
    if divisor_override:
        divisor = Tensor._wrap(xp.asarray(float(divisor_override), dtype=out.array.dtype))
    else:
        divisor = Tensor._wrap(_avg_divisor3d(xp, x.shape, D, out.shape[2:], kernel, stride, padding, ceil_mode,
                                              count_include_pad, out.array.dtype))
    out = out / divisor
    return out[0] if unbatched else out


def _avg_divisor3d(xp: Any, padded_shape: tuple, D: int, out: tuple, kernel: tuple, stride: tuple, padding: tuple,
                   ceil_mode: bool, count_include_pad: bool, dtype: Any) -> Any:
    """|window| per output position (D_out, H_out, W_out), PyTorch's rule (padding counted with
    count_include_pad, never what a ceil-mode window reaches past it)."""
    sizes = (D,) + tuple(padded_shape[3:])
    counts = []
    for axis in range(3):
        start = xp.arange(out[axis]) * stride[axis] - padding[axis]
        end = xp.minimum(start + kernel[axis], sizes[axis] + padding[axis])
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, sizes[axis])
        counts.append(end - start)
    return (counts[0][:, None, None] * counts[1][None, :, None] * counts[2][None, None, :]).astype(dtype)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Average pooling to a fixed (D_out, H_out, W_out) (None keeps a size): separable, depth after height/width."""
    from .one_d import adaptive_avg_pool1d
    from .pooling import adaptive_avg_pool2d

    x, unbatched = _batched("adaptive_avg_pool3d", input)
    size = output_size if isinstance(output_size, tuple | list) else (output_size,) * 3
    if len(size) != 3:
        raise ValueError(f"adaptive_avg_pool3d: output_size must be an int or 3 ints, got {output_size!r}")
    N, C, D, H, W = x.shape
    Do, Ho, Wo = (s if s is not None else full for s, full in zip(size, (D, H, W)))
    planes = adaptive_avg_pool2d(x.reshape(N, C * D, H, W), (Ho, Wo))  # (N, C·D, H_out, W_out)
    rows = planes.reshape(N, C, D, Ho * Wo).transpose(2, 3).reshape(N, C * Ho * Wo, D)
    out = adaptive_avg_pool1d(rows, Do).reshape(N, C, Ho, Wo, Do).permute(0, 1, 4, 2, 3)
    return out[0] if unbatched else out


class _Pool3d(Module):
    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool3d(_Pool3d):
    """Max pooling over (N, C, D, H, W) windows, as ``torch.nn.MaxPool3d``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        self.return_indices = bool(return_indices)

    def forward(self, input: Tensor) -> Any:  # noqa: A002
        return max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                          self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

    def get_config(self) -> dict:
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
                "dilation": self.dilation, "ceil_mode": self.ceil_mode, "return_indices": self.return_indices}


class AvgPool3d(_Pool3d):
    """Average pooling over (N, C, D, H, W) windows, as ``torch.nn.AvgPool3d``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                          self.divisor_override)

    def get_config(self) -> dict:
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
                "ceil_mode": self.ceil_mode, "count_include_pad": self.count_include_pad,
                "divisor_override": self.divisor_override}


class AdaptiveAvgPool3d(Module):
    """Average pooling to a fixed output size (D_out, H_out, W_out), as ``torch.nn.AdaptiveAvgPool3d``."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return adaptive_avg_pool3d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def get_config(self) -> dict:
        return {"output_size": list(self.output_size) if isinstance(self.output_size, tuple) else self.output_size}


# ---- normalisation and dropout -------------------------------------------------------------------------------------
class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W): statistics of channel c over the batch and every voxel (see
    :class:`BatchNorm1d` for the formulas, arguments and buffers)."""

    _dims = (5,)


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or (C, D, H, W): per sample and channel, over the voxels."""

    _batched_ndim = 5


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W): whole channels zeroed with probability p, the rest
    scaled by 1/(1 − p); ∂L/∂x = ∂L/∂a ⊙ m / (1 − p) with one draw m per channel."""
    _check_p(p)
    if input.ndim not in (4, 5):
        raise RuntimeError(f"dropout3d: expected a 5-D input (N, C, D, H, W) or 4-D (C, D, H, W), got shape "
                           f"{tuple(input.shape)}")
    if not training or p == 0:
        return input
    lead = 2 if input.ndim == 5 else 1
    return DropoutFunction.apply(input, p=p, mask_shape=tuple(input.shape[:lead]) + (1,) * (input.ndim - lead))


class Dropout3d(Module):
    """Zeroes whole channels of volumes with probability ``p`` in training (see :func:`dropout3d`)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        _check_p(p)
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return dropout3d(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

    def get_config(self) -> dict:
        return {"p": self.p, "inplace": self.inplace}
