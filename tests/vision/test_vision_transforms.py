"""shenjing.vision.transforms against torchvision's rules: Pillow images go through Pillow exactly as torchvision
sends them (same pixels), Tensors through shenjing's ops, checked against torch's F.interpolate with the arguments
torchvision passes, and against NumPy's padding. Checked once by hand against torchvision 0.28 itself (all 18
transform / image pairs equal: compat/STATUS.md); torchvision is not installed in CI, so its rules are written
out here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import shenjing
from shenjing.vision import datasets
from shenjing.vision import transforms as T
from shenjing.vision.transforms import functional as TF

Image = pytest.importorskip("PIL.Image", reason="the vision transforms take Pillow images: pip install pillow")

rng = np.random.default_rng(0)
GRAY = Image.fromarray(rng.integers(0, 256, (28, 30), dtype=np.uint8), mode="L")
RGB = Image.fromarray(rng.integers(0, 256, (21, 17, 3), dtype=np.uint8), mode="RGB")


def pixels(img):
    return np.asarray(img)


@pytest.mark.parametrize(("hw", "size", "max_size", "expected"), [
    ((28, 28), 64, None, (64, 64)),          # dcgan's Resize(64) of a digit
    ((100, 200), 50, None, (50, 100)),       # shorter edge to 50, the other scaled
    ((200, 100), 50, None, (100, 50)),
    ((21, 17), 10, None, (12, 10)),          # int(10 * 21 / 17) = 12: truncated, not rounded
    ((21, 17), (12, 40), None, (12, 40)),    # (h, w) exactly
    ((28, 30), 16, 17, (16, 17)),            # the longer edge would be 17.1 -> 17 <= max_size
    ((100, 300), 50, 120, (40, 120)),        # longer edge capped at max_size, the shorter scaled down
    ((100, 300), None, 150, (50, 150)),      # only max_size: the longer edge
])
def test_resize_output_size_follows_torchvision(hw, size, max_size, expected) -> None:
    assert tuple(TF._output_size(*hw, size, max_size)) == expected
    img = Image.fromarray(np.zeros(hw, dtype=np.uint8), mode="L")
    out = T.Resize(size, max_size=max_size)(img)
    assert out.size == (expected[1], expected[0])  # Pillow's size is (w, h)


@pytest.mark.parametrize("mode", ["BILINEAR", "BICUBIC", "NEAREST"])
@pytest.mark.parametrize("img", [GRAY, RGB], ids=["L", "RGB"])
def test_resize_of_a_pillow_image_is_pillows_resize(mode: str, img) -> None:
    filters = {"BILINEAR": Image.Resampling.BILINEAR, "BICUBIC": Image.Resampling.BICUBIC,
               "NEAREST": Image.Resampling.NEAREST}
    out = T.Resize(40, interpolation=getattr(T.InterpolationMode, mode))(img)
    h, w = img.height, img.width
    size = (int(40 * w / h), 40) if h <= w else (40, int(40 * h / w))
    np.testing.assert_array_equal(pixels(out), pixels(img.resize(size, filters[mode])))
    assert out.mode == img.mode


@pytest.mark.parametrize(("size", "mode"), [(64, "bilinear"), (10, "bilinear"), ((12, 40), "bicubic"),
                                            ((9, 5), "bicubic"), (20, "nearest")])
def test_resize_of_a_tensor_is_interpolate_with_torchvisions_arguments(size, mode: str) -> None:
    x = rng.random((2, 3, 21, 17)).astype(np.float32)
    out = T.Resize(size, interpolation=T.InterpolationMode(mode))(shenjing.tensor(x))
    hw = TF._output_size(21, 17, size, None)
    smooth = mode != "nearest"
    expected = torch.nn.functional.interpolate(torch.tensor(x), size=hw, mode=mode,
                                               align_corners=False if smooth else None, antialias=smooth)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=2e-6)
    assert TF.resize(shenjing.tensor(x[0]), size).shape == (3, *hw)  # (C, H, W) without a batch


def test_tensor_resize_is_pillows_filter_and_stays_in_the_graph() -> None:
    """Shrinking with antialias is Pillow's filter: a uint8 Tensor resized by shenjing is within one grey level
    of Pillow's own result, and the float path is differentiable (its gradient sums to the output count)."""
    small = TF.resize(TF.pil_to_tensor(GRAY), 11)
    assert small.dtype == shenjing.uint8 and small.shape == (1, 11, 11)
    reference = pixels(GRAY.resize((11, 11), Image.Resampling.BILINEAR)).astype(int)
    assert np.abs(small.numpy()[0].astype(int) - reference).max() <= 1
    x = shenjing.rand(1, 12, 9, requires_grad=True)
    TF.resize(x, 5).sum().backward()
    assert x.grad.shape == (1, 12, 9) and abs(float(x.grad.sum()) - 6 * 5) < 1e-4  # out 6 x 5; each output's weights sum to 1


