"""Pooling layers (MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, MaxPool1d): a loop over the k_h·k_w window offsets.

Window (y, x) covers input pixels (s_h·y + d_h·i − p_h, s_w·x + d_w·j − p_w) for offsets i < k_h, j < k_w, and

    H_out = ⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1      (⌈·⌉ with ceil_mode; a last window starting in the right
                                                     padding is dropped, as PyTorch)

For one offset (i, j) those pixels over all windows form one strided block of the (padded) input, so pooling is
k_h·k_w element-wise passes over (N, H_out, W_out, C) blocks — never a loop over pixels — on the channels-last
view of the input (see ``_window.py``). Float32 max pooling on the CPU runs oneDNN's kernel instead, the same
rule on both cores (``_onednn.py``; 0.5 ms against 3.9 ms forward and backward for the textbook CNN's pooling).

    max:  a = max over the window;    ∂L/∂x = ∂L/∂a at the window's first maximum (row-major), 0 elsewhere
    avg:  a = (1/|window|) Σ window;  ∂L/∂x = Σ over the windows containing x of ∂L/∂a / |window|
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from . import _onednn
from ._window import as_nchw, channels_last, offset_slices, pad_channels_last, pair, pool_out_size, zeros
from .module import Module

__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "max_pool1d",
    "max_pool2d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "MaxPool2dFunction",
    "AvgPool2dFunction",
    "AdaptiveAvgPool2dFunction",
]


def _geometry(shape: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, ceil_mode: bool) -> tuple:
    """Output size (H_out, W_out), the padded size the windows reach (H_p, W_p), and whether windows tile exactly."""
    H, W = shape[-2:]
    Ho = pool_out_size(H, padding[0], kernel[0], dilation[0], stride[0], ceil_mode)
    Wo = pool_out_size(W, padding[1], kernel[1], dilation[1], stride[1], ceil_mode)
    Hp = max(H + 2 * padding[0], stride[0] * (Ho - 1) + dilation[0] * (kernel[0] - 1) + 1)
    Wp = max(W + 2 * padding[1], stride[1] * (Wo - 1) + dilation[1] * (kernel[1] - 1) + 1)
    exact = not any(padding) and dilation == (1, 1) and stride == kernel and (Ho * kernel[0], Wo * kernel[1]) == (H, W)
    return (Ho, Wo), (Hp, Wp), exact


def _padded_input(xp: Any, x: Any, padding: tuple, padded_size: tuple, value: float) -> tuple:
    """The channels-last input, padded with ``value`` up to ``padded_size`` when windows reach past it."""
    xc = channels_last(x)
    if padded_size == xc.shape[1:3]:
        return xc, None
    return pad_channels_last(xp, xc, (padding[0], 0, padding[1], 0), padded_size, value)


class MaxPool2dFunction(Function):
    """a[n, c, y, x] = max over the window;  ∂L/∂x: ∂L/∂a routed to the first maximum of each window.

    NOTE: ties go to the first maximum in row-major window order and NaN wins (the window's last NaN), as in
    PyTorch's CPU kernel; so after a ReLU, where whole windows are 0, the gradient lands on one pixel, not on
    every tied one.
    """

    def forward(
        self,
        x: Any,
        kernel: tuple = (2, 2),
        stride: tuple = (2, 2),
        padding: tuple = (0, 0),
        dilation: tuple = (1, 1),
        ceil_mode: bool = False,
        with_indices: bool = True,
        positions: Any = None,
    ) -> Any:
        xp = self.xp
        self.unbatched = x.ndim == 3
        if self.unbatched:
            x = x[None]
        out, padded_size, self.exact = _geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
        self.dnnl = None
        if positions is None:  # float32 on the CPU: oneDNN's kernel, both cores (``_onednn.max_pool`` says when)
            self.dnnl = _onednn.max_pool(xp, x, kernel, stride, padding, dilation, out)
        if self.dnnl is not None:
            a = self.dnnl[0]
            return a[0] if self.unbatched else a
        xc, self.inner = _padded_input(xp, x, padding, padded_size, float("-inf"))
        slices = offset_slices(kernel, dilation, stride, out)
        if len(slices) == 4 and with_indices:  # 2 × 2 windows, the common case: a knock-out tournament
            a, first = _max_and_first_of_four(xp, [xc[where] for where in slices])
        else:
            a = xc[slices[0]].copy()  # (N, H_out, W_out, C)
            for where in slices[1:]:
                xp.maximum(a, xc[where], out=a)  # NOTE: maximum propagates NaN, as PyTorch's max pooling
        if with_indices:
            if len(slices) != 4:
                # the first offset holding the maximum: scan backwards, earlier offsets overwriting later ones
                index_dtype = "int8" if len(slices) < 128 else "int32"
                first = xp.full(a.shape, len(slices) - 1, dtype=index_dtype)
                for k in range(len(slices) - 2, -1, -1):
                    hit = (xc[slices[k]] == a).astype(index_dtype)
                    first += hit * (k - first)  # first = k where hit (arithmetic: copyto(where=) is slow)
            if xp.isnan(a).any():  # rare: PyTorch's CPU kernel takes a NaN over anything, the last NaN of a window
                for k in range(len(slices)):
                    xp.copyto(first, k, where=xp.isnan(xc[slices[k]]))
            self.first, self.slices, self.xc_shape = first, slices, xc.shape
            if positions is not None:  # return_indices: each maximum's flat position in its input plane, y·W + x
                where = _positions(xp, first, kernel, stride, padding, dilation, x.shape[3])
                positions.append(where[0] if self.unbatched else where)
        out_nchw = as_nchw(a)
        return out_nchw[0] if self.unbatched else out_nchw

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        if self.unbatched:
            grad = grad[None]
        if self.dnnl is not None:  # oneDNN routes ∂L/∂a by the argmax it kept in its workspace
            _, plan, workspace = self.dnnl
            grad_x = plan.backward(xp, grad, workspace)
            return grad_x[0] if self.unbatched else grad_x
        g = xp.ascontiguousarray(channels_last(grad))  # (N, H_out, W_out, C): one transposing copy makes the
        # k_h·k_w passes below read contiguously (1.9 ms against 2.6 ms for the textbook CNN's pooling)
        first = self.first
        if self.exact:  # windows tile the input: each offset's block is written once
            grad_x = xp.empty(self.xc_shape, dtype=grad.dtype)
            for k, where in enumerate(self.slices):
                xp.multiply(g, first == k, out=grad_x[where])
        else:
            grad_x = zeros(xp, self.xc_shape, grad.dtype)
            for k, where in enumerate(self.slices):
                grad_x[where] += g * (first == k)
        if self.inner is not None:
            grad_x = grad_x[self.inner]
        grad_x = as_nchw(grad_x)
        return grad_x[0] if self.unbatched else grad_x


def _positions(xp: Any, first: Any, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, width: int) -> Any:
    """PyTorch's pooling indices (N, C, H_out, W_out): offset k = (i, j) of window (y, x) is the input pixel
    (s_h·y + d_h·i − p_h, s_w·x + d_w·j − p_w), numbered row by row within its (n, c) plane."""
    N, Ho, Wo, C = first.shape
    i, j = first.astype("int64") // kernel[1], first.astype("int64") % kernel[1]
    rows = (xp.arange(Ho) * stride[0] - padding[0])[None, :, None, None] + dilation[0] * i
    cols = (xp.arange(Wo) * stride[1] - padding[1])[None, None, :, None] + dilation[1] * j
    return as_nchw(rows * width + cols)


def _max_and_first_of_four(xp: Any, blocks: list) -> tuple:
    """max of four blocks and the index (int8) of the first one holding it, in 8 element-wise passes.

    Winners of (0, 1) and (2, 3), ties to the earlier; then (2, 3)'s winner only if strictly larger. That is
    the first maximum in order 0, 1, 2, 3, PyTorch's rule (NaN is fixed up by the caller).
    """
    s0, s1, s2, s3 = blocks
    m01, m23 = xp.maximum(s0, s1), xp.maximum(s2, s3)
    later = (m23 > m01).view("int8")  # bools as 0/1 bytes
    first01, first23 = (s1 > s0).view("int8"), (s3 > s2).view("int8")
    # first = first23 + 2 where later else first01, in byte arithmetic (xp.where is 20× slower here)
    first = first23 - first01
    first += 2
    first *= later
    first += first01
    return xp.maximum(m01, m23, out=m01), first


def _avg_divisor(
    xp: Any, size: tuple, out: tuple, kernel: tuple, stride: tuple, padding: tuple, count_include_pad: bool, dtype: Any
) -> Any:
    """|window| per output position, (H_out, W_out, 1), PyTorch's rule.

    With count_include_pad the window counts its padding but not what a ceil-mode window reaches past it;
    without, only real pixels count.
    """
    counts = []
    for axis in range(2):
        start = xp.arange(out[axis]) * stride[axis] - padding[axis]
        end = xp.minimum(start + kernel[axis], size[axis] + padding[axis])
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, size[axis])
        counts.append(end - start)
    return (counts[0][:, None] * counts[1][None, :]).astype(dtype)[:, :, None]


class AvgPool2dFunction(Function):
    """a = (1/|window|) Σ window;   ∂L/∂x = Σ over windows containing x of ∂L/∂a / |window|."""

    def forward(
        self,
        x: Any,
        kernel: tuple = (2, 2),
        stride: tuple = (2, 2),
        padding: tuple = (0, 0),
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: Any = None,
    ) -> Any:
        xp = self.xp
        self.unbatched = x.ndim == 3
        if self.unbatched:
            x = x[None]
        out, padded_size, self.exact = _geometry(x.shape, kernel, stride, padding, (1, 1), ceil_mode)
        xc, self.inner = _padded_input(xp, x, padding, padded_size, 0.0)
        self.slices = offset_slices(kernel, (1, 1), stride, out)
        total = xc[self.slices[0]].copy()  # (N, H_out, W_out, C)
        for where in self.slices[1:]:
            total += xc[where]
        if divisor_override:
            divisor = x.dtype.type(divisor_override)
        elif count_include_pad and padded_size == (x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]):
            divisor = x.dtype.type(kernel[0] * kernel[1])  # every window is whole
        else:
            divisor = _avg_divisor(xp, x.shape[2:], out, kernel, stride, padding, count_include_pad, x.dtype)
        self.divisor, self.xc_shape = divisor, xc.shape
        total /= divisor
        out_nchw = as_nchw(total)
        return out_nchw[0] if self.unbatched else out_nchw

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        if self.unbatched:
            grad = grad[None]
        g = channels_last(grad) / self.divisor
        if self.exact:
            grad_x = xp.empty(self.xc_shape, dtype=grad.dtype)
            for where in self.slices:
                grad_x[where] = g
        else:
            grad_x = zeros(xp, self.xc_shape, grad.dtype)
            for where in self.slices:
                grad_x[where] += g
        if self.inner is not None:
            grad_x = grad_x[self.inner]
        grad_x = as_nchw(grad_x)
        return grad_x[0] if self.unbatched else grad_x


def _adaptive_matrix(xp: Any, size: int, out: int, dtype: Any) -> Any:
    """P (out, size): row i averages input positions ⌊i·size/out⌋ … ⌈(i + 1)·size/out⌉ − 1 (PyTorch's windows)."""
    i = xp.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    pos = xp.arange(size)
    inside = (pos[None, :] >= start[:, None]) & (pos[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2dFunction(Function):
    """a = P_h x P_wᵀ: windows that always give (H_out, W_out), as two small matrix products.

    P_h (H_out, H) has 1/|window| where row i's window covers the input row; averaging is separable, so
    a[n, c] = P_h x[n, c] P_wᵀ and ∂L/∂x[n, c] = P_hᵀ (∂L/∂a[n, c]) P_w.
    """

    def forward(self, x: Any, output_size: tuple = (1, 1)) -> Any:
        xp = self.xp
        H, W = x.shape[-2:]
        self.P_h = _adaptive_matrix(xp, H, output_size[0], x.dtype)  # (H_out, H)
        self.P_w = _adaptive_matrix(xp, W, output_size[1], x.dtype)  # (W_out, W)
        return xp.matmul(xp.matmul(self.P_h, x), self.P_w.T)

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        return xp.matmul(xp.matmul(self.P_h.T, grad), self.P_w)


# ---- checks and the functional forms ----------------------------------------------------------------------------
def _check_pool(
    where: Any,
    input: Any,
    kernel: tuple,
    stride: tuple,
    padding: tuple,
    dilation: tuple,  # noqa: A002
    ceil_mode: bool,
    n: int = 2,
) -> None:
    """O(1) checks with PyTorch's exception classes; ``n`` spatial dims (1 for MaxPool1d's view)."""
    name = where if isinstance(where, str) else repr(where)
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a shenjing.Tensor, got {type(input).__name__}")
    shape = tuple(input.shape)
    dims = "(N, C, H, W)" if n == 2 else "(N, C, L)"
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(
            f"{name}: expected a {n + 1}-D (unbatched) or {n + 2}-D (batched) input {dims}, got a {input.ndim}-D "
            f"input of shape {shape}."
        )
    if input.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating-point input, got {input.dtype}. Convert with x.float().")
    if any(s <= 0 for s in stride) or any(k <= 0 for k in kernel) or any(d <= 0 for d in dilation):
        raise ValueError(
            f"{name}: kernel_size, stride and dilation must be positive, got kernel_size={kernel}, "
            f"stride={stride}, dilation={dilation}"
        )
    for p, k, d in zip(padding, kernel, dilation):
        if p < 0 or p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(
                f"{name}: pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k} "
                f"and dilation={d}"
            )
    spatial = shape[-2:] if n == 2 else (1,) + shape[-1:]
    out = tuple(
        pool_out_size(s, p, k, d, st, ceil_mode) for s, p, k, d, st in zip(spatial, padding, kernel, dilation, stride)
    )
    if min(out) < 1:
        raise RuntimeError(
            f"{name}: given input shape {shape}, the calculated output size {out[2 - n :]} is too small: the "
            "window (with its padding) does not fit. Use a smaller kernel_size or larger inputs."
        )


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,  # noqa: A002
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """Max over each k_h × k_w window (stride defaults to kernel_size); see :class:`MaxPool2d`.

    With ``return_indices`` also each maximum's position, y·W + x within its input plane (for ``max_unpool2d``)."""
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == [] else pair(stride, "stride")
    return _max_pool2d(
        input, kernel, stride, pair(padding, "padding"), pair(dilation, "dilation"), ceil_mode, "max_pool2d",
        return_indices,
    )


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
                            dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = True) -> tuple:
    """``max_pool2d(..., return_indices=True)``: (values, indices)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def _max_pool2d(
    input: Tensor,
    kernel: tuple,
    stride: tuple,
    padding: tuple,
    dilation: tuple,  # noqa: A002
    ceil_mode: bool,
    where: Any,
    return_indices: bool = False,
) -> Any:
    _check_pool(where, input, kernel, stride, padding, dilation, ceil_mode)
    with_indices = return_indices or (input.requires_grad and is_grad_enabled())
    positions = [] if return_indices else None
    out = MaxPool2dFunction.apply(
        input,
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        with_indices=with_indices,
        positions=positions,
    )
    return (out, Tensor._wrap(positions[0])) if return_indices else out


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,  # noqa: A002
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """Max over each window of k along the last axis of (N, C, L) or (C, L): max_pool2d of a unit height.

    With ``return_indices`` also each maximum's position along L (for ``max_unpool1d``)."""
    (k,) = pair(kernel_size, "kernel_size", 1)
    (s,) = (k,) if stride is None or stride == [] else pair(stride, "stride", 1)
    (p,), (d,) = pair(padding, "padding", 1), pair(dilation, "dilation", 1)
    return _max_pool1d(input, k, s, p, d, ceil_mode, "max_pool1d", return_indices)


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
                            dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = True) -> tuple:
    """``max_pool1d(..., return_indices=True)``: (values, indices)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def _max_pool1d(input: Tensor, k: int, s: int, p: int, d: int, ceil_mode: bool, where: Any,  # noqa: A002
                return_indices: bool = False) -> Any:
    _check_pool(where, input, (1, k), (1, s), (0, p), (1, d), ceil_mode, n=1)
    with_indices = return_indices or (input.requires_grad and is_grad_enabled())
    positions = [] if return_indices else None
    out = MaxPool2dFunction.apply(
        input.unsqueeze(-2),
        kernel=(1, k),
        stride=(1, s),
        padding=(0, p),
        dilation=(1, d),
        ceil_mode=ceil_mode,
        with_indices=with_indices,
        positions=positions,
    )
    if return_indices:
        return out.squeeze(-2), Tensor._wrap(positions[0]).squeeze(-2)
    return out.squeeze(-2)


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,  # noqa: A002
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each k_h × k_w window (stride defaults to kernel_size); see :class:`AvgPool2d`."""
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == [] else pair(stride, "stride")
    return _avg_pool2d(
        input, kernel, stride, pair(padding, "padding"), ceil_mode, count_include_pad, divisor_override, "avg_pool2d"
    )


def _avg_pool2d(
    input: Tensor,
    kernel: tuple,
    stride: tuple,
    padding: tuple,
    ceil_mode: bool,  # noqa: A002
    count_include_pad: bool,
    divisor_override: Any,
    where: Any,
) -> Tensor:
    _check_pool(where, input, kernel, stride, padding, (1, 1), ceil_mode)
    if divisor_override is not None and divisor_override <= 0:
        raise RuntimeError(f"{where if isinstance(where, str) else repr(where)}: divisor must be not zero")
    return AvgPool2dFunction.apply(
        input,
        kernel=kernel,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
    )


def _adaptive_size(output_size: Any, shape: tuple) -> tuple:
    """(H_out, W_out) from an int, a pair, or a pair with None (= keep that input size), as PyTorch."""
    sizes = (output_size, output_size) if isinstance(output_size, int) or output_size is None else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}")
    return tuple(shape[-2 + i] if s is None else int(s) for i, s in enumerate(sizes))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Average pooling to a fixed output size (H_out, W_out); see :class:`AdaptiveAvgPool2d`."""
    return _adaptive_avg_pool2d(input, output_size, "adaptive_avg_pool2d")


def _adaptive_avg_pool2d(input: Tensor, output_size: Any, where: Any) -> Tensor:  # noqa: A002
    name = where if isinstance(where, str) else repr(where)
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a shenjing.Tensor, got {type(input).__name__}")
    shape = tuple(input.shape)
    if input.ndim not in (3, 4) or 0 in shape[-2:]:
        raise RuntimeError(
            f"{name}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input with non-zero H and W, got shape {shape}"
        )
    size = _adaptive_size(output_size, shape)
    if min(size) < 1:
        raise RuntimeError(f"{name}: output_size must be positive, got {size}")
    return AdaptiveAvgPool2dFunction.apply(input, output_size=size)


# ---- modules ----------------------------------------------------------------------------------------------------
class MaxPool2d(Module):
    """Max pooling: a[n, c, y, x] = max_{i<k_h, j<k_w} x[n, c, s_h·y + d_h·i − p_h, s_w·x + d_w·j − p_w].

    ∂L/∂x is ∂L/∂a at each window's first maximum and 0 elsewhere (overlapping windows add up). Padding is
    −∞, so it never wins.

    Args:
        kernel_size: k or (k_h, k_w).
        stride: default ``kernel_size`` (non-overlapping windows).
        padding: −∞ added on each side, at most half the (dilated) kernel.
        dilation: spacing between window taps.
        ceil_mode: round the output size up, keeping a partial window at the end.

    Shape:
        (N, C, H, W) or (C, H, W) → (N, C, H_out, W_out), H_out = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1.

    Example:
        >>> import shenjing
        >>> shenjing.nn.MaxPool2d(2)(shenjing.zeros(64, 64, 24, 24)).shape
        (64, 64, 12, 12)
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        kernel_size, stride, padding, dilation = map(_tupled, (kernel_size, stride, padding, dilation))
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        self.return_indices = bool(return_indices)
        self._args = (
            pair(kernel_size, "kernel_size"),
            pair(self.stride, "stride"),
            pair(padding, "padding"),
            pair(dilation, "dilation"),
        )

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        kernel, stride, padding, dilation = self._args
        return _max_pool2d(input, kernel, stride, padding, dilation, self.ceil_mode, self, self.return_indices)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )

    def get_config(self) -> dict:
        return {
            "kernel_size": _jsonable(self.kernel_size),
            "stride": _jsonable(self.stride),
            "padding": _jsonable(self.padding),
            "dilation": _jsonable(self.dilation),
            "ceil_mode": self.ceil_mode,
            "return_indices": self.return_indices,
        }


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _tupled(value: Any) -> Any:
    """A JSON list back to the tuple PyTorch stores (so a rebuilt layer has the same repr)."""
    return tuple(value) if isinstance(value, list) else value


