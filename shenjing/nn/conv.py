"""Convolution layers (Conv2d, Conv1d): im2col + one matrix product forward, the same product transposed backward.

The forward, for an input a_prev (N, C, H, W), kernel W (O, C/g, k_h, k_w) and bias b (O,), stride s, padding p,
dilation d and g groups (cross-correlation, as every deep-learning library calls "convolution"):

    z[n, o, y, x] = b[o] + Σ_{c, i, j} W[o, c, i, j] · a_prev[n, c_0(o) + c, s_h·y + d_h·i − p_top, s_w·x + d_w·j − p_left]
    H_out = ⌊(H + p_top + p_bottom − d_h·(k_h − 1) − 1) / s_h⌋ + 1       (W_out likewise)

with c_0(o) the first input channel of o's group. Backward, with δ = ∂L/∂z (N, O, H_out, W_out):

    ∂L/∂W = Σ_n δ ⋆ a_prev            the correlation of the input with δ:  Σ_{n,y,x} δ[n,o,y,x] · a_prev[n, c, …]
    ∂L/∂b = Σ_{n,y,x} δ[n, o, y, x]
    ∂L/∂a_prev = the full convolution of δ with the flipped kernel: each window's δ·W spread back over the
                 pixels the window read (col2im)

How: im2col copies every window of the channels-last input into a row of the column matrix
A (N·H_out·W_out, k_h·k_w·C), ordered (i, j, c); the weight becomes W_m (k_h·k_w·C, O). Then

    forward   Z = [A 1] [W_m; b]                    (N·H_out·W_out, O): the bias rides in the product
    ∂L/∂W_m   = Aᵀ Δ,  ∂L/∂b = 1ᵀ Δ                 one product [A 1]ᵀ Δ,  Δ = δ as rows (N·H_out·W_out, O)
    ∂L/∂A     = Δ W_mᵀ, spread back by col2im: per kernel offset (i, j), Δ W_{ij} (N·H_out·W_out, C) is added
                onto the strided block of the input that offset read (k_h·k_w adds of runs of C, no scatter).
                For stride 1 (the common case) the same full convolution is computed by kernel rows instead:
                k_w-column im2col of δ, one product, k_h adds of whole rows (see ``_im2col.grad_input_by_rows``).

The batch is processed in blocks of a few images so that one block's columns stay in the CPU's cache; the
column matrix is rebuilt in backward rather than kept, which keeps memory below PyTorch's. Outputs are NCHW
views of channels-last memory, so the next layer reads them without a layout copy.

Where oneDNN is installed (float32 on NumPy, ``shenjing.backends.mkldnn.enabled``), the same three products are
computed by its JIT-compiled direct kernels instead, on the same channels-last arrays: about twice as fast as the
matrix products on an AVX-512 CPU. ``_onednn.py`` says when and why; float64 always runs the path above.
"""

from __future__ import annotations

import math
from typing import Any

