"""The image functions behind the transforms, with torchvision.transforms.functional's names and rules.

Each takes a Pillow image or a Tensor of shape (..., C, H, W) (as torchvision's): a Pillow image is handled by
Pillow itself, exactly as torchvision does (so the pixels are the same), a Tensor by shenjing's ops (so the
result stays in the graph and on its device). Sizes are (height, width), padding (left, top, right, bottom).

    resize        shorter edge to ``size`` (an int) keeping the aspect ratio, or to (h, w); bilinear and
                  bicubic Tensors through ``F.interpolate(..., antialias=True)``, the filter Pillow uses
    center_crop   top = round((H − h) / 2), left = round((W − w) / 2); zero-padded first when larger
    crop, pad, hflip, vflip, rgb_to_grayscale (0.2989 R + 0.587 G + 0.114 B), to_tensor, pil_to_tensor,
    to_pil_image, normalize, get_dimensions
"""

from __future__ import annotations

import enum
import numbers
from collections.abc import Sequence
from typing import Any

import numpy  # host-side: Pillow images to and from arrays, as torchvision does (no tensor math here)

from ...tensor import Tensor, tensor

__all__ = ["InterpolationMode", "get_dimensions", "resize", "center_crop", "crop", "pad", "hflip", "vflip",
           "rgb_to_grayscale", "to_grayscale", "to_tensor", "pil_to_tensor", "to_pil_image", "normalize"]


class InterpolationMode(enum.Enum):
    """torchvision's interpolation modes; the value is the mode's name in ``F.interpolate``."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_FILTER = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}
_PIL_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def _is_pil(img: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:  # no Pillow: nothing can be a Pillow image
        return False
    return isinstance(img, Image.Image)


def _check_image(img: Any, name: str) -> None:
    if isinstance(img, Tensor):
        if img.dim() < 2:
            raise TypeError(f"{name}: a Tensor image should have at least 2 dimensions (..., H, W), got shape "
                            f"{tuple(img.shape)}")
    elif not _is_pil(img):
        raise TypeError(f"{name}: img should be a PIL Image or a Tensor, got {type(img).__name__}")


def get_dimensions(img: Any) -> list[int]:
    """[channels, height, width] of a Pillow image or a (..., C, H, W) Tensor."""
    _check_image(img, "get_dimensions")
    if isinstance(img, Tensor):
        channels = 1 if img.dim() == 2 else img.shape[-3]
        return [channels, img.shape[-2], img.shape[-1]]
    return [len(img.getbands()), img.height, img.width]


def _interpolation(interpolation: Any) -> InterpolationMode:
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, int):  # Pillow's integer constants, as torchvision still accepts
        inverse = {v: k for k, v in _PIL_FILTER.items()}
        if interpolation in inverse:
            return InterpolationMode(inverse[interpolation])
    if isinstance(interpolation, str) and interpolation in {m.value for m in InterpolationMode}:
        return InterpolationMode(interpolation)
    raise TypeError(f"interpolation should be an InterpolationMode or a corresponding Pillow integer constant, got "
                    f"{interpolation!r}")


def _output_size(height: int, width: int, size: Any, max_size: int | None) -> list[int]:
    """torchvision's rule: an int (or a 1-sequence) is the shorter edge, the longer scaled and truncated."""
    if size is None:
        if max_size is None:
            raise ValueError("resize: size can only be None if max_size is set")
        long, short = max(height, width), min(height, width)
        new_long, new_short = max_size, int(max_size * short / long)
        return [new_long, new_short] if height >= width else [new_short, new_long]
    if isinstance(size, numbers.Integral):
        size = [int(size)]
    size = list(size)
    if len(size) not in (1, 2) or not all(isinstance(s, numbers.Integral) for s in size):
        raise ValueError(f"resize: size must be an int or a sequence of one or two ints, got {size!r}")
    if len(size) == 2:
        if max_size is not None:
            raise ValueError("max_size should only be passed if size specifies the length of the smaller edge, i.e."
                             " size should be an int or a sequence of length 1 in torchscript mode.")
        return [int(size[0]), int(size[1])]
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = int(size[0]), int(size[0] * long / short)
    if max_size is not None:
        if max_size <= new_short:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size for the smaller "
                             f"edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    return [new_h, new_w]