class MaxPool1d(MaxPool2d):
    """Max pooling over the last axis of (N, C, L) or (C, L): MaxPool2d's rule with a unit height.

    Example:
        >>> import shenjing
        >>> shenjing.nn.MaxPool1d(3, stride=2)(shenjing.zeros(2, 4, 11)).shape
        (2, 4, 5)
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        Module.__init__(self)
        kernel_size, stride, padding, dilation = map(_tupled, (kernel_size, stride, padding, dilation))
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        self.return_indices = bool(return_indices)
        self._args = tuple(
            pair(v, name, 1)[0]
            for v, name in (
                (kernel_size, "kernel_size"),
                (self.stride, "stride"),
                (padding, "padding"),
                (dilation, "dilation"),
            )
        )

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        k, s, p, d = self._args
        return _max_pool1d(input, k, s, p, d, self.ceil_mode, self, self.return_indices)


class AvgPool2d(Module):
    """Average pooling: a[n, c, y, x] = (1/|window|) Σ_{i<k_h, j<k_w} x[n, c, s_h·y + i − p_h, s_w·x + j − p_w].

    ∂L/∂x[pixel] = Σ over the windows that contain it of ∂L/∂a / |window|. |window| = k_h·k_w, counting the
    zero padding when ``count_include_pad`` (default) but never what a ceil-mode window reaches past it;
    ``divisor_override`` replaces it.

    Shape:
        (N, C, H, W) or (C, H, W) → (N, C, H_out, W_out), H_out = ⌊(H + 2p − k)/s⌋ + 1.

    Example:
        >>> import shenjing
        >>> shenjing.nn.AvgPool2d(2)(shenjing.ones(1, 3, 4, 4)).shape
        (1, 3, 2, 2)
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        kernel_size, stride, padding = map(_tupled, (kernel_size, stride, padding))
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        self._args = (pair(kernel_size, "kernel_size"), pair(self.stride, "stride"), pair(padding, "padding"))

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        kernel, stride, padding = self._args
        return _avg_pool2d(
            input, kernel, stride, padding, self.ceil_mode, self.count_include_pad, self.divisor_override, self
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def get_config(self) -> dict:
        return {
            "kernel_size": _jsonable(self.kernel_size),
            "stride": _jsonable(self.stride),
            "padding": _jsonable(self.padding),
            "ceil_mode": self.ceil_mode,
            "count_include_pad": self.count_include_pad,
            "divisor_override": self.divisor_override,
        }


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size: window i covers rows ⌊i·H/H_out⌋ … ⌈(i + 1)·H/H_out⌉ − 1.

    Computed as a = P_h x P_wᵀ with averaging matrices (see :class:`AdaptiveAvgPool2dFunction`);
    ``AdaptiveAvgPool2d(1)`` is global average pooling.

    Shape:
        (N, C, H, W) or (C, H, W) → (N, C, H_out, W_out); ``None`` in output_size keeps that input size.

    Example:
        >>> import shenjing
        >>> shenjing.nn.AdaptiveAvgPool2d((5, 7))(shenjing.zeros(1, 64, 8, 9)).shape
        (1, 64, 5, 7)
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = _tupled(output_size)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return _adaptive_avg_pool2d(input, self.output_size, self)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def get_config(self) -> dict:
        return {"output_size": _jsonable(self.output_size)}
