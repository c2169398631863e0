"""The composing and converting transforms with torchvision's names and semantics: Compose, ToTensor, Normalize,
Lambda."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...tensor import Tensor, tensor

__all__ = ["Compose", "ToTensor", "Normalize", "Lambda"]


class Compose:
    """Apply ``transforms`` one after the other: ``Compose([ToTensor(), Normalize(m, s)])(img)``."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """A Pillow image or a NumPy array of shape (H, W) or (H, W, C) as a float32 Tensor (C, H, W).

    As torchvision: uint8 pixels (Pillow modes L, RGB, ...) are scaled to [0, 1] by dividing by 255; any other
    NumPy dtype is converted without scaling. A 2-D input gets one channel.
    """

    def __call__(self, pic: Any) -> Tensor:
        from .functional import to_tensor

        return to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize:
    """``(x - mean[c]) / std[c]`` for each channel c of a (..., C, H, W) Tensor; ``inplace`` is accepted."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.inplace = inplace
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero after conversion to float, got std={self.std}")

    def __call__(self, t: Tensor) -> Tensor:
        if not isinstance(t, Tensor):
            raise TypeError(f"Normalize: expected a Tensor (C, H, W), got {type(t).__name__}; apply ToTensor first")
        if t.dim() < 3:
            raise ValueError(f"Normalize: expected a Tensor of shape (..., C, H, W), got shape {tuple(t.shape)}")
        channels = t.shape[-3]
        if len(self.mean) not in (1, channels) or len(self.std) not in (1, channels):
            raise ValueError(
                f"Normalize: mean {self.mean} and std {self.std} must have 1 or {channels} entries for a tensor of "
                f"shape {tuple(t.shape)}"
            )
        mean = tensor(list(self.mean), dtype=t.dtype, device=t.device).view(-1, 1, 1)
        std = tensor(list(self.std), dtype=t.dtype, device=t.device).view(-1, 1, 1)
        return (t - mean) / std

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={list(self.mean)}, std={list(self.std)})"


class Lambda:
    """A user function as a transform: ``Lambda(lambda x: torch.flatten(x))``."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
