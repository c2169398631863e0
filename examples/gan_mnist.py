"""An MLP GAN on MNIST, trained with shenjing.gan.GANTrainer and scored by our own MNIST classifier.

    G: z (100) → 256 → 512 → 1024 → 784, LeakyReLU(0.2), tanh      D: 784 → 512 → 256 → 1 logit, LeakyReLU(0.2)

Both with Adam (2e-4, betas (0.5, 0.999)), batches of 64, BCE-with-logits, one-sided label smoothing 0.1. Each
epoch writes ``samples_epoch<k>.png`` (64 fixed noise vectors), ``curves.png`` (D/G losses, D(x), D(G(z))) and
``checkpoint.safetensors`` (``--resume`` continues from it exactly); at the end 10 000 samples are scored:
confident share (max softmax ≥ 0.9), class-histogram entropy (ln 10 = 2.303 is perfect) and the Fréchet distance
of the scorer's 128 penultimate features to those of the 10 000 test digits (``metrics.json``).

    python examples/gan_mnist.py [--epochs 5] [--data DIR] [--out runs/gan_mnist] [--resume] [--limit N]

Measured: see benchmarks/bench_gan.py's docstring for the figures next to PyTorch's.
"""

from __future__ import annotations

import argparse

from shenjing.gan import recipe


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    recipe.add_arguments(parser, epochs=5)
    return recipe.run("mlp", parser.parse_args(argv))


if __name__ == "__main__":
    main()
