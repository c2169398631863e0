"""``make_grid`` and ``save_image`` with torchvision's arguments: a batch of images tiled into one, saved by Pillow."""

from __future__ import annotations

import os
from typing import Any

from ..backend import backend_of
from ..tensor import Tensor

__all__ = ["make_grid", "save_image"]


def make_grid(
    tensor: Tensor | list[Tensor],
    nrow: int = 8,
    padding: int = 2,
    normalize: bool = False,
    value_range: tuple[float, float] | None = None,
    scale_each: bool = False,
    pad_value: float = 0.0,
) -> Tensor:
    """Tile a (B, C, H, W) batch (or a list of (C, H, W) images) into one (3, rows, cols) image, as torchvision.

    ``nrow`` images per row, ``padding`` pixels of ``pad_value`` around each; one-channel images are repeated to
    three channels; ``normalize`` rescales to [0, 1] by ``value_range`` (default: min and max, per image with
    ``scale_each``).
    """
    if isinstance(tensor, (list, tuple)):
        arrays = [t.detach().array for t in tensor]
        xp = backend_of(arrays[0]).xp
        array = xp.stack(arrays)
    elif isinstance(tensor, Tensor):
        array = tensor.detach().array
        xp = backend_of(array).xp
    else:
        raise TypeError(f"make_grid: expected a Tensor or a list of Tensors, got {type(tensor).__name__}")
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3:
        array = array[None] if array.shape[0] in (1, 3) else array[:, None]
    if array.ndim != 4:
        raise ValueError(f"make_grid: expected images (B, C, H, W), got shape {tuple(array.shape)}")
    if array.shape[1] == 1:
        array = xp.concatenate([array] * 3, axis=1)
    array = array.astype(xp.float32 if array.dtype.kind != "f" else array.dtype, copy=True)
    if normalize:
        def scale(img: Any) -> Any:
            low, high = value_range if value_range is not None else (img.min(), img.max())
            return (xp.clip(img, low, high) - low) / max(float(high - low), 1e-5)

        array = xp.stack([scale(img) for img in array]) if scale_each else scale(array)
    count, channels, height, width = array.shape
    if count == 1:
        return Tensor(array[0])
    cols = min(nrow, count)
    rows = -(-count // cols)
    cell_h, cell_w = height + padding, width + padding
    grid = xp.full((channels, rows * cell_h + padding, cols * cell_w + padding), pad_value, dtype=array.dtype)
    for k in range(count):
        r, c = divmod(k, cols)
        top, left = r * cell_h + padding, c * cell_w + padding
        grid[:, top:top + height, left:left + width] = array[k]
    return Tensor(grid)


def save_image(tensor: Tensor | list[Tensor], fp: Any, format: str | None = None, **kwargs: Any) -> None:  # noqa: A002
    """Save ``make_grid(tensor, **kwargs)`` as an image file (PNG, JPEG, ... from ``fp`` or ``format``) via Pillow."""
    from PIL import Image  # optional dependency, as torchvision's

    grid = make_grid(tensor, **kwargs).array
    xp = backend_of(grid).xp
    pixels = xp.clip(grid * 255 + 0.5, 0, 255).astype(xp.uint8).transpose(1, 2, 0)
    host = backend_of(pixels).to_host(pixels)
    image = Image.fromarray(host[:, :, 0] if host.shape[2] == 1 else host)
    if isinstance(fp, (str, os.PathLike)):
        image.save(os.fspath(fp), format=format)
    else:
        image.save(fp, format=format)
