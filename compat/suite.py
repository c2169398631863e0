"""The programs of the compatibility suite: how each is run, where its final metric is read, what it must reach.

Each entry names a folder of compat/programs/. ``args`` are the program's own command-line flags (epochs, sizes);
``train_limit`` (where set) keeps only the first N training images of MNIST-style data sets, applied by
compat/runner.py identically to torchvision's and shenjing.vision's data sets (the env var COMPAT_TRAIN_LIMIT),
for programs that have no flag of their own for it. ``metric`` is a regular expression whose last match in the
program's output is the final metric; ``kind`` says how to compare it with PyTorch's:
``accuracy`` (percent, within 3 points), ``fraction`` (an accuracy in [0, 1]), ``error`` (a fraction in [0, 1],
compared as accuracy = 100 (1 - error)), ``loss`` (within 10 %), ``below`` (the program stops when its loss is
below ``threshold``: both must get there), ``output`` (the whole printed output must be PyTorch's, character
for character, after ``shenjing.`` is read as ``torch.`` and the ``mask`` regex, the random values, is blanked:
for tutorials that print tensors; the metric is a CRC-32 of that text). ``reduce="mean"`` takes the mean of
every match instead of the last (for a GAN, whose losses swing from batch to batch: the mean discriminator loss).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

FLOAT = r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"


@dataclass(frozen=True)
class Program:
    name: str
    metric: str
    kind: str
    args: tuple[str, ...] = ()
    train_limit: int | None = None
    conv: bool = False
    threshold: float | None = None
    data: tuple[str, ...] = field(default=("mnist",))
    note: str = ""
    reduce: str = "last"
    mask: str = ""

    def normalized(self, stdout: str) -> str:
        """The output as compared for ``kind="output"``: shenjing's names as torch's, the masked values blanked."""
        text = stdout.replace("shenjing.", "torch.")
        if self.mask:
            text = re.sub(self.mask, "#", text)
        return "\n".join(line.rstrip() for line in text.strip().splitlines())

    def value(self, stdout: str) -> float | None:
        """The program's final metric read from its output (None when it printed none)."""
        if self.kind == "output":
            return float(zlib.crc32(self.normalized(stdout).encode("utf-8"))) if stdout.strip() else None
        found = [float(m) for m in re.findall(self.metric, stdout, flags=re.MULTILINE)]
        if not found:
            return None
        return sum(found) / len(found) if self.reduce == "mean" else found[-1]


PROGRAMS = (
    Program("textbook_cnn", rf"Accuracy: \d+/\d+ \({FLOAT}%\)", "accuracy", ("--epochs", "1"), 6000, conv=True,
            note="textbook 001 section 5.2 (completed)"),
    Program("textbook_kfold_mlp", rf"mean validation accuracy: {FLOAT}", "fraction", data=(),
            note="textbook 004 k-fold MLP (repaired), scikit-learn digits"),
    Program("examples_mnist", rf"Accuracy: \d+/\d+ \({FLOAT}%\)", "accuracy", ("--epochs", "1"), 12000, conv=True),
    Program("examples_vae", rf"Test set loss: {FLOAT}", "loss", ("--epochs", "1"), 12000),
    Program("examples_forward_forward", rf"test error: {FLOAT}", "error",
            ("--epochs", "30", "--train_size", "2000", "--test_size", "1000"), note="forward-forward, 30 epochs"),
    Program("tut_polynomial_nn", rf"^1999 {FLOAT}$", "loss", data=()),
    Program("tut_polynomial_optim", rf"^1999 {FLOAT}$", "loss", data=()),
    Program("tut_polynomial_module", rf"^1999 {FLOAT}$", "loss", data=()),
    Program("tut_polynomial_autograd", rf"^1999 {FLOAT}$", "loss", data=()),
    Program("tut_polynomial_custom_function", rf"^1999 {FLOAT}$", "loss", data=()),
    Program("tut_quickstart", rf"Accuracy: {FLOAT}%", "accuracy", (), 12000,
            note="FashionMNIST read from the MNIST digits files (no Fashion-MNIST offline)"),
    Program("karpathy_bigram", rf"val loss {FLOAT}", "loss", data=("tinyshakespeare",)),
    Program("examples_mnist_rnn", rf"Accuracy: \d+/\d+ \({FLOAT}%\)", "accuracy", ("--epochs", "1"), 12000,
            note="pytorch/examples mnist_rnn: LSTM(28→64) over image rows, BatchNorm1d, Dropout2d on 2-D input"),
    Program("word_language_model", rf"End of training \| test loss\s+{FLOAT}", "loss",
            ("--data", "corpus", "--epochs", "3", "--log-interval", "50"), data=("tinyshakespeare",),
            note="pytorch/examples word LM (2-layer LSTM), 3 epochs on tiny Shakespeare's first 10 000 lines"),
    Program("examples_dcgan", rf"Loss_D: {FLOAT}", "loss",
            ("--dataset", "mnist", "--dataroot", "data", "--niter", "1", "--ngf", "32", "--ndf", "32",
             "--manualSeed", "1"), 3200, conv=True, reduce="mean",
            note="pytorch/examples DCGAN on MNIST resized to 64 x 64, ngf = ndf = 32, 50 steps: mean Loss_D"),
    Program("examples_siamese", rf"Accuracy: \d+/\d+ \({FLOAT}%\)", "accuracy", ("--epochs", "1"), 24000, conv=True,
            note="pytorch/examples siamese_network: a torchvision ResNet-18 with conv1 replaced and fc cut off, "
                 "shared by both images; BCELoss, Adadelta; 24 000 training pairs, the 10 000 test pairs"),
    Program("tut_tensorqs", "", "output", data=(), mask=r"\d\.\d{4}",
            note="pytorch/tutorials basics/tensorqs: tensors printed, indexed, joined, multiplied (out=), bridged to "
                 "NumPy; the printed output must be PyTorch's but for the random values"),
    Program("tut_autogradqs", "", "output", data=(), mask=r"-?\d\.\d{4}|0x[0-9a-f]+",
            note="pytorch/tutorials basics/autogradqs: grad_fn names, .grad, no_grad, detach, vector-Jacobian "
                 "products with retain_graph; the printed output must be PyTorch's but for random values, addresses"),
    Program("tut_blitz_neural_networks", "", "output", data=(), mask=r"\s*-?\d\.\d{4}|0x[0-9a-f]+",
            note="pytorch/tutorials blitz/neural_networks: LeNet printed, its parameters, a random input's output "
                 "and loss, the grad_fn chain (MseLoss, Addmm, AccumulateGrad), conv1.bias.grad before and after"),
    Program("tut_spatial_transformer", rf"Accuracy: \d+/\d+ \({FLOAT}%\)", "accuracy", (), 3000, conv=True,
            note="pytorch/tutorials spatial transformer: F.affine_grid + F.grid_sample, its 20 epochs on 3000 "
                 "training digits, each tested on the 10 000"),
)

BY_NAME = {p.name: p for p in PROGRAMS}