from .. import autograd
from ..autograd import Function
from ..backend import as_dtype, get_backend, get_default_dtype
from ..tensor import Tensor
from . import _onednn, _winograd, init
from ._im2col import block_images, column_blocks, grad_input_by_rows, plain_blocks, scratch
from ._window import as_nchw, channels_last, offset_slices, out_size, pad_channels_last, pair, windows, zeros
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "conv1d", "conv2d", "Conv1dFunction", "Conv2dFunction"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv2dFunction(Function):
    """z = W ⋆ a_prev + b over (N, C, H, W) images (see the module docstring for every formula).

    Options: ``stride`` (s_h, s_w), ``padding`` (top, bottom, left, right) of zeros, ``dilation`` (d_h, d_w),
    ``groups``. A 3-D input (C, H, W) is one unbatched image, as PyTorch.
    """

    def forward(
        self,
        a_prev: Any,
        W: Any,
        b: Any,
        stride: tuple = (1, 1),
        padding: tuple = (0, 0, 0, 0),
        dilation: tuple = (1, 1),
        groups: int = 1,
    ) -> Any:
        xp = self.xp
        self.unbatched = a_prev.ndim == 3
        if self.unbatched:
            a_prev = a_prev[None]
        N, C, H, W_in = a_prev.shape
        O, Cg, kh, kw = W.shape  # noqa: E741 - O output channels, as the formulas
        top, bottom, left, right = padding
        Ho = out_size(H, top, bottom, kh, dilation[0], stride[0])
        Wo = out_size(W_in, left, right, kw, dilation[1], stride[1])
        x = channels_last(a_prev)  # (N, H, W, C), a view
        self.inner = None
        self.dnnl = self._onednn_plan(a_prev, W, b, stride, padding, dilation, groups)
        if self.dnnl is not None:  # oneDNN's direct kernel on the channels-last input, padding done inside
            x = xp.ascontiguousarray(x)
            self.x, self.W, self.options = x, W, (stride, dilation, groups)
            self.in_shape, self.out_hw = (N, C, H, W_in), (Ho, Wo)
            bias = None if b is None else xp.ascontiguousarray(b)
            out = as_nchw(self.dnnl.forward(xp, x, xp.ascontiguousarray(W), bias))
            return out[0] if self.unbatched else out
        if any(padding):
            x, self.inner = pad_channels_last(xp, x, padding, (H + top + bottom, W_in + left + right))
        elif C > 1 and not x.flags.c_contiguous:
            x = xp.ascontiguousarray(x)  # one transposing copy, so that im2col copies runs of C values
        self.x, self.W, self.options = x, W, (stride, dilation, groups)
        self.in_shape, self.out_hw = (N, C, H, W_in), (Ho, Wo)
        self.winograd = _winograd.use(xp, x.shape, W.shape, stride, dilation, groups)
        if self.winograd["forward"]:
            out = as_nchw(_winograd.forward(xp, x, W, b))  # 3×3, stride 1: F(2×2, 3×3), see _winograd.py
            return out[0] if self.unbatched else out
        view = windows(xp, x, (kh, kw), dilation, stride, (Ho, Wo))
        g, Og = groups, O // groups
        W_m = W.reshape(g, Og, Cg, kh, kw).transpose(0, 3, 4, 2, 1).reshape(g, kh * kw * Cg, Og)  # (g, K, Og)
        z = xp.empty((N * Ho * Wo, O), dtype=a_prev.dtype)  # rows (n, y, x): channels-last output
        P = Ho * Wo
        bias_inside = g == 1 and b is not None
        if bias_inside:
            W_m = xp.concatenate([W_m[0], b[None, :]])[None]  # [W_m; b] (1, K + 1, O)
        for n0, n1, A in column_blocks(xp, view, g, ones=bias_inside):
            if g == 1:
                xp.matmul(A[0], W_m[0], out=z[n0 * P : n1 * P])  # Z = A W_m (+ b)
            else:
                z[n0 * P : n1 * P].reshape(-1, g, Og)[...] = xp.matmul(A, W_m).transpose(1, 0, 2)
        if b is not None and not bias_inside:
            z += b
        out = as_nchw(z.reshape(N, Ho, Wo, O))  # (N, O, H_out, W_out), channels-last memory
        return out[0] if self.unbatched else out

    def _onednn_plan(self, a_prev: Any, W: Any, b: Any, stride: tuple, padding: tuple, dilation: tuple,
                     groups: int) -> Any:
        """oneDNN's primitives for this convolution, or None for the im2col path (see ``_onednn.conv``)."""
        if any(_winograd.ENABLED.values()) or W.dtype != a_prev.dtype or (b is not None and b.dtype != W.dtype):
            return None  # Winograd asked for explicitly, or mixed dtypes: the paths below
        top, bottom, left, right = padding
        return _onednn.conv(self.xp, a_prev.dtype, a_prev.shape, W.shape, stride, (top, left), (bottom, right),
                            dilation, groups, b is not None)

    def backward(self, delta: Any) -> tuple:
        xp = self.xp
        need_a_prev, need_W, need_b = self.needs_input_grad
        if self.unbatched:
            delta = delta[None]
        if getattr(self, "dnnl", None) is not None:  # ConvTranspose2d's bare nodes have no forward: no plan
            return self._onednn_backward(delta)
        stride, dilation, g = self.options
        x, W = self.x, self.W
        N, C, H, W_in = self.in_shape
        Ho, Wo = self.out_hw
        O, Cg, kh, kw = W.shape  # noqa: E741 - O output channels, as the formulas
        Og, P = O // g, Ho * Wo
        D = xp.ascontiguousarray(channels_last(delta)).reshape(N * P, O)  # Δ (rows, O); free for our own outputs
        # NOTE: ConvTranspose2d calls this backward on a bare node whose forward never ran: choose the path here then
        winograd = getattr(self, "winograd", None) or _winograd.use(xp, x.shape, W.shape, stride, dilation, g)
        bias_inside = need_b and need_W and g == 1 and not winograd["weight"]  # ∂L/∂b as the last row of [A 1]ᵀ Δ
        grad_b = D.sum(0) if need_b and not bias_inside else None  # ∂L/∂b = Σ δ
        view = windows(xp, x, (kh, kw), dilation, stride, (Ho, Wo))

        def weight_grad() -> Any:  # ∂L/∂W_m = Aᵀ Δ, block by block
            if winograd["weight"]:  # F(2×2, 3×3): ∂L/∂W (O, C, 3, 3), returned in W_m's layout (1, K, O)
                grad_W = _winograd.grad_weight(xp, x, D.reshape(N, Ho, Wo, O), W.shape)
                return grad_W.transpose(2, 3, 1, 0).reshape(1, kh * kw * Cg, Og)
            grad_W_m = xp.zeros((g, kh * kw * Cg + bias_inside, Og), dtype=D.dtype)
            for n0, n1, A in column_blocks(xp, view, g, bias_inside):
                if g == 1:
                    grad_W_m[0] += A[0].T @ D[n0 * P : n1 * P]
                else:
                    grad_W_m += xp.matmul(
                        A.transpose(0, 2, 1), D[n0 * P : n1 * P].reshape(-1, g, Og).transpose(1, 0, 2)
                    )
            return grad_W_m

        def input_grad() -> Any:  # ∂L/∂a_prev on the padded channels-last input (N, H_p, W_p, C)
            if g == 1 and P == 1:  # one window (a ConvTranspose2d from 1×1 noise): ∂L/∂A = Δ W_mᵀ is the answer
                rows = xp.matmul(D, W.transpose(0, 2, 3, 1).reshape(O, kh * kw * C))  # (N, (i, j, c))
                rows = rows.reshape(N, kh, kw, C)
                (dh, dw), (Hp, Wp) = dilation, x.shape[1:3]
                if (Hp, Wp) == (kh, kw) and dilation == (1, 1):
                    return rows
                grad_x = zeros(xp, x.shape, D.dtype)
                grad_x[:, : dh * (kh - 1) + 1 : dh, : dw * (kw - 1) + 1 : dw] = rows
                return grad_x
            if winograd["input"]:  # F(2×2, 3×3) of δ padded by 2, the flipped kernel
                return _winograd.grad_input(xp, D.reshape(N, Ho, Wo, O), W, x.shape)
            if g == 1 and stride == (1, 1) and dilation == (1, 1):  # the common case: see grad_input_by_rows
                return grad_input_by_rows(xp, D.reshape(N, Ho, Wo, O), W, x.shape)
            grad_x = zeros(xp, x.shape, D.dtype)
            slices = offset_slices((kh, kw), dilation, stride, (Ho, Wo))
            if g == 1:  # one product Δ [W_00 … W_ij …] (rows, k_h·k_w·C) per block, then the k_h·k_w adds
                W_cat = W.transpose(0, 2, 3, 1).reshape(O, kh * kw * C)
                products = scratch(xp, "products", block_images(N, view) * P * kh * kw * C, D.dtype)
                for n0, n1, _ in plain_blocks(N, view):
                    R = products[: (n1 - n0) * P * kh * kw * C].reshape((n1 - n0) * P, kh * kw * C)
                    xp.matmul(D[n0 * P : n1 * P], W_cat, out=R)
                    R = R.reshape(n1 - n0, Ho, Wo, kh * kw, C)
                    target = grad_x[n0:n1]
                    for k, where in enumerate(slices):  # col2im: one add per kernel offset
                        target[where] += R[:, :, :, k]
                return grad_x
            W_ij = W.reshape(g, Og, Cg, kh, kw).transpose(3, 4, 0, 1, 2).reshape(kh * kw, g, Og, Cg)
            for n0, n1, _ in plain_blocks(N, view):
                D_g = D[n0 * P : n1 * P].reshape(-1, g, Og).transpose(1, 0, 2)  # (g, rows, Og)
                pieces = xp.matmul(D_g[None], W_ij)  # (k_h·k_w, g, rows, Cg): Δ W_ij for each offset
                target = grad_x[n0:n1]
                for k, where in enumerate(slices):  # col2im: one add per kernel offset
                    piece = pieces[k, 0] if g == 1 else pieces[k].transpose(1, 0, 2)
                    target[where] += piece.reshape(n1 - n0, Ho, Wo, C)
            return grad_x

        grad_W_m = weight_grad() if need_W else None
        grad_x = input_grad() if need_a_prev else None
        grad_a_prev = None
        if need_a_prev:
            if self.inner is not None:
                grad_x = grad_x[self.inner]
            grad_a_prev = as_nchw(grad_x)
            if self.unbatched:
                grad_a_prev = grad_a_prev[0]
        grad_W = None
        if need_W:
            if bias_inside:
                grad_W_m, grad_b = grad_W_m[:, :-1], grad_W_m[0, -1]
            grad_W = grad_W_m.reshape(g, kh, kw, Cg, Og).transpose(0, 4, 3, 1, 2).reshape(O, Cg, kh, kw)
        return grad_a_prev, grad_W, grad_b

    def _onednn_backward(self, delta: Any) -> tuple:
        """∂L/∂a_prev (backward data), ∂L/∂W and ∂L/∂b (backward weights) by oneDNN, δ channels-last."""
        xp = self.xp
        need_a_prev, need_W, need_b = self.needs_input_grad
        D = xp.ascontiguousarray(channels_last(delta), dtype=self.x.dtype)  # Δ (N, H_out, W_out, O)
        grad_a_prev = grad_W = grad_b = None
        if need_a_prev:
            grad_a_prev = as_nchw(self.dnnl.backward_data(xp, D, xp.ascontiguousarray(self.W)))
            if self.unbatched:
                grad_a_prev = grad_a_prev[0]
        if need_W:
            grad_W, grad_b = self.dnnl.backward_weights(xp, self.x, D)
        if need_b and grad_b is None:
            grad_b = D.reshape(-1, D.shape[-1]).sum(0)  # ∂L/∂b = Σ δ
        return grad_a_prev, grad_W, grad_b if need_b else None


