"""A torchvision-shaped minimum, so that programs written for ``torchvision`` run after changing their imports.

``shenjing.vision.transforms`` (Compose, ToTensor, Normalize, Resize, CenterCrop, RandomCrop, Pad, flips,
Grayscale ... and ``transforms.functional``), ``shenjing.vision.datasets`` (MNIST, FashionMNIST, read from local
IDX files; FakeData), ``shenjing.vision.models`` (the ResNet family) and ``shenjing.vision.utils`` (make_grid, save_image via Pillow), with
torchvision's names, argument order and defaults.
"""

from __future__ import annotations

from . import datasets, models, transforms, utils

__all__ = ["datasets", "models", "transforms", "utils"]
