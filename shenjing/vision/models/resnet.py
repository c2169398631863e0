"""ResNet (He et al. 2015, "Deep Residual Learning for Image Recognition"), with torchvision's classes, builders,
argument order, initialisation and state-dict keys, so torchvision's ResNet code and weights carry over.

A residual block learns the change to its input, not a new representation:

    BasicBlock:  a = ReLU(BN(conv3x3(x))),  out = ReLU(BN(conv3x3(a)) + shortcut(x))
    Bottleneck:  1x1 (reduce to width) → 3x3 (stride, groups) → 1x1 (expand to 4·planes), + shortcut(x), ReLU

``shortcut`` is x itself, or ``downsample`` (conv1x1 with the block's stride, then BN) where the shape changes.
Backpropagation passes ∂L/∂out straight through the addition to x: δ_x = δ_out ⊙ ReLU′ · (1 + ∂F/∂x), the
"+1" that lets very deep networks train. The network: conv7x7/2 → BN → ReLU → maxpool3x3/2 → four stages of
blocks (64, 128, 256, 512 planes; stages 2-4 halve the size) → global average pool → Linear.

Builders: resnet18/34 (BasicBlock, [2, 2, 2, 2] / [3, 4, 6, 3]), resnet50/101/152 (Bottleneck, [3, 4, 6, 3] /
[3, 4, 23, 3] / [3, 8, 36, 3]), resnext50_32x4d / resnext101_32x8d / resnext101_64x4d (grouped 3x3),
wide_resnet50_2 / wide_resnet101_2 (twice the bottleneck width). ``weights`` must be None: torchvision
publishes its trained weights as pickled ``.pth`` files, which shenjing never unpickles (convert them once
with torch to safetensors and ``load_state_dict``; see :func:`_no_pretrained`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ... import nn
from ...functions import flatten
from ...nn import init

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
           "conv3x3", "conv1x1"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding = dilation, no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                     bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def _shortcut(inplanes: int, outplanes: int, stride: int, norm_layer: Callable[..., nn.Module]) -> nn.Sequential:
    return nn.Sequential(conv1x1(inplanes, outplanes, stride), norm_layer(outplanes))


def _norm_config(norm_layer: Any, where: str) -> None:
    if norm_layer not in (None, nn.BatchNorm2d):
        raise TypeError(f"cannot save {where} with norm_layer={norm_layer!r} as structure: only BatchNorm2d (the "
                        "default) is; save its state_dict and rebuild it in code")


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and the shortcut: out = ReLU(BN(conv(ReLU(BN(conv(x))))) + shortcut(x))."""

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | bool | None = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        if downsample is True:  # rebuilt from a model file: the standard shortcut
            downsample = _shortcut(inplanes, planes * self.expansion, stride, norm_layer)
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample or None
        self.stride = stride
        self._args = (inplanes, planes, norm_layer)

    def forward(self, x: Any) -> Any:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = out + identity
        return self.relu(out)

    def get_config(self) -> dict:
        _norm_config(self._args[2], type(self).__name__)
        return {"inplanes": self._args[0], "planes": self._args[1], "stride": self.stride,
                "downsample": self.downsample is not None}


class Bottleneck(nn.Module):
    """1x1 reduce → 3x3 (stride, groups, dilation) → 1x1 expand (×4), each with BN, + shortcut, ReLU.

    The stride sits on the 3x3 convolution (ResNet v1.5, as torchvision). Width = ⌊planes · base_width / 64⌋ ·
    groups: 64 / 1 is ResNet, 4 / 32 ResNeXt-50 32x4d, 128 / 1 Wide ResNet-50-2.
    """

    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | bool | None = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        if downsample is True:
            downsample = _shortcut(inplanes, planes * self.expansion, stride, norm_layer)
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample or None
        self.stride = stride
        self._args = (inplanes, planes, groups, base_width, dilation, norm_layer)

    def forward(self, x: Any) -> Any:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = out + identity
        return self.relu(out)

    def get_config(self) -> dict:
        inplanes, planes, groups, base_width, dilation, norm_layer = self._args
        _norm_config(norm_layer, type(self).__name__)
        return {"inplanes": inplanes, "planes": planes, "stride": self.stride, "downsample": self.downsample is not None,
                "groups": groups, "base_width": base_width, "dilation": dilation}


_BLOCKS = {"BasicBlock": BasicBlock, "Bottleneck": Bottleneck}