class Conv1dFunction(Conv2dFunction):
    """z = W ⋆ a_prev + b over (N, C, L) sequences: the 2-D convolution of a unit-height image."""

    def forward(
        self, a_prev: Any, W: Any, b: Any, stride: int = 1, padding: tuple = (0, 0), dilation: int = 1, groups: int = 1
    ) -> Any:
        z = super().forward(
            a_prev[..., None, :], W[:, :, None, :], b, (1, stride), (0, 0) + tuple(padding), (1, dilation), groups
        )
        return z[..., 0, :]

    def backward(self, delta: Any) -> tuple:
        grad_a_prev, grad_W, grad_b = super().backward(delta[..., None, :])
        return (
            None if grad_a_prev is None else grad_a_prev[..., 0, :],
            None if grad_W is None else grad_W[:, :, 0, :],
            grad_b,
        )


class PadModeFunction(Function):
    """out = x padded by reflection, replication or wrap-around (``padding_mode`` of a convolution).

    Each padded row is a copy of some input row, out = P_h x P_wᵀ with one-hot matrices P_h (H_p, H),
    P_w (W_p, W); so ∂L/∂x = P_hᵀ (∂L/∂out) P_w, which adds each copy's gradient back onto its source.
    """

    def forward(self, x: Any, pads: tuple = (0, 0, 0, 0), mode: str = "reflect") -> Any:
        xp = self.xp
        H, W = x.shape[-2:]
        rows = _source_index(xp, H, pads[0], pads[1], mode)
        cols = _source_index(xp, W, pads[2], pads[3], mode)
        self.P_h = (rows[:, None] == xp.arange(H)).astype(x.dtype)  # (H_p, H)
        self.P_w = (cols[:, None] == xp.arange(W)).astype(x.dtype)  # (W_p, W)
        return x[..., rows[:, None], cols[None, :]]

    def backward(self, grad: Any) -> Any:
        return self.xp.matmul(self.xp.matmul(self.P_h.T, grad), self.P_w)


