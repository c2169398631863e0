"""torchvision.transforms' names, arguments and semantics, for Pillow images and (..., C, H, W) Tensors.

Composing and converting: Compose, ToTensor, PILToTensor, ToPILImage, Normalize, Lambda. Geometry: Resize
(with antialias, Pillow's filter), CenterCrop, RandomCrop, Pad, RandomHorizontalFlip, RandomVerticalFlip;
colour: Grayscale. The functions behind them are in :mod:`shenjing.vision.transforms.functional`, as
torchvision's ``transforms.functional``; ``InterpolationMode`` is importable from both.
"""

from __future__ import annotations

from . import functional
from ._basic import Compose, Lambda, Normalize, ToTensor
from ._geometry import (CenterCrop, Grayscale, Pad, PILToTensor, RandomCrop, RandomHorizontalFlip,
                        RandomVerticalFlip, Resize, ToPILImage)
from .functional import InterpolationMode

__all__ = ["Compose", "ToTensor", "PILToTensor", "ToPILImage", "Normalize", "Lambda", "Resize", "CenterCrop",
           "RandomCrop", "Pad", "RandomHorizontalFlip", "RandomVerticalFlip", "Grayscale", "InterpolationMode",
           "functional"]
