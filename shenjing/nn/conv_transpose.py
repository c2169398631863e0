"""Transposed convolution (ConvTranspose2d, ConvTranspose1d): the convolution's backward, used as a layer.

A convolution maps a large image to a smaller one; its transpose maps back, each input pixel *spreading* a copy of
the kernel, scaled by its value, onto the output (stride s apart):

    y[n, o, s_h·i + d_h·u − p, s_w·j + d_w·v − p] += Σ_c x[n, c, i, j] · W[c, o, u, v]
    H_out = (H − 1)·s_h − 2·p_h + d_h·(k_h − 1) + output_padding_h + 1

It equals an ordinary stride-1 convolution of the input *dilated* by s (s − 1 zeros between pixels) and padded by
d·(k − 1) − p, with the kernel flipped and its two channel axes swapped:

    y = conv2d(dilate_s(x) padded by d(k−1)−p, W′),     W′[o, c, u, v] = W[c, o, k_h−1−u, k_w−1−v]

but computed directly (:class:`ConvTranspose2dFunction`): the forward pass IS the convolution's input gradient
(col2im: one product X·W for every kernel offset, added at stride s, no dilated zeros: none of the s² waste), and
the backward pass is the convolution's forward and weight gradient, all by ``conv.py``'s kernels:

    ∂L/∂x[n, c, i, j] = Σ_{o,u,v} δ_p[n, o, s_h·i + d_h·u, s_w·j + d_w·v] · W[c, o, u, v]   (a strided conv2d of δ)
    ∂L/∂W[c, o, u, v] = Σ_{n,i,j} x[n, c, i, j] · δ_p[n, o, s_h·i + d_h·u, s_w·j + d_w·v]   (its weight gradient)
    ∂L/∂b[o] = Σ_{n,y,x} δ[n, o, y, x]                       (δ_p: δ zero-padded by p on each side)

The rare output_padding ≥ stride (allowed when dilation > stride) takes the dilate-then-convolve route
(:class:`DilateFunction` + conv2d).
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import as_dtype, get_backend, get_default_dtype
from ..tensor import Tensor
from . import _onednn, _winograd, init
from ._window import as_nchw, channels_last, pair
from .conv import Conv2dFunction, conv2d
from .module import Module, Parameter

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "conv_transpose1d", "conv_transpose2d", "DilateFunction",
           "ConvTranspose2dFunction"]


def _conv_node(xp: Any) -> Conv2dFunction:
    """A bare Conv2dFunction whose forward/backward are called as plain methods (not a graph node)."""
    node = Conv2dFunction.__new__(Conv2dFunction)
    node.xp = xp
    return node


class ConvTranspose2dFunction(Function):
    """y = conv_transpose2d(x, W) + b for x (N, C_in, H, W), W (C_in, C_out/g, k_h, k_w), output_padding < stride.

    Forward: y = the input gradient of the convolution conv2d(·, W, stride, padding, dilation, groups) at δ = x
    (col2im), cropped by the padding, plus b. Backward: ∂L/∂x = conv2d(∂L/∂y, W) with the same options,
    ∂L/∂W = that convolution's weight gradient at δ = x, ∂L/∂b = Σ ∂L/∂y over N, H, W (module docstring).
    """

    def forward(self, x: Any, W: Any, b: Any, stride: tuple = (1, 1), padding: tuple = (0, 0),
                dilation: tuple = (1, 1), groups: int = 1, out_hw: tuple = (1, 1)) -> Any:
        xp = self.xp
        N, Cin, H, Wi = x.shape
        Cout = W.shape[1] * groups
        (ph, pw), (Ho, Wo) = padding, out_hw
        self.x, self.W, self.has_b = x, W, b is not None
        self.options = (stride, (ph, ph, pw, pw), dilation, groups)
        plan = None  # float32 on the CPU: oneDNN's backward-data kernel of that convolution (``_onednn.py``)
        if not any(_winograd.ENABLED.values()) and W.dtype == x.dtype and (b is None or b.dtype == x.dtype):
            pads_r = tuple((n - 1) * s + d * (k - 1) + 1 - o - p for n, s, d, k, o, p in
                           zip((H, Wi), stride, dilation, W.shape[2:], (Ho, Wo), (ph, pw)))
            plan = _onednn.conv(xp, x.dtype, (N, Cout, Ho, Wo), W.shape, stride, (ph, pw), pads_r, dilation, groups,
                                False)
        if plan is not None and plan.out_shape == (N, Cin, H, Wi):
            y = as_nchw(plan.backward_data(xp, xp.ascontiguousarray(channels_last(x)), xp.ascontiguousarray(W)))
            return y if b is None else y + b[:, None, None]
        conv = _conv_node(xp)
        conv.unbatched, conv.needs_input_grad = False, (True, False, False)
        conv.x = xp.broadcast_to(xp.zeros((), dtype=x.dtype), (N, Ho + 2 * ph, Wo + 2 * pw, Cout))  # shape only
        conv.W, conv.options = W, (stride, dilation, groups)
        conv.in_shape, conv.out_hw = (N, Cout, Ho, Wo), (H, Wi)
        conv.inner = (slice(None), slice(ph, ph + Ho), slice(pw, pw + Wo)) if ph or pw else None
        y = conv.backward(x)[0]  # (N, C_out, H_out, W_out), channels-last memory (cropped by the padding)
        if b is not None:
            y = y + b[:, None, None]
        return y

    def backward(self, grad: Any) -> tuple:
        need_x, need_W, need_b = self.needs_input_grad
        grad_b = grad.sum(axis=(0, 2, 3)) if need_b and self.has_b else None
        grad_x = grad_W = None
        if need_x or need_W:
            stride, pads, dilation, groups = self.options
            conv = _conv_node(self.xp)
            conv.needs_input_grad = (False, True, False)
            z = conv.forward(grad, self.W, None, stride, pads, dilation, groups)  # (N, C_in, H, W): op < s
            grad_x = z if need_x else None
            if need_W:
                grad_W = conv.backward(self.x)[1]
        return grad_x, grad_W, grad_b


class DilateFunction(Function):
    """out[…, top + s_h·i, left + s_w·j] = x[…, i, j], zeros elsewhere; pads may be negative (crop).

    Output size per axis: (H − 1)·s + 1 + before + after. Backward: ∂L/∂x[…, i, j] = ∂L/∂out at the same places.
    """

    def forward(self, x: Any, stride: tuple = (1, 1), pads: tuple = (0, 0, 0, 0)) -> Any:
        xp = self.xp
        self.in_shape = x.shape
        H, W = x.shape[-2:]
        (sh, sw), (top, bottom, left, right) = stride, pads
        Ho, Wo = (H - 1) * sh + 1 + top + bottom, (W - 1) * sw + 1 + left + right
        if Ho <= 0 or Wo <= 0:
            raise RuntimeError(f"conv_transpose: the output would have size ({Ho}, {Wo}); the padding is too large "
                               f"for an input of {(H, W)}")
        self.where = (self._axis(H, sh, top, Ho), self._axis(W, sw, left, Wo))
        (i0, i1, o0), (j0, j1, q0) = self.where
        out = xp.zeros(x.shape[:-2] + (Ho, Wo), dtype=x.dtype)
        if i1 > i0 and j1 > j0:
            out[..., o0 : o0 + (i1 - i0 - 1) * sh + 1 : sh, q0 : q0 + (j1 - j0 - 1) * sw + 1 : sw] = x[..., i0:i1, j0:j1]
        self.stride = stride
        return out

    @staticmethod
    def _axis(n: int, s: int, before: int, size: int) -> tuple:
        """(first, last + 1) input index that lands inside the output, and where the first one lands."""
        first = max(0, math.ceil(-before / s))
        last = min(n, (size - 1 - before) // s + 1)
        return first, max(first, last), before + first * s

    def backward(self, grad: Any) -> Any:
        (i0, i1, o0), (j0, j1, q0) = self.where
        sh, sw = self.stride
        out = self.xp.zeros(self.in_shape, dtype=grad.dtype)
        if i1 > i0 and j1 > j0:
            out[..., i0:i1, j0:j1] = grad[..., o0 : o0 + (i1 - i0 - 1) * sh + 1 : sh, q0 : q0 + (j1 - j0 - 1) * sw + 1 : sw]
        return out


def _flipped_weight(weight: Tensor, groups: int) -> Tensor:
    """W (C_in, C_out/g, k_h, k_w) → W′ (C_out, C_in/g, k_h, k_w), kernel flipped: the equivalent conv2d weight."""
    Cin, Cout_g, kh, kw = weight.shape
    g = groups
    w = weight.reshape(g, Cin // g, Cout_g, kh, kw).permute(0, 2, 1, 3, 4)  # (g, C_out/g, C_in/g, k_h, k_w)
    return w.reshape(g * Cout_g, Cin // g, kh, kw).flip(2, 3)


def _output_padding(where: str, input_hw: tuple, output_size: Any, stride: tuple, padding: tuple, kernel: tuple,
                    dilation: tuple, output_padding: tuple) -> tuple:
    if output_size is None:
        return output_padding
    size = list(output_size)[-len(input_hw):]
    result = []
    for n, want, s, p, k, d in zip(input_hw, size, stride, padding, kernel, dilation):
        smallest = (n - 1) * s - 2 * p + d * (k - 1) + 1
        if not smallest <= int(want) < smallest + s:
            raise ValueError(f"{where}: requested an output size of {list(size)}, but valid sizes range from "
                             f"{smallest} to {smallest + s - 1} (for an input of {list(input_hw)})")
        result.append(int(want) - smallest)
    return tuple(result)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1,
                     output_size: Any = None, where: str = "conv_transpose2d") -> Tensor:
    """Transposed 2-D convolution of (N, C_in, H, W) with weight (C_in, C_out/groups, k_h, k_w), as PyTorch."""
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(f"{where}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got {shape}")
    stride, padding, dilation = pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
    output_padding = pair(output_padding, "output_padding")
    kernel = tuple(weight.shape[2:])
    C = input.shape[-3]
    if C != weight.shape[0]:
        raise RuntimeError(f"{where}: expected input with {weight.shape[0]} channels (weight {tuple(weight.shape)}), "
                           f"got {C} channels (input shape {tuple(input.shape)})")
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"{where}: output padding must be smaller than either stride or dilation, got "
                           f"output_padding={output_padding}, stride={stride}, dilation={dilation}")
    output_padding = _output_padding(where, tuple(input.shape[-2:]), output_size, stride, padding, kernel, dilation,
                                     output_padding)
    if input.ndim == 3:
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation,
                                None if output_size is None else list(output_size)[-2:], where).squeeze(0)
    if all(op < s for op, s in zip(output_padding, stride)):
        out_hw = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1
                       for n, s, p, d, k, op in zip(input.shape[-2:], stride, padding, dilation, kernel, output_padding))
        if min(out_hw) <= 0:
            raise RuntimeError(f"{where}: the output would have size {out_hw}; the padding {padding} is too large "
                               f"for an input of {tuple(input.shape[-2:])}")
        return ConvTranspose2dFunction.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation,
                                             groups=groups, out_hw=out_hw)
    edge = [d * (k - 1) - p for d, k, p in zip(dilation, kernel, padding)]
    pads = (edge[0], edge[0] + output_padding[0], edge[1], edge[1] + output_padding[1])
    dilated = DilateFunction.apply(input, stride=stride, pads=pads)
    return conv2d(dilated, _flipped_weight(weight, groups), bias, 1, 0, dilation, groups)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1,
                     output_size: Any = None) -> Tensor:
    """Transposed 1-D convolution of (N, C_in, L) with weight (C_in, C_out/groups, k): a unit-height 2-D one."""
    def unit_height(value: Any, name: str, height: int) -> tuple:  # (height-axis value, the 1-D value)
        return height, pair(value, name, 1)[0]

    size = None if output_size is None else (1, list(output_size)[-1])
    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, unit_height(stride, "stride", 1),
                           unit_height(padding, "padding", 0), unit_height(output_padding, "output_padding", 0),
                           groups, unit_height(dilation, "dilation", 1), size, where="conv_transpose1d")
    return out.squeeze(-2)


class _ConvTransposeNd(Module):
    _n = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        name, n = type(self).__name__, self._n
        for key, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name}: {key} must be a positive int, got {value!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                             f"divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple, not {padding!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size", n)
        self.stride, self.padding = pair(stride, "stride", n), pair(padding, "padding", n)
        self.output_padding, self.dilation = pair(output_padding, "output_padding", n), pair(dilation, "dilation", n)
        if any(v < 0 for v in self.padding + self.output_padding) or any(v <= 0 for v in self.stride + self.dilation
                                                                          + self.kernel_size):
            raise ValueError(f"{name}: sizes must be positive and paddings non-negative, got kernel_size="
                             f"{self.kernel_size}, stride={self.stride}, padding={self.padding}, dilation="
                             f"{self.dilation}, output_padding={self.output_padding}")
        self.padding_mode = padding_mode
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        xp = get_backend(device).xp
        self.weight = Parameter(xp.empty((in_channels, out_channels // groups) + self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(xp.empty((out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # fan_in = C_out/g · k_h · k_w (weight dim 1), as PyTorch
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        for key, default in (("padding", 0), ("output_padding", 0), ("dilation", 1)):
            if getattr(self, key) != (default,) * self._n:
                s += f", {key}={getattr(self, key)}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def get_config(self) -> dict:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": list(self.padding),
                "output_padding": list(self.output_padding), "groups": self.groups, "bias": self.bias is not None,
                "dilation": list(self.dilation)}


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution, as ``torch.nn.ConvTranspose2d`` (weight (C_in, C_out/groups, k_h, k_w)).

    forward(input, output_size=None): ``output_size`` picks among the sizes a stride > 1 allows.
    Shape: (N, C_in, H, W) → (N, C_out, (H − 1)·s − 2p + d·(k − 1) + output_padding + 1, …). Formulas in the
    module docstring.
    """

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:  # noqa: A002
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                self.groups, self.dilation, output_size, where=repr(self))


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution, as ``torch.nn.ConvTranspose1d`` (weight (C_in, C_out/groups, k))."""

    _n = 1

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:  # noqa: A002
        return conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                self.groups, self.dilation, output_size)