def resize(img: Any, size: Any, interpolation: Any = InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True) -> Any:
    """Resize to ``size`` (see the module docstring); Pillow images by Pillow, Tensors by ``F.interpolate``."""
    _check_image(img, "resize")
    mode = _interpolation(interpolation)
    _, height, width = get_dimensions(img)
    out_h, out_w = _output_size(height, width, size, max_size)
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"resize: the output size {(out_h, out_w)} of an image of size {(height, width)} is empty")
    if [out_h, out_w] == [height, width]:
        return img
    if _is_pil(img):
        if mode.value not in _PIL_FILTER:
            raise ValueError(f"resize: Pillow images support the interpolations {sorted(_PIL_FILTER)}, got {mode}")
        return img.resize((out_w, out_h), _PIL_FILTER[mode.value])
    from ...nn.upsampling import interpolate

    if mode.value not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError(f"resize: Tensor images support nearest, nearest-exact, bilinear and bicubic, got {mode}")
    smooth = mode.value in ("bilinear", "bicubic")
    batch = img.shape[:-3] if img.dim() > 2 else ()
    x = img.reshape(-1, 1 if img.dim() == 2 else img.shape[-3], height, width)
    integer = not x.is_floating_point()
    if integer:
        x = x.float()
    out = interpolate(x, size=[out_h, out_w], mode=mode.value, align_corners=False if smooth else None,
                      antialias=bool(antialias) and smooth)
    if integer:
        out = out.round().clamp(0, 255).to(img.dtype) if smooth else out.to(img.dtype)
    return out.reshape(*batch, *out.shape[-3:]) if img.dim() > 2 else out.reshape(out_h, out_w)


def pad(img: Any, padding: Any, fill: Any = 0, padding_mode: str = "constant") -> Any:
    """Pad by ``padding``: an int (all sides), (left/right, top/bottom) or (left, top, right, bottom).

    ``padding_mode``: constant (``fill``), edge (repeat the border pixel), reflect (mirror without the border),
    symmetric (mirror with the border).
    """
    _check_image(img, "pad")
    if padding_mode not in _PIL_PAD_MODES:
        raise ValueError(f"Padding mode should be either constant, edge, reflect or symmetric, got {padding_mode!r}")
    if isinstance(padding, numbers.Integral):
        padding = [int(padding)]
    if not isinstance(padding, Sequence) or len(padding) not in (1, 2, 4):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple"
                         if isinstance(padding, Sequence) else f"Got inappropriate padding arg {padding!r}")
    pads = list(padding) * (4 if len(padding) == 1 else 2 if len(padding) == 2 else 1)
    left, top, right, bottom = pads
    if _is_pil(img):
        from PIL import Image

        array = numpy.asarray(img)
        spec = [(top, bottom), (left, right)] + [(0, 0)] * (array.ndim - 2)
        if padding_mode == "constant":
            out = numpy.pad(array, spec, mode="constant", constant_values=fill if numpy.isscalar(fill) else 0)
            if not numpy.isscalar(fill) and array.ndim == 3:  # one fill value per channel
                mask = numpy.ones(out.shape[:2], dtype=bool)
                mask[top:top + array.shape[0], left:left + array.shape[1]] = False
                out[mask] = numpy.asarray(fill, dtype=array.dtype)
        else:
            out = numpy.pad(array, spec, mode=padding_mode)
        return Image.fromarray(out, mode=img.mode)
    if padding_mode == "constant":
        from ...nn.padding import pad as f_pad

        return f_pad(img, (left, right, top, bottom), mode="constant", value=float(fill))
    return _pad_by_index(img, left, top, right, bottom, padding_mode)


