"""MNIST and FashionMNIST with torchvision's constructor and sample format, read from local IDX files.

``MNIST(root, train=True, transform=None, target_transform=None, download=False)`` looks for the four IDX files
(gzipped or not) in ``root/MNIST/raw`` (torchvision's layout), ``root/MNIST`` and ``root``; with
``download=True`` missing files are fetched by :mod:`shenjing.datasets.mnist` (its mirrors and MD5 checks, or
``$SHENJING_DATA`` when ``root`` does not have them). ``ds[i]`` is ``(image, label)``: a Pillow image of mode
``L`` passed through ``transform``, and an int passed through ``target_transform``, as torchvision.
``ds.data`` (uint8, N x 28 x 28) and ``ds.targets`` (int64, N) are Tensors.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..data.dataset import Dataset
from ..datasets._download import data_root
from ..tensor import tensor

_idx = importlib.import_module("shenjing.datasets.mnist")  # the module: shenjing.datasets.mnist is also a function

__all__ = ["MNIST", "FashionMNIST", "FakeData"]


class MNIST(Dataset):
    """The MNIST digits (60 000 training, 10 000 test images of 28 x 28 pixels), torchvision-shaped."""

    classes = _idx.MNIST_CLASSES
    _files = _idx.MNIST_FILES
    _mirrors = _idx.MNIST_MIRRORS

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        download: bool = False,
    ) -> None:
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        images, labels = self._read(download)
        self.data = tensor(images)
        self.targets = tensor(labels.astype("int64"))

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    def _read(self, download: bool) -> tuple[Any, Any]:
        name = type(self).__name__
        specs = self._files["train" if self.train else "test"]
        folders = [Path(self.raw_folder), Path(self.root, name), Path(self.root)]
        paths = [_idx._find(folders, spec) for spec in specs]
        if any(p is None for p in paths):
            # not under root: the shared cache ($SHENJING_DATA), downloading into it only when allowed
            cache = data_root(None)
            paths = [_idx._find([cache / name, cache / name.lower().replace("fashionmnist", "fashion_mnist"), cache],
                                spec) for spec in specs]
        if any(p is None for p in paths):
            if not download:
                missing = ", ".join(spec.name for spec in specs)
                raise RuntimeError(
                    f"{name}: dataset not found: {missing} are neither in {self.raw_folder} nor in {data_root(None)}."
                    " You can use download=True to download it"
                )
            return _idx._load(name, "", self._files, self._mirrors, self.raw_folder, self.train, True)
        return tuple(_idx._read_checked(path, spec) for path, spec in zip(paths, specs, strict=True))

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image  # optional dependency, as torchvision's

        img, target = self.data[index].numpy(), int(self.targets[index].item())
        img = Image.fromarray(img, mode="L")
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}", f"    Root location: "
                 f"{self.root}", f"    Split: {split}"]
        if self.transform is not None:
            lines.append(f"    StandardTransform\nTransform: {self.transform}")
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (same format as MNIST), files in ``root/FashionMNIST/raw``; MD5s of the .gz files."""

    classes = _idx.FASHION_MNIST_CLASSES
    _files = _idx.FASHION_MNIST_FILES
    _mirrors = _idx.FASHION_MNIST_MIRRORS


class FakeData(Dataset):
    """``size`` random images of ``image_size`` (C, H, W) with random labels, as torchvision's FakeData.

    Sample i is drawn from a generator seeded with ``i + random_offset`` (the global generator's state is kept),
    so the same index gives the same image every time; the image is a Pillow image (``ToPILImage`` of N(0, 1)
    noise clamped to [0, 1]), passed through ``transform``.
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, int, int] = (3, 224, 224), num_classes: int = 10,
                 transform: Callable[[Any], Any] | None = None, target_transform: Callable[[Any], Any] | None = None,
                 random_offset: int = 0) -> None:
        if len(tuple(image_size)) != 3 or image_size[0] not in (1, 3, 4):
            raise ValueError(f"FakeData: image_size should be (C, H, W) with C in 1, 3, 4, got {image_size!r}")
        self.size, self.image_size, self.num_classes = int(size), tuple(image_size), int(num_classes)
        self.transform, self.target_transform, self.random_offset = transform, target_transform, random_offset

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from .. import backend, creation, random
        from .transforms.functional import to_pil_image

        if not -self.size <= index < self.size:
            raise IndexError(f"{type(self).__name__} index out of range: {index} (size {self.size})")
        state = backend.get_rng_state()
        random.manual_seed(index % self.size + self.random_offset)
        img = creation.randn(*self.image_size)
        target = int(creation.randint(0, self.num_classes, size=(1,)).item())
        backend.set_rng_state(state)
        img = to_pil_image(img.clamp(0, 1))  # clamped: torch's float-to-uint8 cast of values outside [0, 1] wraps
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