@pytest.mark.parametrize(("size", "top", "left"), [(10, 9, 10), ((20, 7), 4, 12), ((28, 30), 0, 0)])
def test_center_crop_offsets(size, top: int, left: int) -> None:
    out = T.CenterCrop(size)(GRAY)
    h, w = (size, size) if isinstance(size, int) else size
    np.testing.assert_array_equal(pixels(out), pixels(GRAY)[top:top + h, left:left + w])
    t = TF.pil_to_tensor(GRAY)
    np.testing.assert_array_equal(T.CenterCrop(size)(t).numpy()[0], pixels(GRAY)[top:top + h, left:left + w])


def test_center_crop_larger_than_the_image_pads_with_zeros() -> None:
    out = pixels(T.CenterCrop((31, 33))(GRAY))  # 3 more rows (1 above, 2 below), 3 more columns (1, 2)
    assert out.shape == (31, 33)
    np.testing.assert_array_equal(out[1:29, 1:31], pixels(GRAY))
    assert out[0].sum() == 0 and out[-2:].sum() == 0 and out[:, 0].sum() == 0 and out[:, -2:].sum() == 0
    tensor_out = T.CenterCrop((31, 33))(TF.pil_to_tensor(GRAY)).numpy()[0]
    np.testing.assert_array_equal(tensor_out, out)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding", [3, (1, 2), (1, 2, 3, 4)])
def test_pad_is_numpys_pad_on_images_and_tensors(mode: str, padding) -> None:
    pads = [padding] * 4 if isinstance(padding, int) else list(padding) * (2 if len(padding) == 2 else 1)
    left, top, right, bottom = pads
    for img in (GRAY, RGB):
        a = pixels(img)
        spec = [(top, bottom), (left, right)] + [(0, 0)] * (a.ndim - 2)
        expected = np.pad(a, spec, mode=mode, **({"constant_values": 5} if mode == "constant" else {}))
        np.testing.assert_array_equal(pixels(T.Pad(padding, fill=5, padding_mode=mode)(img)), expected)
        t = T.Pad(padding, fill=5, padding_mode=mode)(TF.pil_to_tensor(img))
        np.testing.assert_array_equal(np.moveaxis(t.numpy(), 0, -1).reshape(expected.shape), expected)


def test_tensor_padding_by_reflection_sends_gradient_to_each_source_pixel() -> None:
    x = shenjing.arange(12.0).reshape(1, 3, 4).requires_grad_()
    TF.pad(x, 2, padding_mode="symmetric").sum().backward()
    xt = torch.arange(12.0).reshape(1, 3, 4).requires_grad_()
    index_rows, index_cols = [1, 0, 0, 1, 2, 2, 1], [1, 0, 0, 1, 2, 3, 3, 2]  # symmetric: the border repeated
    xt[:, index_rows][:, :, index_cols].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_random_crop_repeats_under_a_seed_and_pads() -> None:
    crop = T.RandomCrop(28, padding=4)
    shenjing.manual_seed(3)
    first = [pixels(crop(GRAY)) for _ in range(4)]
    shenjing.manual_seed(3)
    again = [pixels(crop(GRAY)) for _ in range(4)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
        assert a.shape == (28, 28)
    padded = np.pad(pixels(GRAY), 4)
    windows = {(i, j) for i in range(9) for j in range(11) if any(
        np.array_equal(padded[i:i + 28, j:j + 28], a) for a in first)}
    assert windows  # every crop is a window of the padded image
    assert len({a.tobytes() for a in first}) > 1  # and they are not all the same window
    assert T.RandomCrop((40, 40), pad_if_needed=True)(GRAY).size == (40, 40)
    with pytest.raises(ValueError, match=r"Required crop size \(40, 40\) is larger than input image size \(28, 30\)"):
        T.RandomCrop(40)(GRAY)


def test_flips_with_probability_one_and_zero() -> None:
    np.testing.assert_array_equal(pixels(T.RandomHorizontalFlip(1.0)(RGB)), pixels(RGB)[:, ::-1])
    np.testing.assert_array_equal(pixels(T.RandomVerticalFlip(1.0)(RGB)), pixels(RGB)[::-1])
    assert T.RandomHorizontalFlip(0.0)(RGB) is RGB
    t = TF.pil_to_tensor(RGB)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(t).numpy(), t.numpy()[:, :, ::-1])
    shenjing.manual_seed(0)
    flips = sum(T.RandomHorizontalFlip(0.5)(t) is not t for _ in range(200))
    assert 70 < flips < 130