def _source_index(xp: Any, size: int, lo: int, hi: int, mode: str) -> Any:
    """For each padded position, the input position it copies."""
    index = xp.arange(-lo, size + hi)
    if mode == "replicate":
        return xp.clip(index, 0, size - 1)
    if mode == "circular":
        return index % size
    index = xp.abs(index)  # reflect, without repeating the edge
    return xp.where(index > size - 1, 2 * (size - 1) - index, index)


# ---- checks and the functional form ---------------------------------------------------------------------------
def _same_padding(kernel: tuple, dilation: tuple) -> tuple:
    """'same': total padding d·(k − 1) per axis, the odd one extra at the end (bottom, right), as PyTorch."""
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


def _resolve_padding(padding: Any, kernel: tuple, dilation: tuple, stride: tuple, n: int) -> tuple:
    """int, tuple, 'same' or 'valid' → (lo, hi) per spatial axis, flattened."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * (2 * n)
        if padding != "same":
            raise ValueError(f"Invalid padding string {padding!r}, should be one of ('valid', 'same')")
        if any(s != 1 for s in stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
        return _same_padding(kernel, dilation)
    pads = pair(padding, "padding", n)
    return tuple(p for p in pads for _ in (0, 1))


def _describe(where: Any) -> str:
    return where if isinstance(where, str) else repr(where)


def _check_input(
    where: Any,
    input: Any,
    weight: Any,
    bias: Any,
    pads: tuple,
    stride: tuple,  # noqa: A002
    dilation: tuple,
    groups: int,
    n: int,
) -> None:
    """O(1) checks with PyTorch's exception class (RuntimeError) and a message naming the layer and shapes."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{_describe(where)}: expected a shenjing.Tensor, got {type(input).__name__}")
    data, kernel = input.array, weight.array
    shape, wshape = tuple(data.shape), tuple(kernel.shape)
    dims = "(N, C, H, W)" if n == 2 else "(N, C, L)"
    if data.ndim not in (n + 1, n + 2):
        raise RuntimeError(
            f"{_describe(where)}: expected a {n + 1}-D (unbatched) or {n + 2}-D (batched) input {dims}, got a "
            f"{data.ndim}-D input of shape {shape}."
            + (" Add the batch and channel axes with x[None, None]." if data.ndim == n else "")
        )
    C = shape[-n - 1]
    if C != wshape[1] * groups:
        unbatched = data.ndim == n + 1 and wshape[1] * groups == 1
        hint = (
            f" A {n + 1}-D input is one unbatched sample; for a batch of single-channel inputs use x.unsqueeze(1)."
            if unbatched
            else f" Check in_channels, or the layout: inputs are {dims}, channels first."
        )
        raise RuntimeError(
            f"{_describe(where)}: input has {C} channels (input shape {shape}), expected {wshape[1] * groups} "
            f"(weight shape {wshape}, groups={groups}).{hint}"
        )
    if data.dtype != kernel.dtype or (bias is not None and bias.array.dtype != kernel.dtype):
        raise RuntimeError(
            f"{_describe(where)}: input dtype {data.dtype} does not match the weight's {kernel.dtype}. Convert the "
            f"input with x.to(shenjing.{kernel.dtype.name}) or the model with model.to(shenjing.{data.dtype.name})."
        )
    spatial = shape[-n:]
    for axis in range(n):
        size = spatial[axis] + pads[2 * axis] + pads[2 * axis + 1]
        reach = dilation[axis] * (wshape[2 + axis] - 1) + 1
        if size < reach:
            padded = tuple(spatial[a] + pads[2 * a] + pads[2 * a + 1] for a in range(n))
            raise RuntimeError(
                f"{_describe(where)}: calculated padded input size per channel {padded} is smaller than the "
                f"(dilated) kernel size {tuple(dilation[a] * (wshape[2 + a] - 1) + 1 for a in range(n))} "
                f"(input shape {shape}). Kernel size can't be greater than actual input size: use a smaller "
                "kernel, add padding, or feed larger inputs."
            )


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,  # noqa: A002
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation) of (N, C, H, W) or (C, H, W) input with weight (O, C/groups, k_h, k_w).

    ``padding``: int, (p_h, p_w), 'valid' (none) or 'same' (output size = input size; stride 1 only).
    See :class:`Conv2d` for the formulas.
    """
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    pads = _resolve_padding(padding, tuple(weight.shape[2:]), dilation, stride, 2)
    return _conv2d(input, weight, bias, stride, pads, dilation, groups, "conv2d")


def _conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Any,
    stride: tuple,
    pads: tuple,
    dilation: tuple,  # noqa: A002
    groups: int,
    where: Any,
) -> Tensor:
    _check_input(where, input, weight, bias, pads, stride, dilation, groups, 2)
    live = _live_taps(tuple(input.shape[-2:]), tuple(weight.shape[2:]), pads, stride, dilation)
    if live is not None and autograd._grad_mode.tracer is None:  # (an exported graph keeps the whole kernel)
        (i0, i1, j0, j1), pads = live
        weight = weight[:, :, i0:i1, j0:j1]  # a slice: its backward puts ∂L/∂W of the dead taps at 0
    return Conv2dFunction.apply(input, weight, bias, stride=stride, padding=pads, dilation=dilation, groups=groups)


def _live_taps(size: tuple, kernel: tuple, pads: tuple, stride: tuple, dilation: tuple) -> Any:
    """The kernel taps that read real input for at least one output, when some read only zero padding.

    Tap i of an axis reads row s·y + d·i − p_top for the outputs y = 0 … H_out − 1; where no such row lies in
    [0, H), W[..., i, :] multiplies zeros only (a 3×3 kernel over a 1×1 map: all but the centre; over a 2×2 map
    with stride 2: one row and one column). Those taps are cut from the kernel and the padding shrunk to match,
    which leaves every output unchanged and saves their products (ResNet-18's last stage on 28×28 digits: 9×).
    Returns ((i0, i1, j0, j1), padding) for W[:, :, i0:i1, j0:j1], or None when every tap is live.
    """
    crop, new_pads = [], []
    for axis in range(2):
        H, k, s, d = size[axis], kernel[axis], stride[axis], dilation[axis]
        top, bottom = pads[2 * axis], pads[2 * axis + 1]
        if top == 0 and bottom == 0:
            crop += [0, k]
            new_pads += [0, 0]
            continue
        out = (H + top + bottom - d * (k - 1) - 1) // s + 1
        live = [i for i in range(k) if max(0, -((d * i - top) // s)) <= min(out - 1, (H - 1 + top - d * i) // s)]
        if not live:
            return None
        first, last = live[0], live[-1]
        top2 = top - d * first
        reach = d * (last - first) + 1
        bottom2 = max(0, s * (out - 1) + reach - H - top2)
        if top2 < 0 or (H + top2 + bottom2 - reach) // s + 1 != out:
            return None
        crop += [first, last + 1]
        new_pads += [top2, bottom2]
    if (crop[1] - crop[0]) * (crop[3] - crop[2]) == kernel[0] * kernel[1]:
        return None
    return tuple(crop), tuple(new_pads)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,  # noqa: A002
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution of (N, C, L) or (C, L) input with weight (O, C/groups, k): a unit-height conv2d."""
    stride, dilation = pair(stride, "stride", 1), pair(dilation, "dilation", 1)
    pads = _resolve_padding(padding, tuple(weight.shape[2:]), dilation, stride, 1)
    return _conv1d(input, weight, bias, stride, pads, dilation, groups, "conv1d")


def _conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Any,
    stride: tuple,
    pads: tuple,
    dilation: tuple,  # noqa: A002
    groups: int,
    where: Any,
) -> Tensor:
    _check_input(where, input, weight, bias, pads, stride, dilation, groups, 1)
    return Conv1dFunction.apply(
        input, weight, bias, stride=stride[0], padding=pads, dilation=dilation[0], groups=groups
    )


