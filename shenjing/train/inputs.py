"""Inputs for ``shenjing predict``: image files prepared like MNIST digits, and rows of a CSV file.

An image becomes what the model saw in training (the ``preprocessing`` entry of its model file):
grey-scale in [0, 1] with bright ink on a dark background (inverted when the background is light, as on
paper), the ink's bounding box scaled to fit a ``box``-pixel square (20 px for MNIST) and placed so that
its centre of mass is at the image centre (MNIST's own preparation), then normalised and shaped as in
training.
"""

from __future__ import annotations

import csv
import os

import numpy  # host-side image and text preparation

__all__ = ["load_image", "load_table", "prepare_image", "MAX_PIXELS"]

MAX_PIXELS = 40_000_000  # 40 megapixels (8000 × 5000): larger images are refused before decoding
WORKING_SIDE = 1024  # larger images are reduced to about this size while decoding (the digit is 28 px anyway)


def load_image(path: str | os.PathLike, preprocessing: dict) -> numpy.ndarray:
    """A PNG/JPEG (any size, colour or grey) as one model input, shaped (1, …) as in training."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("predicting from images needs Pillow: pip install pillow") from None
    import warnings

    name = os.fspath(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # reads the header only: the size is known before any decoding
                width, height = image.size
                if width * height > MAX_PIXELS or width <= 0 or height <= 0:
                    raise ValueError(
                        f"{name}: the image is {width}×{height} = {width * height:,} pixels, more than the "
                        f"{MAX_PIXELS:,} accepted (a decompression bomb, or a photo far larger than needed): "
                        "scale it down first"
                    )
                if max(width, height) > 2 * WORKING_SIDE:
                    image.draft("L", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at a reduced scale
                    factor = max(1, max(image.size) // WORKING_SIDE)
                    image = image.reduce(factor) if factor > 1 else image
                grey = numpy.asarray(image.convert("L"), dtype=numpy.float64) / 255.0  # (H, W) in [0, 1]
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValueError(f"{name}: refused, too many pixels ({error})") from None
    except (OSError, SyntaxError) as error:  # UnidentifiedImageError is an OSError; truncated files too
        if isinstance(error, FileNotFoundError | IsADirectoryError | PermissionError):
            raise
        raise ValueError(
            f"{name}: not an image Pillow can read ({error}); expected a PNG or JPEG file, or a CSV file of rows"
        ) from None
    if grey.ndim != 2 or grey.size == 0:
        raise ValueError(f"{name}: an empty image")
    return prepare_image(grey, preprocessing)


def prepare_image(grey: numpy.ndarray, preprocessing: dict) -> numpy.ndarray:
    """A grey image (H, W) in [0, 1] → one model input (1, H'·W') or (1, 1, H', W'), float32."""
    from PIL import Image

    height, width = preprocessing.get("size", [28, 28])
    box = int(preprocessing.get("box", min(height, width)))
    border = numpy.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 0.5:  # a light background (paper): invert so that ink is bright, as in MNIST
        grey = 1.0 - grey
    ink = grey > 0.1 * grey.max() if grey.max() > 0 else numpy.zeros_like(grey, dtype=bool)
    if ink.any():
        rows, cols = numpy.nonzero(ink)
        grey = grey[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = grey.shape
    scale = box / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = Image.fromarray((grey * 255).astype(numpy.uint8)).resize((new_w, new_h), Image.Resampling.LANCZOS)
    glyph = numpy.asarray(resized, dtype=numpy.float64) / 255.0
    canvas = numpy.zeros((height, width))
    top, left = (height - new_h) // 2, (width - new_w) // 2
    total = glyph.sum()
    if total > 0:  # move the centre of mass to the centre, as MNIST did
        ys, xs = numpy.indices(glyph.shape)
        cy, cx = (ys * glyph).sum() / total, (xs * glyph).sum() / total
        top = int(numpy.clip(round(height / 2 - cy - 0.5), 0, height - new_h))
        left = int(numpy.clip(round(width / 2 - cx - 0.5), 0, width - new_w))
    canvas[top : top + new_h, left : left + new_w] = glyph
    normalize = preprocessing.get("normalize")
    if normalize:
        mean, std = normalize
        canvas = (canvas - mean) / std
    x = canvas.astype(numpy.float32)
    return x.reshape(1, -1) if preprocessing.get("flatten") else x.reshape(1, 1, height, width)


def load_table(path: str | os.PathLike, preprocessing: dict | None = None) -> numpy.ndarray:
    """Rows of numbers from a CSV file (N, D), float32; a header row is skipped and, if the model file names
    the feature columns, they are picked by name (the target column, if present, is ignored)."""
    try:
        with open(path, newline="") as f:
            rows = [row for row in csv.reader(f) if row]
    except (UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"{os.fspath(path)}: not a text file of comma-separated numbers ({error})") from None
    if not rows:
        raise ValueError(f"{os.fspath(path)}: the file is empty")
    features = (preprocessing or {}).get("features")
    header = None
    try:
        [float(v) for v in rows[0]]
    except ValueError:
        header, rows = [h.strip() for h in rows[0]], rows[1:]
    if header is not None and features:
        missing = [f for f in features if f not in header]
        if missing:
            raise ValueError(f"{os.fspath(path)}: expected the feature columns {features}, missing {missing}")
        picks = [header.index(f) for f in features]
        rows = [[row[j] for j in picks] for row in rows]
    if not rows:
        raise ValueError(f"{os.fspath(path)}: a header but no rows of numbers (one sample per row)")
    try:
        table = numpy.array(rows, dtype=numpy.float64)
    except ValueError:
        raise ValueError(
            f"{os.fspath(path)}: expected rows of numbers, the same count in each (one sample per row)"
        ) from None
    if features and table.shape[1] != len(features):
        raise ValueError(
            f"{os.fspath(path)}: expected {len(features)} numbers per row ({', '.join(features)}), got {table.shape[1]}"
        )
    return table.astype(numpy.float32)
