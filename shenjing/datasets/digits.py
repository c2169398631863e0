"""The 8×8 handwritten digits bundled with scikit-learn: a small MNIST that works offline."""

from __future__ import annotations

import numpy  # host-side conversion of the bundled arrays

from .mnist import LabelledImages

__all__ = ["digits"]


def digits(flatten: bool = False, normalize: bool | tuple[float, float] = False) -> LabelledImages:
    """scikit-learn's handwritten digits (UCI optdigits test set): 1797 images of 8×8 pixels, 10 classes.

    Pixels are counts 0…16 (of 4×4 blocks of a 32×32 bitmap), so x = pixel / 16 in [0, 1]. Bundled with
    scikit-learn: no download, works offline; there is no train/test split, make one with
    :func:`shenjing.data.train_val_test_split` (``stratify=True`` keeps the classes balanced).

    Args:
        flatten: images as rows (N, 64) for an MLP (scikit-learn's ``data`` layout) instead of (N, 1, 8, 8).
        normalize: False: x in [0, 1]; True: x ← (x − μ) / σ with the set's own mean and standard deviation
            over all pixels; or a ``(mean, std)`` pair.

    Returns:
        A :class:`~shenjing.datasets.LabelledImages`: samples ``(x, y)``, x float32, y int64; the raw pixels
        (uint8, 0…16) in ``.images`` (N, 8, 8), the labels in ``.labels``.

    Example:
        >>> from shenjing.datasets import digits
        >>> ds = digits(flatten=True)
        >>> len(ds), ds.tensors[0].shape, float(ds.tensors[0].array.max())
        (1797, (1797, 64), 1.0)

    Needs scikit-learn (``pip install scikit-learn``).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("digits() reads scikit-learn's bundled copy: `pip install scikit-learn`") from None
    bunch = load_digits()
    images = bunch.images.astype(numpy.uint8)  # (N, 8, 8), counts 0…16
    labels = bunch.target.astype(numpy.int64)  # (N,)
    if normalize is True:
        scaled = images / 16.0
        normalize = (float(scaled.mean()), float(scaled.std()))
    elif normalize is False or normalize is None:
        normalize = None
    else:
        mean, std = normalize
        normalize = (float(mean), float(std))
    classes = [str(int(name)) for name in bunch.target_names]
    return LabelledImages(images, labels, classes, "Digits", True, flatten, normalize, max_value=16.0)
