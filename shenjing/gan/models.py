"""The two GAN architectures of the MNIST examples (and their benchmarks), as plain ``nn.Sequential`` models.

- MLP GAN (Goodfellow et al. 2014, with LeakyReLU): G: z (100) → 256 → 512 → 1024 → 784, tanh;
  D: 784 → 512 → 256 → 1 logit.
- DCGAN (Radford et al. 2016) sized for 28×28: G: z (100, 1, 1) → ConvTranspose2d 7×7 → (2w, 7, 7) → stride-2
  4×4 → (w, 14, 14) → stride-2 4×4 → (1, 28, 28), tanh, batch norm + ReLU between; D mirrors it with
  strided convolutions, batch norm and LeakyReLU(0.2), ending in a 7×7 convolution to one logit.
"""

from __future__ import annotations

from .. import nn

__all__ = ["mlp_generator", "mlp_discriminator", "dcgan_generator", "dcgan_discriminator", "dcgan_init_"]


def mlp_generator(latent: int = 100, hidden: tuple = (256, 512, 1024), out: int = 784) -> nn.Sequential:
    layers: list = []
    width = latent
    for h in hidden:
        layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, out), nn.Tanh())


def mlp_discriminator(inp: int = 784, hidden: tuple = (512, 256)) -> nn.Sequential:
    layers: list = []
    width = inp
    for h in hidden:
        layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, 1))


def dcgan_generator(latent: int = 100, width: int = 64) -> nn.Sequential:
    """(N, latent, 1, 1) → (N, 1, 28, 28) in (−1, 1)."""
    return nn.Sequential(
        nn.ConvTranspose2d(latent, 2 * width, 7, 1, 0, bias=False),  # → (2w, 7, 7)
        nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),  # → (w, 14, 14)
        nn.BatchNorm2d(width), nn.ReLU(),
        nn.ConvTranspose2d(width, 1, 4, 2, 1),  # → (1, 28, 28)
        nn.Tanh(),
    )  # fmt: skip


def dcgan_discriminator(width: int = 64) -> nn.Sequential:
    """(N, 1, 28, 28) → (N, 1) logits."""
    return nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),  # → (w, 14, 14)
        nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),  # → (2w, 7, 7)
        nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * width, 1, 7, 1, 0),  # → (1, 1, 1)
        nn.Flatten(),
    )  # fmt: skip


def dcgan_init_(module: nn.Module) -> None:
    """The DCGAN initialisation, for ``model.apply``: convolution weights N(0, 0.02); batch-norm scale N(1, 0.02),
    shift 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
