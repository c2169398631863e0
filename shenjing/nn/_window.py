"""Sliding windows over images, shared by convolution and pooling: sizes, padding, offsets, channels-last views.

Every window op here works on a channels-last view (N, H, W, C) of the NCHW arrays the public API uses:
``x.transpose(0, 2, 3, 1)`` costs nothing, and in that view every pixel's channels are one contiguous run,
so copies, scatter-adds and element-wise passes move runs of C values instead of single ones. Results go
back as NCHW-shaped views of channels-last memory, which NumPy's element-wise ops (order 'K') keep: a
convolution's output flows through ReLU and into the next convolution without a layout copy.

Output size of a window op along one axis, with input size H, padding p_lo + p_hi, kernel k, dilation d,
stride s (PyTorch's formula):

    H_out = ⌊(H + p_lo + p_hi − d·(k − 1) − 1) / s⌋ + 1
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "zeros",
    "pair",
    "out_size",
    "pool_out_size",
    "pad_channels_last",
    "offset_slices",
    "channels_last",
    "as_nchw",
    "windows",
]


def zeros(xp: Any, shape: tuple, dtype: Any) -> Any:
    """A zero-filled array, as ``xp.empty`` + fill rather than ``xp.zeros``.

    NOTE: for large arrays ``numpy.zeros`` asks the OS for fresh zero pages (calloc), and touching them costs
    a page fault per 4 KiB, every step; an emptied heap block that is filled explicitly is reused instead.
    """
    array = xp.empty(shape, dtype=dtype)
    array.fill(0)
    return array


def pair(value: Any, name: str, n: int = 2) -> tuple:
    """``3`` → ``(3, 3)``; ``(3, 2)`` stays; a tuple of the wrong length is a ValueError naming ``name``."""
    if isinstance(value, int):
        return (value,) * n
    values = tuple(int(v) for v in value)
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise ValueError(f"{name}: expected an int or a tuple of {n} ints, got {value!r}")
    return values


def out_size(size: int, pad_lo: int, pad_hi: int, kernel: int, dilation: int, stride: int) -> int:
    """⌊(H + p_lo + p_hi − d·(k − 1) − 1) / s⌋ + 1 (may be ≤ 0: callers raise)."""
    return (size + pad_lo + pad_hi - dilation * (kernel - 1) - 1) // stride + 1


def pool_out_size(size: int, pad: int, kernel: int, dilation: int, stride: int, ceil_mode: bool) -> int:
    """Pooling output size: as :func:`out_size` with symmetric padding, rounding up with ``ceil_mode``.

    NOTE: with ``ceil_mode`` the last window must still start inside the input or its left padding, as PyTorch:
    if (H_out − 1)·s ≥ H + p then H_out − 1.
    """
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def channels_last(x: Any) -> Any:
    """(N, C, H, W) → the (N, H, W, C) view of the same memory (no copy)."""
    return x.transpose(0, 2, 3, 1)


def as_nchw(x: Any) -> Any:
    """(N, H, W, C) → the (N, C, H, W) view of the same memory (no copy)."""
    return x.transpose(0, 3, 1, 2)


def pad_channels_last(xp: Any, x: Any, pads: tuple, size: tuple, value: float = 0.0) -> tuple:
    """x (N, H, W, C) placed in a new (N, H_p, W_p, C) array filled with ``value``; returns (padded, inner slices).

    ``pads`` = (top, bottom, left, right); ``size`` = (H_p, W_p), which may exceed H + top + bottom (the extra
    rows and columns a ceil-mode window reaches past the padding).
    """
    top, _, left, _ = pads
    N, H, W, C = x.shape
    padded = xp.full((N, size[0], size[1], C), value, dtype=x.dtype)
    inner = (slice(None), slice(top, top + H), slice(left, left + W))
    padded[inner] = x
    return padded, inner


def offset_slices(kernel: tuple, dilation: tuple, stride: tuple, out: tuple) -> list:
    """For each kernel offset (i, j), row-major, the slices of the padded input that offset reads.

    Window (y, x) at offset (i, j) reads input pixel (s_h·y + d_h·i, s_w·x + d_w·j), so offset (i, j) reads the
    strided block [d_h·i : d_h·i + s_h·(H_out − 1) + 1 : s_h, d_w·j : … : s_w], one (N, H_out, W_out, C) view.
    A loop over these k_h·k_w offsets (never over pixels) is how pooling and col2im work.
    """
    (kh, kw), (dh, dw), (sh, sw), (Ho, Wo) = kernel, dilation, stride, out
    return [
        (slice(None), slice(dh * i, dh * i + sh * (Ho - 1) + 1, sh), slice(dw * j, dw * j + sw * (Wo - 1) + 1, sw))
        for i in range(kh)
        for j in range(kw)
    ]


def windows(xp: Any, x: Any, kernel: tuple, dilation: tuple, stride: tuple, out: tuple) -> Any:
    """The (N, H_out, W_out, k_h, k_w, C) view of every window of x (N, H, W, C), made by strides (no copy).

    Copying it into a (N·H_out·W_out, k_h·k_w·C) buffer is im2col: one copy of contiguous runs of C values.
    """
    sN, sH, sW, sC = x.strides
    (kh, kw), (dh, dw), (sh, sw), (Ho, Wo) = kernel, dilation, stride, out
    shape = (x.shape[0], Ho, Wo, kh, kw, x.shape[3])
    strides = (sN, sH * sh, sW * sw, sH * dh, sW * dw, sC)
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)
