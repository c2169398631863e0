"""The MNIST GAN recipe shared by ``examples/gan_mnist.py``, ``examples/dcgan_mnist.py`` and ``benchmarks/bench_gan.py``.

Adam (lr 2e-4, betas (0.5, 0.999)) for both networks, batches of 64 (last partial batch dropped), pixels scaled
to [−1, 1], one-sided label smoothing 0.1, 64 fixed noise vectors for the progress grids; afterwards 10 000
samples from seeded noise are scored by :mod:`shenjing.gan.quality` against the 10 000 test digits.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import shenjing

from ..data import DataLoader, Subset
from ..datasets import mnist
from .models import dcgan_discriminator, dcgan_generator, dcgan_init_, mlp_discriminator, mlp_generator
from .quality import load_mnist_scorer, to_scorer_input
from .trainer import GANTrainer

__all__ = ["build", "run", "generate", "add_arguments"]

LATENT = 100


def build(arch: str, width: int = 64) -> tuple:
    """(generator, discriminator, latent_shape) of ``arch`` ``"mlp"`` or ``"dcgan"``, freshly initialised."""
    if arch == "mlp":
        return mlp_generator(LATENT), mlp_discriminator(), LATENT
    if arch == "dcgan":
        g, d = dcgan_generator(LATENT, width), dcgan_discriminator(width)
        g.apply(dcgan_init_)
        d.apply(dcgan_init_)
        return g, d, (LATENT, 1, 1)
    raise ValueError(f"expected arch 'mlp' or 'dcgan', got {arch!r}")


def generate(generator: Any, latent_shape: Any, n: int, seed: int, batch_size: int = 500) -> shenjing.Tensor:
    """n samples of ``generator`` (eval mode, no gradients) from noise of its own seeded generator."""
    shape = (latent_shape,) if isinstance(latent_shape, int) else tuple(latent_shape)
    rng = shenjing.Generator().manual_seed(seed)
    generator.eval()
    out = []
    with shenjing.no_grad():
        for start in range(0, n, batch_size):
            out.append(generator(shenjing.randn(min(batch_size, n - start), *shape, generator=rng)))
    generator.train()
    return shenjing.cat(out)


def add_arguments(parser: Any, epochs: int) -> None:
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--smoothing", type=float, default=0.1, help="one-sided label smoothing (0 turns it off)")
    parser.add_argument("--width", type=int, default=64, help="DCGAN channel width w")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="folder with the MNIST IDX files (default $SHENJING_DATA)")
    parser.add_argument("--out", default=None, help="where to write (default runs/<name>)")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    parser.add_argument(
        "--scorer",
        default=os.path.join("runs", "gan", "scorer.safetensors"),
        help="the scoring CNN's model file (trained there first when missing)",
    )
    parser.add_argument("--score-n", type=int, default=10000, help="generated images to score (0: no score)")
    parser.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.safetensors")
    parser.add_argument("--on-problem", choices=("stop", "warn", "raise"), default="stop")


def run(arch: str, args: Any) -> dict:
    """Train ``arch`` on MNIST as ``args`` says (see :func:`add_arguments`); returns and writes ``metrics.json``."""
    out = args.out or os.path.join("runs", "gan_mnist" if arch == "mlp" else "dcgan_mnist")
    shenjing.manual_seed(args.seed)
    train = mnist(args.data, train=True, flatten=arch == "mlp", normalize=(0.5, 0.5))  # x ← 2·pixel/255 − 1
    if args.limit:
        train = Subset(train, range(min(args.limit, len(train))))
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, drop_last=True, generator=args.seed)
    g, d, latent = build(arch, args.width)
    adam = dict(lr=args.lr, betas=(0.5, 0.999))
    scorer = load_mnist_scorer(args.scorer, args.data) if args.score_n else None
    trainer = GANTrainer(
        g, d, shenjing.optim.Adam(g.parameters(), **adam), shenjing.optim.Adam(d.parameters(), **adam),
        latent_shape=latent, label_smoothing=args.smoothing, seed=args.seed, out_dir=out, scorer=scorer,
        scorer_transform=to_scorer_input, on_problem=args.on_problem,
    )  # fmt: skip
    checkpoint = os.path.join(out, "checkpoint.safetensors")
    if args.resume and os.path.exists(checkpoint):
        trainer.load_checkpoint(checkpoint, loader)
        print(f"resumed from {checkpoint} after epoch {trainer.epoch}")
    times = []
    while trainer.epoch < args.epochs:
        start = time.perf_counter()
        history = trainer.fit(loader, trainer.epoch + 1)
        times.append(time.perf_counter() - start)
        h = history
        print(f"epoch {trainer.epoch}: D loss {h['d_loss'][-1]:.3f}  G loss {h['g_loss'][-1]:.3f}  "
              f"D(x) {h['d_real'][-1]:.3f}  D(G(z)) {h['d_fake'][-1]:.3f}  diversity {h['diversity'][-1]:.2f}  "
              f"entropy {h['entropy'][-1] if h['entropy'][-1] is None else round(h['entropy'][-1], 3)}  "
              f"({times[-1]:.1f} s)", flush=True)  # fmt: skip
        if history.stop_reason:
            print(f"stopped: {history.stop_reason}")
            break
    metrics: dict = {
        "arch": arch,
        "epochs": trainer.epoch,
        "epoch_seconds": times,
        "stop_reason": trainer.history.stop_reason,
        "problems": trainer.history["problems"],
    }
    if scorer is not None:
        samples = generate(g, latent, args.score_n, seed=args.seed + 1)
        metrics["score"] = scorer.score(to_scorer_input(samples))
        print("score:", {k: v for k, v in metrics["score"].items() if k != "class_histogram"})
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    return metrics
