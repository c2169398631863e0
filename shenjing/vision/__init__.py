"""A torchvision-shaped minimum, so that programs written for ``torchvision`` run after changing their imports.

``shenjing.vision.transforms`` (Compose, ToTensor, Normalize, Lambda), ``shenjing.vision.datasets`` (MNIST,
FashionMNIST, read from local IDX files) and ``shenjing.vision.utils`` (make_grid, save_image via Pillow), with
torchvision's names, argument order and defaults.
"""

from __future__ import annotations

from . import datasets, transforms, utils

__all__ = ["datasets", "transforms", "utils"]
