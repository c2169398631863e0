"""The compatibility suite (issue 9): every ported program differs from its public original in import lines only,
and the fastest programs actually run as shenjing and reach a sane metric. Programs that stop on API still
missing on main are xfail(strict=False) with the cause (compat/STATUS.md); the coordinator flips them when the
API lands. The side-by-side comparison with PyTorch is benchmarks/bench_compat.py (not a test: it is timed)."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import shenjing
from compat.port import check_imports_only, port_line, port_source, programs, sources
from compat.suite import BY_NAME, PROGRAMS
from shenjing.vision import datasets, transforms, utils

ROOT = Path(__file__).resolve().parent.parent
PROGRAM_DIR = ROOT / "compat" / "programs"
MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
if not MNIST.is_dir():
    MNIST = Path("/work/shared/datasets/mnist")


# ---- the port: import lines only -----------------------------------------------------------------------------------
def test_suite_has_at_least_twelve_programs_including_the_textbooks() -> None:
    names = programs()
    assert len(names) >= 12
    assert {"textbook_cnn", "textbook_kfold_mlp"} <= set(names)
    assert set(names) == {p.name for p in PROGRAMS}


@pytest.mark.parametrize("name", programs())
def test_ported_differs_from_original_in_import_lines_only(name: str) -> None:
    """Also each module of a program of several files (modules/X.py → ported_modules/X.py)."""
    for original_path, ported_path in sources(name):
        original = original_path.read_text(encoding="utf-8")
        ported = ported_path.read_text(encoding="utf-8")
        assert check_imports_only(original, ported) == []
        assert ported == port_source(original), f"{ported_path.name} is stale: run python -m compat.port"
        assert "import torch" in original or "from torch" in original
        assert not re.search(r"^\s*(import|from)\s+torch", ported, flags=re.MULTILINE)
        header = original.splitlines()[:3]
        assert any("repo:" in line or "seeds/" in line for line in header), "header must name the source"


def test_a_program_of_several_files_has_its_modules_ported() -> None:
    pairs = sources("word_language_model")
    assert [p.name for p, _ in pairs] == ["original.py", "data.py", "model.py"]
    assert all(ported.parent.name in ("word_language_model", "ported_modules") for _, ported in pairs)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("import torch", "import shenjing as torch"),
        ("import torch.nn as nn", "import shenjing.nn as nn"),
        ("import torch.utils.data", "import shenjing.utils.data"),
        ("from torch import nn, optim", "from shenjing import nn, optim"),
        ("from torch.nn import functional as F", "from shenjing.nn import functional as F"),
        ("from torch.utils.data import DataLoader", "from shenjing.utils.data import DataLoader"),
        ("from torchvision import datasets, transforms", "from shenjing.vision import datasets, transforms"),
        ("from torchvision.utils import save_image", "from shenjing.vision.utils import save_image"),
        ("    import torch, math", "    import shenjing as torch, math"),
        ("import numpy as np", "import numpy as np"),
        ("from torchaudio import x", "from torchaudio import x"),
        ("x = torch.zeros(3)  # import torch", "x = torch.zeros(3)  # import torch"),
    ],
)
def test_port_line(line: str, expected: str) -> None:
    assert port_line(line) == expected


def test_check_flags_a_changed_program_line() -> None:
    original = "import torch\nx = torch.ones(2)\n"
    problems = check_imports_only(original, "import shenjing as torch\nx = torch.ones(3)\n")
    assert len(problems) == 1 and "line 2" in problems[0]
    assert check_imports_only(original, original) != []  # torch still imported


# ---- shenjing.vision against torchvision's definitions --------------------------------------------------------------
def test_to_tensor_and_normalize_match_torchvision_formulas() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(5, 7), dtype=np.uint8)
    out = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])(image)
    expected = (torch.from_numpy(image).float().div(255).unsqueeze(0) - 0.1307) / 0.3081
    assert out.shape == (1, 5, 7) and out.dtype == shenjing.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)
    rgb = rng.integers(0, 256, size=(4, 3, 3), dtype=np.uint8)
    out = transforms.Normalize((0.5, 0.4, 0.3), (0.2, 0.3, 0.4))(transforms.ToTensor()(rgb))
    mean, std = torch.tensor([0.5, 0.4, 0.3]).view(3, 1, 1), torch.tensor([0.2, 0.3, 0.4]).view(3, 1, 1)
    expected = (torch.from_numpy(rgb).permute(2, 0, 1).float() / 255 - mean) / std
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)
    assert transforms.ToTensor()(np.ones((2, 2), np.float64)).dtype == shenjing.float64  # no scaling, as torchvision
    flat = transforms.Lambda(lambda x: shenjing.flatten(x))(out)
    assert flat.shape == (36,)


def test_transform_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="std"):
        transforms.Normalize((0.5,), (0.0,))
    with pytest.raises(ValueError, match=r"\(1, 2, 2\)"):
        transforms.Normalize((0.1, 0.2), (1.0, 1.0))(shenjing.zeros(1, 2, 2))
    with pytest.raises(TypeError, match="callable"):
        transforms.Lambda(3)


@pytest.mark.skipif(not (MNIST / "t10k-images-idx3-ubyte.gz").is_file(), reason=f"no MNIST files in {MNIST}")
def test_mnist_dataset_reads_local_files_like_torchvision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHENJING_DATA", raising=False)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (raw / name).symlink_to(MNIST / name)
    ds = datasets.MNIST(str(tmp_path), train=False, transform=transforms.ToTensor(), target_transform=lambda y: y + 1)
    assert len(ds) == 10000 and ds.data.shape == (10000, 28, 28) and ds.data.dtype == shenjing.uint8
    assert ds.targets.dtype == shenjing.int64
    image, label = ds[0]
    assert image.shape == (1, 28, 28) and label == 7 + 1  # the first test digit is a 7
    assert float(image.max().item()) == 1.0
    plain = datasets.MNIST(str(tmp_path), train=False)
    from PIL import Image

    assert isinstance(plain[0][0], Image.Image) and plain[0][0].mode == "L"
    with pytest.raises(RuntimeError, match="download=True"):
        datasets.MNIST(str(tmp_path / "empty"), train=True)


def test_save_image_grid_layout(tmp_path: Path) -> None:
    from PIL import Image

    batch = shenjing.rand(10, 1, 28, 28)
    grid = utils.make_grid(batch, nrow=4)
    assert grid.shape == (3, 3 * 30 + 2, 4 * 30 + 2)  # torchvision: 3 rows of 4, 2 px padding
    np.testing.assert_array_equal(grid.numpy()[0, 2:30, 2:30], batch.numpy()[0, 0])
    utils.save_image(batch, tmp_path / "g.png", nrow=4)
    assert Image.open(tmp_path / "g.png").size == (122, 92)
    utils.save_image(batch[:1], tmp_path / "one.png")
    assert Image.open(tmp_path / "one.png").size == (28, 28)


# ---- the fastest programs, run ported ------------------------------------------------------------------------------
def _run_ported(name: str, timeout: float = 900) -> tuple[subprocess.CompletedProcess, float | None]:
    program = BY_NAME[name]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if program.train_limit:
        env["COMPAT_TRAIN_LIMIT"] = str(program.train_limit)
    done = subprocess.run([sys.executable, "-W", "ignore", "-m", "compat.runner", "shenjing", name, *program.args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done, program.value(done.stdout)


HAS_SKLEARN = (importlib.util.find_spec("sklearn") is not None
               or (ROOT / "compat" / ".site" / "common" / "sklearn").is_dir())


@pytest.mark.skipif(not HAS_SKLEARN,
                    reason="scikit-learn for the textbook's k-fold program: run compat/setup.sh")
def test_textbook_kfold_mlp_runs_ported() -> None:
    _, accuracy = _run_ported("textbook_kfold_mlp")
    assert accuracy is not None and accuracy > 0.85  # PyTorch reaches about 0.94


def test_examples_mnist_rnn_runs_ported() -> None:
    _, accuracy = _run_ported("examples_mnist_rnn")
    assert accuracy is not None and accuracy > 30  # PyTorch: 45 % after one epoch on 12 000 images (Adadelta, lr 0.1)


def test_word_language_model_runs_ported_one_epoch() -> None:
    """pytorch/examples word LM (2-layer LSTM, Embedding, clip_grad_norm_, the deprecated add_(Number, Tensor)
    update, narrow, state_dict save and load) for one epoch on the tiny-Shakespeare word corpus the runner writes."""
    program = BY_NAME["word_language_model"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-W", "ignore", "-m", "compat.runner", "shenjing", program.name,
                           "--data", "corpus", "--epochs", "1", "--log-interval", "50"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.findall(program.metric, done.stdout, flags=re.MULTILINE)
    assert found and float(found[-1]) < 7.6  # from ln(9799) = 9.19 untrained; PyTorch reaches 7.3 in one epoch


def test_examples_dcgan_runs_ported_ten_steps() -> None:
    """pytorch/examples DCGAN (ConvTranspose2d, BatchNorm2d, BCELoss, transforms.Resize(64), tensor.is_cuda,
    save_image(normalize=True), two state_dict checkpoints) on 640 digits: the discriminator learns."""
    program = BY_NAME["examples_dcgan"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), COMPAT_TRAIN_LIMIT="640")
    done = subprocess.run([sys.executable, "-W", "ignore", "-m", "compat.runner", "shenjing", program.name,
                           "--dataset", "mnist", "--dataroot", "data", "--niter", "1", "--ngf", "16", "--ndf", "16",
                           "--manualSeed", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    losses = [float(v) for v in re.findall(program.metric, done.stdout)]
    assert len(losses) == 10 and losses[-1] < 0.8 < losses[0]  # PyTorch: 1.39 -> 0.40 with the same flags
    run = ROOT / "compat" / ".work" / "shenjing" / program.name / "run"
    for name in ("netG_epoch_0.pth", "netD_epoch_0.pth", "fake_samples_epoch_000.png", "real_samples.png"):
        assert (run / name).is_file(), name


def test_examples_siamese_runs_ported_twenty_steps() -> None:
    """pytorch/examples siamese_network (a torchvision ResNet-18 with conv1 swapped and fc cut off by
    ``children()[:-1]``, shared by two images; ``torch.where(p > 0.5, 1, 0)``; Adadelta) on 1280 pairs, then the
    10 000 test pairs: the program runs to its end and beats chance (each test pair is positive or negative by
    its index's parity, so a constant answer scores exactly 50 %; 60.5 % here, the runner seeds the pairs)."""
    program = BY_NAME["examples_siamese"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), COMPAT_TRAIN_LIMIT="1280")
    done = subprocess.run([sys.executable, "-W", "ignore", "-m", "compat.runner", "shenjing", program.name,
                           "--epochs", "1", "--log-interval", "4"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    losses = [float(v) for v in re.findall(r"Loss: ([\d.]+)", done.stdout)]
    assert len(losses) == 5 and all(math.isfinite(v) for v in losses)
    found = re.findall(r"Accuracy: (\d+)/(\d+)", done.stdout)
    assert found and int(found[-1][1]) == 10000 and int(found[-1][0]) > 5500


def test_tut_spatial_transformer_runs_ported_twenty_short_epochs() -> None:
    """pytorch/tutorials' spatial transformer (F.affine_grid + F.grid_sample learned end to end, Dropout2d, the
    deprecated size_average, DataLoader(num_workers=4), matplotlib at the end) on 640 training and 1000 test
    digits: all 20 epochs run and the network learns (chance is 10 %; 62 % here, the runner seeds the shuffle)."""
    pytest.importorskip("six", reason="the tutorial imports six.moves.urllib (the test extra installs six)")
    env = dict(os.environ, PYTHONPATH=str(ROOT), COMPAT_TRAIN_LIMIT="640", COMPAT_TEST_LIMIT="1000")
    done = subprocess.run([sys.executable, "-W", "ignore", "-m", "compat.runner", "shenjing",
                           "tut_spatial_transformer"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    found = [(float(loss), int(right), int(total)) for loss, right, total in
             re.findall(r"Average loss: ([\d.]+), Accuracy: (\d+)/(\d+)", done.stdout)]
    assert len(found) == 20 and all(total == 1000 for _, _, total in found)
    assert found[-1][0] < found[0][0] and found[-1][1] > 450


@pytest.mark.parametrize("name", ["tut_tensorqs", "tut_autogradqs", "tut_blitz_neural_networks"])
def test_tutorials_print_what_pytorch_prints(name: str) -> None:
    """pytorch/tutorials basics/tensorqs (tensors printed, sliced, joined, matmul / mul with out=, the NumPy
    bridge), autogradqs (grad_fn names, .grad, no_grad, detach, backward(v, retain_graph=True)) and blitz's
    neural networks (LeNet, the grad_fn chain MseLoss → Addmm → AccumulateGrad): the ported program's output is
    PyTorch's character for character, but for its random values (and object addresses)."""
    program = BY_NAME[name]
    source = ROOT / "compat" / "programs" / program.name
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def seeded(framework: str, path: Path) -> list:  # seeded, so the random values' signs (and widths) are fixed
        return [sys.executable, "-W", "ignore", "-c",
                f"import {framework}, runpy; {framework}.manual_seed(0); runpy.run_path({str(path)!r}, "
                "run_name='__main__')"]

    theirs = subprocess.run(seeded("torch", source / "original.py"), cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    ours = subprocess.run(seeded("shenjing", source / "ported.py"), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert theirs.returncode == 0, theirs.stderr[-2000:]
    assert ours.returncode == 0, ours.stderr[-2000:]
    want, got = program.normalized(theirs.stdout), program.normalized(ours.stdout)
    assert got.count("\n") > 15 and got == want


def test_tut_polynomial_nn_runs_ported() -> None:
    _, loss = _run_ported("tut_polynomial_nn")
    assert loss is not None and loss < 50  # PyTorch ends near 9


def test_tut_polynomial_autograd_runs_ported() -> None:
    _, loss = _run_ported("tut_polynomial_autograd")
    assert loss is not None and loss < 5000  # from random N(0, 1) coefficients; PyTorch ends between ~10 and ~1000


def test_tut_polynomial_custom_function_runs_ported() -> None:
    _, loss = _run_ported("tut_polynomial_custom_function")
    assert loss is not None and loss < 50  # PyTorch ends near 9


def test_tut_polynomial_module_runs_ported() -> None:
    _, loss = _run_ported("tut_polynomial_module")
    assert loss is not None and loss < 5000  # from random N(0, 1) coefficients; PyTorch ends between ~10 and ~1000
