"""torchvision.models' architectures with its names, builders and state-dict keys: the ResNet family.

``resnet18()`` … ``wide_resnet101_2()`` build untrained models (``weights=None``); ResNet, BasicBlock and
Bottleneck are registered layer names, so a ResNet saves and loads as structure like any built-in layer.
"""

from __future__ import annotations

from ...registry import register_module
from .resnet import (BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50, resnet101, resnet152,
                     resnext50_32x4d, resnext101_32x8d, resnext101_64x4d, wide_resnet50_2, wide_resnet101_2)

for _cls in (ResNet, BasicBlock, Bottleneck):
    register_module(_cls.__name__, _cls)

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]