# ---- modules ----------------------------------------------------------------------------------------------------
def _check_sizes(**sizes: Any) -> None:
    """Channel counts are non-negative ints (a TypeError / RuntimeError as PyTorch's ``empty`` gives)."""
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
        if value < 0:
            raise RuntimeError(f"{name} must be non-negative, got {value}")


def _check_windows(minimum: int = 1, **sizes: Any) -> None:
    """kernel_size, stride, dilation (≥ 1) and padding (≥ 0): an int or a tuple of ints."""
    for name, value in sizes.items():
        values = value if isinstance(value, tuple | list) else (value,)
        if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise TypeError(f"{name} must be an int or a tuple of ints, got {value!r}")
        if any(v < minimum for v in values):
            raise ValueError(f"{name} must be at least {minimum}, got {value!r}")


class _ConvNd(Module):
    """What Conv1d and Conv2d share: arguments, checks, parameters, PyTorch's initialisation, repr, config."""

    _n = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        n = self._n
        _check_sizes(in_channels=in_channels, out_channels=out_channels, groups=groups)
        _check_windows(kernel_size=kernel_size, stride=stride, dilation=dilation)
        if not isinstance(padding, str):
            _check_windows(0, padding=padding)
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError(f"in_channels must be divisible by groups (in_channels={in_channels}, groups={groups})")
        if out_channels % groups != 0:
            raise ValueError(f"out_channels must be divisible by groups (out_channels={out_channels}, groups={groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {list(_PADDING_MODES)}, but got padding_mode='{padding_mode}'"
            )
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = pair(kernel_size, "kernel_size", n)
        self.stride = pair(stride, "stride", n)
        self.dilation = pair(dilation, "dilation", n)
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding", n)
        self.padding_mode = padding_mode
        self._pads = _resolve_padding(self.padding, self.kernel_size, self.dilation, self.stride, n)
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        xp = get_backend(device).xp
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(xp.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(xp.empty((self.out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # U(±1/√fan_in), fan_in = C/g · k_h · k_w, as PyTorch
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _padded(self, input: Tensor) -> tuple:  # noqa: A002
        """The input (padded here for a non-zero padding_mode) and the zero padding left for the product."""
        if self.padding_mode == "zeros" or not any(self._pads):
            return input, self._pads
        pads = self._pads if self._n == 2 else (0, 0) + self._pads
        if input.ndim != self._n + 2 and input.ndim != self._n + 1:
            return input, self._pads  # the conv's own check names the bad shape
        if self._n == 1:
            padded = PadModeFunction.apply(input.unsqueeze(-2), pads=pads, mode=self.padding_mode).squeeze(-2)
        else:
            padded = PadModeFunction.apply(input, pads=pads, mode=self.padding_mode)
        return padded, (0,) * len(self._pads)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def get_config(self) -> dict:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
            "bias": self.bias is not None,
            "padding_mode": self.padding_mode,
        }


class Conv2d(_ConvNd):
    """2-D convolution layer: each of O filters W[o] (C/g, k_h, k_w) slides over the image, z = W ⋆ a_prev + b.

        z[n, o, y, x] = b[o] + Σ_{c,i,j} W[o, c, i, j] · a_prev[n, c, s_h·y + d_h·i − p_h, s_w·x + d_w·j − p_w]
        H_out = ⌊(H + 2p_h − d_h·(k_h − 1) − 1) / s_h⌋ + 1,   W_out likewise
        ∂L/∂W = Σ_n δ ⋆ a_prev (correlation),   ∂L/∂b = Σ δ,
        ∂L/∂a_prev = full convolution of δ with the flipped kernel (col2im)
    with δ = ∂L/∂z; :class:`Conv2dFunction` and this file's docstring say how they are computed.

    Args:
        in_channels: C, channels of the input.
        out_channels: O, number of filters (channels of the output).
        kernel_size: k or (k_h, k_w).
        stride: s or (s_h, s_w), default 1.
        padding: p or (p_h, p_w) zeros on each side, 'valid' (0) or 'same' (output size = input size,
            stride 1 only; an odd total padding puts the extra row and column at the bottom and right).
        dilation: spacing between kernel taps, default 1.
        groups: split channels into g independent groups (g = C: depthwise), default 1.
        bias: learn a bias per filter, default True.
        padding_mode: 'zeros' (default), 'reflect', 'replicate' or 'circular'.
        dtype: parameter dtype (default float32).

    Shape:
        input (N, C, H, W) or unbatched (C, H, W) → output (N, O, H_out, W_out) or (O, H_out, W_out).
        weight (O, C/g, k_h, k_w), bias (O,): PyTorch's layout, so state dicts load either way.

    Initialisation: W and b from U(±1/√fan_in), fan_in = C/g · k_h · k_w (PyTorch's kaiming_uniform_(a=√5)).

    Differs from PyTorch only inside: the output is an NCHW-shaped view of channels-last memory (so that the
    next layer needs no layout copy); values and gradients agree with PyTorch's.

    Example:
        >>> import shenjing
        >>> conv = shenjing.nn.Conv2d(1, 32, 3)
        >>> conv(shenjing.zeros(64, 1, 28, 28)).shape
        (64, 32, 26, 26)
    """

    _n = 2

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        x, pads = self._padded(input)
        return _conv2d(x, self.weight, self.bias, self.stride, pads, self.dilation, self.groups, self)


class Conv1d(_ConvNd):
    """1-D convolution layer over sequences (N, C, L): Conv2d's formulas with a unit height.

        z[n, o, t] = b[o] + Σ_{c,j} W[o, c, j] · a_prev[n, c, s·t + d·j − p],
        L_out = ⌊(L + 2p − d·(k − 1) − 1) / s⌋ + 1

    Args: as :class:`Conv2d`, with ints (or 1-tuples) for kernel_size, stride, padding, dilation.

    Shape:
        input (N, C, L) or (C, L) → output (N, O, L_out) or (O, L_out); weight (O, C/g, k), bias (O,).

    Example:
        >>> import shenjing
        >>> shenjing.nn.Conv1d(4, 8, 3, padding="same")(shenjing.zeros(2, 4, 10)).shape
        (2, 8, 10)
    """

    _n = 1

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        x, pads = self._padded(input)
        return _conv1d(x, self.weight, self.bias, self.stride, pads, self.dilation, self.groups, self)