class ResNet(nn.Module):
    """ResNet(block, layers, num_classes=1000, zero_init_residual=False, groups=1, width_per_group=64,
    replace_stride_with_dilation=None, norm_layer=None), torchvision's signature; ``block`` may also be named
    ("BasicBlock", "Bottleneck").

    Initialisation as torchvision: convolutions Kaiming-normal (fan_out, ReLU gain), BatchNorm γ = 1, β = 0,
    the Linear PyTorch's default; ``zero_init_residual`` starts each block's last BN at γ = 0 (every block the
    identity at first).
    """

    def __init__(self, block: type | str, layers: list[int], num_classes: int = 1000, zero_init_residual: bool = False,
                 groups: int = 1, width_per_group: int = 64, replace_stride_with_dilation: list[bool] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if isinstance(block, str):
            if block not in _BLOCKS:
                raise ValueError(f"ResNet: block must be BasicBlock or Bottleneck, got {block!r}")
            block = _BLOCKS[block]
        if len(layers) != 4:
            raise ValueError(f"ResNet: layers should list the number of blocks of the 4 stages, got {layers!r}")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None or a 3-element tuple, got "
                             f"{replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm):
                init.constant_(m.weight, 1)
                init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    init.constant_(m.bn2.weight, 0)
        self._config = {"block": block.__name__, "layers": list(layers), "num_classes": num_classes,
                        "zero_init_residual": zero_init_residual, "groups": groups,
                        "width_per_group": width_per_group,
                        "replace_stride_with_dilation": [bool(r) for r in replace_stride_with_dilation]}

    def _make_layer(self, block: type, planes: int, blocks: int, stride: int = 1, dilate: bool = False) -> nn.Sequential:
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = _shortcut(self.inplanes, planes * block.expansion, stride, norm_layer)
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, previous_dilation,
                        norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                                dilation=self.dilation, norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def _forward_impl(self, x: Any) -> Any:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(flatten(self.avgpool(x), 1))

    def forward(self, x: Any) -> Any:
        return self._forward_impl(x)

    def get_config(self) -> dict:
        _norm_config(self._norm_layer, type(self).__name__)
        return dict(self._config)


def _no_pretrained(name: str, weights: Any, kwargs: dict) -> None:
    """torchvision's legacy ``pretrained`` argument (with its warnings), and a clear error for trained weights."""
    if "pretrained" in kwargs:
        pretrained = kwargs.pop("pretrained")
        warnings.warn("The parameter 'pretrained' is deprecated since 0.13 and may be removed in the future, please "
                      "use 'weights' instead.", UserWarning, stacklevel=3)
        if not pretrained:
            warnings.warn("Arguments other than a weight enum or `None` for 'weights' are deprecated since 0.13 and "
                          "may be removed in the future. The current behavior is equivalent to passing "
                          "`weights=None`.", UserWarning, stacklevel=3)
        weights = weights or (pretrained or None)
    if weights is not None:
        raise RuntimeError(
            f"{name}: trained weights ({weights!r}) are not downloaded: torchvision publishes them as pickled .pth "
            "files, and shenjing never unpickles a file. Convert them once where torchvision is installed: "
            f"`safetensors.torch.save_file(torchvision.models.{name}(weights='DEFAULT').state_dict(), "
            f"'{name}.safetensors')`, then `model = {name}(); "
            f"model.load_state_dict(shenjing.load('{name}.safetensors'))` (the keys are the same)")


def _resnet(name: str, block: type, layers: list[int], weights: Any, kwargs: dict, **defaults: Any) -> ResNet:
    _no_pretrained(name, weights, kwargs)
    kwargs.pop("progress", None)
    return ResNet(block, layers, **{**defaults, **kwargs})


def resnet18(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-18: BasicBlock × [2, 2, 2, 2], 11 689 512 parameters (1000 classes)."""
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], weights, kwargs)


def resnet34(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-34: BasicBlock × [3, 4, 6, 3], 21 797 672 parameters."""
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], weights, kwargs)


def resnet50(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-50: Bottleneck × [3, 4, 6, 3], 25 557 032 parameters."""
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], weights, kwargs)


def resnet101(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-101: Bottleneck × [3, 4, 23, 3]."""
    return _resnet("resnet101", Bottleneck, [3, 4, 23, 3], weights, kwargs)


def resnet152(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-152: Bottleneck × [3, 8, 36, 3]."""
    return _resnet("resnet152", Bottleneck, [3, 8, 36, 3], weights, kwargs)


def resnext50_32x4d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-50 32x4d: Bottleneck × [3, 4, 6, 3], 32 groups of width 4."""
    return _resnet("resnext50_32x4d", Bottleneck, [3, 4, 6, 3], weights, kwargs, groups=32, width_per_group=4)


def resnext101_32x8d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-101 32x8d."""
    return _resnet("resnext101_32x8d", Bottleneck, [3, 4, 23, 3], weights, kwargs, groups=32, width_per_group=8)


def resnext101_64x4d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-101 64x4d."""
    return _resnet("resnext101_64x4d", Bottleneck, [3, 4, 23, 3], weights, kwargs, groups=64, width_per_group=4)


def wide_resnet50_2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Wide ResNet-50-2: ResNet-50 with bottlenecks twice as wide (width_per_group = 128)."""
    return _resnet("wide_resnet50_2", Bottleneck, [3, 4, 6, 3], weights, kwargs, width_per_group=128)


def wide_resnet101_2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Wide ResNet-101-2."""
    return _resnet("wide_resnet101_2", Bottleneck, [3, 4, 23, 3], weights, kwargs, width_per_group=128)