def _pad_by_index(img: Tensor, left: int, top: int, right: int, bottom: int, mode: str) -> Tensor:
    """edge / reflect / symmetric padding of a Tensor as a gather of source rows and columns."""

    def source(size: int, lo: int, hi: int) -> Any:
        index = numpy.arange(-lo, size + hi)
        if mode == "edge":
            return numpy.clip(index, 0, size - 1)
        period = 2 * size - (2 if mode == "reflect" else 0)
        if period <= 0:
            return numpy.zeros_like(index)
        index = numpy.mod(index, period)
        mirror = period - index - (0 if mode == "reflect" else 1)
        return numpy.where(index < size, index, mirror)

    from ...backend import backend_of

    xp = backend_of(img.array).xp
    rows = xp.asarray(source(img.shape[-2], top, bottom))
    cols = xp.asarray(source(img.shape[-1], left, right))
    return img[..., rows, :][..., cols]


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The region whose top-left pixel is (top, left), ``height`` x ``width``; zero outside the image."""
    _check_image(img, "crop")
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        pads = [max(-left, 0), max(-top, 0), max(right - w, 0), max(bottom - h, 0)]
        img = pad(img[..., max(top, 0):min(bottom, h), max(left, 0):min(right, w)], pads, fill=0)
        return img
    return img[..., top:bottom, left:right]


def _pair(size: Any, name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"{name}: please provide only two dimensions (h, w) for size, got {size!r}")


def center_crop(img: Any, output_size: Any) -> Any:
    """The central ``output_size`` region (torchvision's rounding; zero-padded first if the image is smaller)."""
    crop_h, crop_w = _pair(output_size, "center_crop")
    _, height, width = get_dimensions(img)
    if crop_w > width or crop_h > height:
        pads = [(crop_w - width) // 2 if crop_w > width else 0, (crop_h - height) // 2 if crop_h > height else 0,
                (crop_w - width + 1) // 2 if crop_w > width else 0, (crop_h - height + 1) // 2 if crop_h > height
                else 0]
        img = pad(img, pads, fill=0)
        _, height, width = get_dimensions(img)
        if crop_w == width and crop_h == height:
            return img
    top = int(round((height - crop_h) / 2.0))
    left = int(round((width - crop_w) / 2.0))
    return crop(img, top, left, crop_h, crop_w)


def hflip(img: Any) -> Any:
    """Mirror left to right."""
    _check_image(img, "hflip")
    if _is_pil(img):
        from PIL import Image

        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img.flip(-1)


def vflip(img: Any) -> Any:
    """Mirror top to bottom."""
    _check_image(img, "vflip")
    if _is_pil(img):
        from PIL import Image

        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return img.flip(-2)


def rgb_to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """Luma 0.2989 R + 0.587 G + 0.114 B (Pillow's "L" conversion for images), repeated to 1 or 3 channels."""
    if num_output_channels not in (1, 3):
        raise ValueError(f"num_output_channels should be either 1 or 3, got {num_output_channels}")
    _check_image(img, "rgb_to_grayscale")
    if _is_pil(img):
        from PIL import Image

        gray = img.convert("L")
        if num_output_channels == 3:
            gray = Image.merge("RGB", [gray, gray, gray])
        return gray
    channels = get_dimensions(img)[0]
    if channels == 1:
        return img if num_output_channels == 1 else img.expand(*img.shape[:-3], 3, *img.shape[-2:]).clone()
    if channels != 3:
        raise TypeError(f"rgb_to_grayscale: input image tensor should have 1 or 3 channels, found {channels}")
    r, g, b = img.float().unbind(dim=-3) if not img.is_floating_point() else img.unbind(dim=-3)
    gray = (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(-3)
    if not img.is_floating_point():
        gray = gray.to(img.dtype)  # truncated, as torchvision's Tensor path (Pillow's "L" rounds)
    return gray.expand(*gray.shape[:-3], num_output_channels, *gray.shape[-2:]).clone() \
        if num_output_channels == 3 else gray


to_grayscale = rgb_to_grayscale


def to_tensor(pic: Any) -> Tensor:
    """A Pillow image or an (H, W[, C]) array as a float32 (C, H, W) Tensor; uint8 scaled to [0, 1]."""
    if isinstance(pic, Tensor):
        raise TypeError(f"to_tensor: pic should be a PIL Image or a NumPy ndarray, got a Tensor {tuple(pic.shape)}")
    array = numpy.asarray(pic)
    if array.ndim not in (2, 3):
        raise ValueError(f"to_tensor: pic should be 2- or 3-dimensional (H, W[, C]), got shape {array.shape}")
    if array.ndim == 2:
        array = array[:, :, None]
    scale = array.dtype == numpy.uint8
    out = tensor(numpy.ascontiguousarray(array.transpose(2, 0, 1)))
    return out.float().div(255) if scale else out


def pil_to_tensor(pic: Any) -> Tensor:
    """A Pillow image as a (C, H, W) Tensor of its own dtype (uint8 for L / RGB), not scaled."""
    if not _is_pil(pic):
        raise TypeError(f"pil_to_tensor: pic should be a PIL Image, got {type(pic).__name__}")
    array = numpy.asarray(pic)
    if array.ndim == 2:
        array = array[:, :, None]
    return tensor(numpy.ascontiguousarray(array.transpose(2, 0, 1)))


def to_pil_image(pic: Any, mode: str | None = None) -> Any:
    """A (C, H, W) Tensor or an (H, W, C) array as a Pillow image; float Tensors are scaled by 255 and truncated."""
    from PIL import Image

    if isinstance(pic, Tensor):
        if pic.dim() not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.dim()} dimensions.")
        if pic.dim() == 2:
            pic = pic.unsqueeze(0)
        if pic.shape[0] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {pic.shape[0]} channels.")
        if pic.is_floating_point() and mode != "F":
            pic = pic.mul(255).byte()
        array = numpy.transpose(pic.detach().cpu().numpy(), (1, 2, 0))
    elif isinstance(pic, numpy.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        array = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic).__name__}.")
    if array.shape[2] == 1:
        array = array[:, :, 0]
        if mode is None:
            mode = {numpy.dtype("uint8"): "L", numpy.dtype("int16"): "I;16", numpy.dtype("int32"): "I",
                    numpy.dtype("float32"): "F"}.get(array.dtype)
            if mode is None:
                raise TypeError(f"Input type {array.dtype} is not supported")
    elif mode is None:
        if array.dtype != numpy.uint8:
            raise TypeError(f"Input type {array.dtype} is not supported for {array.shape[2]} channels")
        mode = {2: "LA", 3: "RGB", 4: "RGBA"}[array.shape[2]]
    return Image.fromarray(array, mode=mode)


def normalize(t: Tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> Tensor:
    """(x − mean[c]) / std[c] for each channel c of a (..., C, H, W) float Tensor."""
    from ._basic import Normalize

    return Normalize(mean, std, inplace)(t)
