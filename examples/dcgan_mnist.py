"""A DCGAN on MNIST (transposed convolutions), trained with shenjing.gan.GANTrainer and scored by our own MNIST classifier.

    G: z (100, 1, 1) → ConvTranspose2d(100, 2w, 7) → BN, ReLU → ConvTranspose2d(2w, w, 4, 2, 1) → BN, ReLU
       → ConvTranspose2d(w, 1, 4, 2, 1) → tanh: (1, 28, 28)
    D: Conv2d(1, w, 4, 2, 1), LeakyReLU(0.2) → Conv2d(w, 2w, 4, 2, 1), BN, LeakyReLU(0.2) → Conv2d(2w, 1, 7) → logit

with the DCGAN initialisation (weights N(0, 0.02)) and w = 64 (``--width``).

Both with Adam (2e-4, betas (0.5, 0.999)), batches of 64, BCE-with-logits, one-sided label smoothing 0.1. Each
epoch writes ``samples_epoch<k>.png`` (64 fixed noise vectors), ``curves.png`` (D/G losses, D(x), D(G(z))) and
``checkpoint.safetensors`` (``--resume`` continues from it exactly); at the end 10 000 samples are scored:
confident share (max softmax ≥ 0.9), class-histogram entropy (ln 10 = 2.303 is perfect) and the Fréchet distance
of the scorer's 128 penultimate features to those of the 10 000 test digits (``metrics.json``).

    python examples/dcgan_mnist.py [--epochs 3] [--data DIR] [--out runs/dcgan_mnist] [--resume] [--limit N]

Measured: see benchmarks/bench_gan.py's docstring for the figures next to PyTorch's.
"""

from __future__ import annotations

import argparse

from shenjing.gan import recipe


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    recipe.add_arguments(parser, epochs=3)
    return recipe.run("dcgan", parser.parse_args(argv))


if __name__ == "__main__":
    main()
