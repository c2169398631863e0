"""Rearranging layers: PixelShuffle / PixelUnshuffle (sub-pixel convolution) and ChannelShuffle.

Each is a reshape and a permutation, so its gradient is the inverse rearrangement of ∂L/∂out.
"""

from __future__ import annotations

from ..tensor import Tensor
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "pixel_shuffle", "pixel_unshuffle",
           "channel_shuffle", "native_channel_shuffle"]


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C·r², H, W) → (*, C, H·r, W·r): out[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w]."""
    r = upscale_factor
    *batch, C, H, W = input.shape
    if C % (r * r):
        raise RuntimeError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, "
            f"but input.size(-3)={C} is not divisible by {r * r}")
    lead = len(batch)
    x = input.reshape(*batch, C // (r * r), r, r, H, W)
    order = tuple(range(lead)) + (lead, lead + 3, lead + 1, lead + 4, lead + 2)  # (*, C, H, r, W, r)
    return x.permute(*order).reshape(*batch, C // (r * r), H * r, W * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of :func:`pixel_shuffle`."""
    r = downscale_factor
    *batch, C, H, W = input.shape
    if H % r or W % r:
        raise RuntimeError(
            f"pixel_unshuffle expects height and width to be divisible by downscale_factor, but got shape "
            f"{tuple(input.shape)} and downscale_factor={r}")
    lead = len(batch)
    x = input.reshape(*batch, C, H // r, r, W // r, r)
    order = tuple(range(lead)) + (lead, lead + 2, lead + 4, lead + 1, lead + 3)  # (*, C, r, r, H, W)
    return x.permute(*order).reshape(*batch, C * r * r, H // r, W // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:  # noqa: A002
    """(N, g·k, *) → the channels regrouped: out channel i·g + j = input channel j·k + i (ShuffleNet)."""
    N, C = input.shape[:2]
    if C % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {C} channels and {groups} groups.")
    rest = tuple(input.shape[2:])
    x = input.reshape(N, groups, C // groups, *rest)
    return x.transpose(1, 2).reshape(N, C, *rest)


native_channel_shuffle = channel_shuffle


class PixelShuffle(Module):
    """Rearrange (*, C·r², H, W) into (*, C, H·r, W·r) (see :func:`pixel_shuffle`)."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"

    def get_config(self) -> dict:
        return {"upscale_factor": self.upscale_factor}


class PixelUnshuffle(Module):
    """Rearrange (*, C, H·r, W·r) into (*, C·r², H, W) (see :func:`pixel_unshuffle`)."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"

    def get_config(self) -> dict:
        return {"downscale_factor": self.downscale_factor}


class ChannelShuffle(Module):
    """Interleave the channels of ``groups`` groups (see :func:`channel_shuffle`)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"

    def get_config(self) -> dict:
        return {"groups": self.groups}
