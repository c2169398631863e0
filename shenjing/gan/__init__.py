"""Generative adversarial networks: the training helper, sample grids and a sample-quality score.

- :class:`GANTrainer`: two models, two optimizers, BCE-with-logits, one-sided label smoothing, fixed noise,
  per-epoch sample grids and curve plots, exact resumption, mode-collapse and diverging-D detection.
- :mod:`shenjing.gan.quality`: a classifier's confident share, the class-histogram entropy and the Fréchet distance
  of its penultimate features (no outside weights).
"""

from .images import make_grid, save_image_grid, write_png
from .trainer import GANHistory, GANTrainer, plot_gan_curves

__all__ = ["GANTrainer", "GANHistory", "plot_gan_curves", "make_grid", "save_image_grid", "write_png"]
