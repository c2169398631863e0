"""Run one program of the suite, as PyTorch (original.py) or as shenjing (ported.py), in this process.

    python -m compat.runner torch NAME      # compat/programs/NAME/original.py with torch and torchvision
    python -m compat.runner shenjing NAME   # compat/programs/NAME/ported.py with shenjing

What it arranges around the program, identically for both frameworks (no program line is changed):
- a fresh working folder compat/.work/<framework>/<NAME>/run (the program's cwd), with the local data where the
  program looks for it: MNIST's IDX files (gunzipped, torchvision's layout) under ../data/MNIST/raw, ./data/MNIST/raw
  and the FashionMNIST folders (the quickstart's FashionMNIST reads the MNIST digits: Fashion-MNIST is not
  available offline), tiny Shakespeare as ./input.txt and as a word corpus ./corpus/{train,valid,test}.txt, and
  an empty results/ folder (vae writes there); a program of several files gets its modules/ (ported_modules/ for
  shenjing) on sys.path;
- COMPAT_TRAIN_LIMIT=N keeps the first N images of every MNIST / FashionMNIST training split (for programs
  without a flag of their own); COMPAT_TEST_LIMIT=N the first N of the test splits (quick runs in the tests);
- Python's `random` seeded with COMPAT_SEED (0) on both sides, and each framework's own generator too;
- sys.argv = [program] + the flags after NAME (the program's own flags: --epochs and the like);
- the reference side gets torchvision 0.28 from compat/.site/reference (installed by compat/setup.sh) with its
  compiled operators left out (that wheel's C++ ops do not match the CPU torch 2.13.0 build; the datasets,
  transforms and save_image that these programs use are pure Python), and both sides get scikit-learn from
  the environment (the project's `train` extra) or else compat/.site/common.
The program's wall time (after the framework is imported) is printed last on stderr as ``COMPAT_TIME <seconds>``.
"""

from __future__ import annotations

import gzip
import os
import random
import runpy
import shutil
import sys
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
SITE = HERE / ".site"
WORK = HERE / ".work"
SHARED = Path(os.environ.get("COMPAT_SHARED_DATA", HERE.parent.parent / "shared" / "datasets"))
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def shared_data() -> Path:
    """The shared datasets: $COMPAT_SHARED_DATA, else ../shared/datasets beside the checkout, else /work/shared."""
    for candidate in (SHARED, Path("/work/shared/datasets")):
        if (candidate / "mnist").is_dir():
            return candidate
    raise FileNotFoundError(f"compat: MNIST not found in {SHARED}/mnist; set COMPAT_SHARED_DATA to the datasets folder")


def gunzipped_mnist() -> Path:
    """MNIST's four IDX files uncompressed once (torchvision checks for the uncompressed names)."""
    folder = WORK / "mnist_raw"
    folder.mkdir(parents=True, exist_ok=True)
    for name in MNIST_FILES:
        target = folder / name
        if not target.is_file():
            with gzip.open(shared_data() / "mnist" / f"{name}.gz", "rb") as src:
                data = src.read()
            partial = folder / f".{name}.part"
            partial.write_bytes(data)
            partial.replace(target)
    return folder


def prepare(framework: str, name: str) -> Path:
    base = WORK / framework / name
    shutil.rmtree(base, ignore_errors=True)
    run = base / "run"
    run.mkdir(parents=True)
    (run / "results").mkdir()
    raw = gunzipped_mnist()
    for root in (base / "data", run / "data", run):  # ../data, ./data and . (the spatial transformer's root='.')
        for dataset in ("MNIST", "FashionMNIST"):
            folder = root / dataset / "raw"
            folder.mkdir(parents=True)
            for file in MNIST_FILES:
                (folder / file).symlink_to(raw / file)
    text = shared_data() / "tinyshakespeare" / "input.txt"
    if text.is_file():
        (run / "input.txt").symlink_to(text)
        write_corpus(text, run / "corpus")
    return run


def write_corpus(text: Path, folder: Path) -> None:
    """A word-level corpus in WikiText-2's layout (train / valid / test .txt) from tiny Shakespeare's first 10 000
    lines, split 8 000 / 1 000 / 1 000 by position: for the word language model (``--data corpus``)."""
    lines = text.read_text(encoding="utf-8").splitlines()
    folder.mkdir()
    for part, (start, stop) in {"train": (0, 8000), "valid": (8000, 9000), "test": (9000, 10000)}.items():
        (folder / f"{part}.txt").write_text("\n".join(lines[start:stop]) + "\n", encoding="utf-8")


def limit_training_sets(classes: list[type]) -> None:
    """Keep the first COMPAT_TRAIN_LIMIT samples of each training split (``.data`` / ``.targets``, as torchvision),
    and the first COMPAT_TEST_LIMIT of each test split (for quick test runs of programs that test every epoch)."""
    train_limit, test_limit = os.environ.get("COMPAT_TRAIN_LIMIT"), os.environ.get("COMPAT_TEST_LIMIT")
    if not train_limit and not test_limit:
        return
    for cls in classes:
        original_init = cls.__init__

        def __init__(self, *args, _init=original_init, **kwargs):  # noqa: N807
            _init(self, *args, **kwargs)
            limit = train_limit if self.train else test_limit
            if limit:
                self.data, self.targets = self.data[: int(limit)], self.targets[: int(limit)]

        cls.__init__ = __init__


SEED = int(os.environ.get("COMPAT_SEED", "0"))


def setup_torch() -> None:
    sys.path.insert(0, str(SITE / "reference"))
    # torchvision's fake-kernel registrations need its compiled ops, which this wheel lacks for torch 2.13.0+cpu
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torch
    import torchvision.datasets

    torch.manual_seed(SEED)  # programs that draw random values without a seed: the same run every time
    limit_training_sets([torchvision.datasets.MNIST])


def setup_shenjing() -> None:
    sys.path.insert(0, str(HERE.parent))
    import shenjing

    shenjing.manual_seed(SEED)  # a different stream from torch's for the same seed, but the same run every time
    try:
        import shenjing.vision.datasets as vision_datasets
    except ImportError:
        return
    # the local FashionMNIST folders hold the MNIST digits (no Fashion-MNIST offline): check them as MNIST's files
    vision_datasets.FashionMNIST._files = vision_datasets.MNIST._files
    limit_training_sets([vision_datasets.MNIST])


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("torch", "shenjing"):
        print("usage: python -m compat.runner {torch|shenjing} NAME [program flags...]", file=sys.stderr)
        return 2
    framework, name, flags = argv[0], argv[1], argv[2:]
    source = HERE / "programs" / name / ("original.py" if framework == "torch" else "ported.py")
    if not source.is_file():
        print(f"compat: no program {source}", file=sys.stderr)
        return 2
    sys.path.append(str(SITE / "common"))  # scikit-learn, where the environment has none of its own
    run = prepare(framework, name)
    setup_torch() if framework == "torch" else setup_shenjing()
    random.seed(SEED)  # programs that draw from Python's own generator unseeded (siamese's pairs): one run, and the
    os.chdir(run)  # same pairs on both sides
    modules = source.parent / ("modules" if framework == "torch" else "ported_modules")
    if modules.is_dir():  # a program of several files: its own modules (data.py, model.py) importable by name
        sys.path.insert(0, str(modules))
    sys.argv = [str(source), *flags]
    start = time.perf_counter()
    try:
        runpy.run_path(str(source), run_name="__main__")
    finally:
        sys.stdout.flush()
        print(f"COMPAT_TIME {time.perf_counter() - start:.3f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