def test_grayscale_is_pillows_luma_and_torchvisions_tensor_rule() -> None:
    np.testing.assert_array_equal(pixels(T.Grayscale()(RGB)), pixels(RGB.convert("L")))
    three = pixels(T.Grayscale(3)(RGB))
    assert three.shape == (21, 17, 3) and (three == pixels(RGB.convert("L"))[:, :, None]).all()
    rgb = pixels(RGB).astype(np.float64)
    luma = 0.2989 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    out = T.Grayscale()(TF.pil_to_tensor(RGB))
    assert out.dtype == shenjing.uint8 and out.shape == (1, 21, 17)
    assert np.abs(out.numpy()[0].astype(int) - np.trunc(luma).astype(int)).max() <= 1  # truncated as torchvision
    floats = T.Grayscale()(T.ToTensor()(RGB))
    np.testing.assert_allclose(floats.numpy()[0], luma / 255, atol=1e-6)


def test_to_pil_image_and_back() -> None:
    x = shenjing.rand(3, 5, 4)
    img = T.ToPILImage()(x)
    assert img.mode == "RGB" and img.size == (4, 5)
    np.testing.assert_array_equal(pixels(img), np.moveaxis((x.numpy() * 255).astype(np.uint8), 0, -1))
    assert T.ToPILImage()(x[0]).mode == "L"
    back = T.PILToTensor()(img)
    assert back.dtype == shenjing.uint8 and back.shape == (3, 5, 4)
    np.testing.assert_allclose(T.ToTensor()(img).numpy(), back.numpy() / 255, atol=1e-7)


def test_reprs_are_torchvisions() -> None:
    assert repr(T.Resize(64)) == "Resize(size=64, interpolation=bilinear, max_size=None, antialias=True)"
    assert repr(T.CenterCrop(10)) == "CenterCrop(size=(10, 10))"
    assert repr(T.RandomCrop(32, padding=4)) == "RandomCrop(size=(32, 32), padding=4)"
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert repr(T.Pad(2)) == "Pad(padding=2, fill=0, padding_mode=constant)"
    assert repr(T.Grayscale()) == "Grayscale(num_output_channels=1)"
    assert repr(T.ToPILImage()) == "ToPILImage()"


def test_bad_arguments_name_the_problem() -> None:
    with pytest.raises(TypeError, match="Size should be int or sequence"):
        T.Resize(2.5)
    with pytest.raises(ValueError, match="1 or 2 values"):
        T.Resize((1, 2, 3))
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge, reflect or symmetric"):
        T.Pad(2, padding_mode="wrap")
    with pytest.raises(ValueError, match="1, 2, or 4 element tuple"):
        T.Pad((1, 2, 3))
    with pytest.raises(TypeError, match="img should be a PIL Image or a Tensor, got list"):
        TF.hflip([1, 2])
    with pytest.raises(ValueError, match="max_size = 10 must be strictly greater"):
        T.Resize(10, max_size=10)(GRAY)
    with pytest.raises(TypeError, match="interpolation should be an InterpolationMode"):
        T.Resize(10, interpolation="sideways")


def test_fake_data_is_repeatable_and_keeps_the_global_generator() -> None:
    data = datasets.FakeData(size=6, image_size=(3, 8, 5), num_classes=4, transform=T.ToTensor())
    shenjing.manual_seed(11)
    expected_next = shenjing.rand(3)
    shenjing.manual_seed(11)
    image, label = data[2]
    np.testing.assert_array_equal(shenjing.rand(3).numpy(), expected_next.numpy())  # the global state is kept
    again, label_again = data[2]
    assert image.shape == (3, 8, 5) and 0 <= label < 4 and label == label_again
    np.testing.assert_array_equal(image.numpy(), again.numpy())
    assert not np.array_equal(image.numpy(), data[3][0].numpy())
    assert len(data) == 6
    with pytest.raises(IndexError, match="index out of range: 6"):
        data[6]
