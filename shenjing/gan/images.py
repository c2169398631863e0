"""Sample grids as PNG files, written with zlib alone (no imaging library needed)."""

from __future__ import annotations

import os
import struct
import zlib
from typing import Any

import numpy  # host-side image bytes only

from ..backend import backend_of
from ..io import atomic_write_bytes
from ..tensor import Tensor

__all__ = ["make_grid", "save_image_grid", "write_png"]


def _host(images: Any) -> numpy.ndarray:
    if isinstance(images, Tensor):
        images = images.array
    if not isinstance(images, numpy.ndarray):
        images = backend_of(images).to_host(images)
    return numpy.asarray(images)


def make_grid(
    images: Any, nrow: int = 8, padding: int = 2, value_range: tuple[float, float] = (-1.0, 1.0), pad_value: float = 0.0
) -> numpy.ndarray:
    """Tile images (N, C, H, W), (N, H, W) or flat (N, H·W) (square H = W; else 1 × F strips) into one uint8 picture.

    Pixels are mapped linearly from ``value_range`` to 0..255 (clipped): (-1, 1) for a tanh generator.
    Returns (rows·(H+p)+p, nrow·(W+p)+p) for one channel or (…, …, 3) for three, as torchvision's make_grid
    lays them out (row-major, ``nrow`` images per row).
    """
    x = _host(images).astype(numpy.float64)
    if x.ndim == 2:
        side = int(round(x.shape[1] ** 0.5))
        h, w = (side, side) if side * side == x.shape[1] else (1, x.shape[1])  # not square: a strip per sample
        x = x.reshape(len(x), 1, h, w)
    elif x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"make_grid: expected images (N, 1|3, H, W), (N, H, W) or (N, H*W), got {tuple(x.shape)}")
    low, high = value_range
    x = numpy.clip((x - low) / (high - low), 0.0, 1.0)
    n, c, h, w = x.shape
    ncol = min(nrow, n)
    nrows = -(-n // ncol)
    grid = numpy.full((c, nrows * (h + padding) + padding, ncol * (w + padding) + padding), pad_value)
    for k in range(n):
        r, q = divmod(k, ncol)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[:, top : top + h, left : left + w] = x[k]
    grid = numpy.round(grid * 255.0).astype(numpy.uint8)
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def write_png(path: str | os.PathLike, pixels: numpy.ndarray) -> str:
    """An 8-bit grey (H, W) or RGB (H, W, 3) PNG file, written atomically."""
    pixels = numpy.ascontiguousarray(pixels, dtype=numpy.uint8)
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError(f"write_png: expected (H, W) or (H, W, 3) pixels, got {pixels.shape}")
    h, w = pixels.shape[:2]
    colour = 0 if pixels.ndim == 2 else 2
    rows = pixels.reshape(h, -1)
    raw = b"".join(b"\x00" + rows[i].tobytes() for i in range(h))  # filter type 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write_bytes(path, png, durable=False)
    return path


def save_image_grid(
    images: Any,
    path: str | os.PathLike,
    nrow: int = 8,
    padding: int = 2,
    value_range: tuple[float, float] = (-1.0, 1.0),
) -> str:
    """:func:`make_grid` then :func:`write_png`; returns the path."""
    return write_png(path, make_grid(images, nrow=nrow, padding=padding, value_range=value_range))
