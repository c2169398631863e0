"""The adversarial training loop: a generator G and a discriminator D, each with its own optimizer.

One step on a batch of real samples x (non-saturating GAN, Goodfellow et al. 2014, as the PyTorch DCGAN recipe):

    z ~ N(0, I);  x̃ = G(z)
    D step:  L_D = BCEWithLogits(D(x), 1 − s) + BCEWithLogits(D(x̃.detach()), 0)   (s: one-sided label smoothing)
    G step:  L_G = BCEWithLogits(D(x̃), 1)                                         (gradient flows through D into G)

``detach()`` in the D step keeps the discriminator's loss from reaching the generator's weights; the G step reuses
x̃ (same z) and backpropagates through D, whose gradients are cleared before its next step. Smoothing is one-sided:
only the real targets move to 1 − s, fake targets stay 0 (Salimans et al. 2016).

Reported per step and per epoch (means): ``d_loss``, ``g_loss``, ``d_real`` = mean σ(D(x)) and ``d_fake`` =
mean σ(D(x̃)) before the D update. After every epoch the checks below run on the fixed-noise samples; a problem is
written to ``history["problems"]``, warned about, and with ``on_problem="stop"`` (the default) ends training once it
persists for ``patience`` epochs (``stop_reason`` says why); a non-finite loss stops at once.

- mode collapse: the fixed-noise samples' mean pairwise distance falls below ``collapse_ratio`` times that of
  real samples (every z gives almost the same image); with a ``scorer`` also when the class histogram's entropy of
  the samples falls below ``min_entropy`` nats (few classes left).
- diverging discriminator: over the epoch D(x) > 1 − ``diverge_margin`` and D(G(z)) < ``diverge_margin`` on average
  (D wins outright, G's gradient vanishes), or a loss is NaN/inf.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import shenjing

from .. import nn
from ..backend import backend_of, get_rng_state
from ..io import load_checkpoint as _load_checkpoint
from ..io import save_checkpoint as _save_checkpoint
from ..tensor import Tensor
from .images import save_image_grid

__all__ = ["GANTrainer", "GANHistory", "plot_gan_curves"]

KEYS = ("d_loss", "g_loss", "d_real", "d_fake")


class GANHistory(dict):
    """Per-epoch means ``epoch, d_loss, g_loss, d_real, d_fake, diversity`` (lists), plus ``steps`` (the per-step
    values of the four losses and probabilities), ``problems`` (strings) and ``stop_reason``."""

    def __init__(self) -> None:
        super().__init__({k: [] for k in ("epoch", *KEYS, "diversity", "entropy")})
        self["steps"] = {k: [] for k in KEYS}
        self["problems"] = []
        self["stop_reason"] = None

    @property
    def stop_reason(self) -> str | None:
        return self["stop_reason"]

    def __len__(self) -> int:
        return len(self["epoch"])

    def to_dict(self) -> dict:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.items()}


def _scalar(t: Tensor) -> float:
    return float(t.item())


def _mean_pairwise_distance(x: Any) -> float:
    """Mean Euclidean distance between all pairs of the rows of x (N, ...), via the backend."""
    xp = backend_of(x).xp
    flat = x.reshape(x.shape[0], -1).astype(xp.float64)
    sq = (flat * flat).sum(axis=1)
    d2 = xp.maximum(sq[:, None] + sq[None, :] - 2.0 * flat @ flat.T, 0.0)
    n = flat.shape[0]
    return float(xp.sqrt(d2).sum()) / max(n * (n - 1), 1)


class GANTrainer:
    """Train ``generator`` against ``discriminator`` on batches of real samples.

    Args:
        generator: maps noise (N, *latent_shape) to samples shaped like the real ones.
        discriminator: maps samples to one logit each, (N, 1) or (N,) (no sigmoid: the loss takes logits).
        g_optimizer, d_optimizer: optimizers over the two networks' parameters.
        latent_shape: the noise shape of one sample, an int (MLP: ``100``) or a tuple (DCGAN: ``(100, 1, 1)``).
        label_smoothing: s in [0, 1): real targets become 1 − s (one-sided); 0 turns it off.
        num_fixed: how many fixed-noise samples make each epoch's progress grid.
        seed: seeds the fixed noise (its own generator: the training stream is untouched).
        out_dir: where ``samples_epoch<k>.png`` (one per epoch), ``curves.png`` and ``checkpoint.safetensors``
            go; None writes nothing.
        value_range: the generator's output range, for the grids ((-1, 1) for tanh).
        scorer: an optional :class:`shenjing.gan.quality.QualityScorer` (or any object with
            ``class_entropy(images)``), for the class-histogram collapse check; ``scorer_transform`` maps G's
            output to the scorer's input.
        on_problem: ``"stop"`` (default), ``"warn"`` (keep training) or ``"raise"`` (RuntimeError).
        patience: epochs in a row a problem must persist before ``"stop"``/``"raise"`` act.
        collapse_ratio, min_entropy, diverge_margin: the thresholds of the checks (module docstring).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        g_optimizer: Any,
        d_optimizer: Any,
        latent_shape: int | tuple = 100,
        label_smoothing: float = 0.0,
        num_fixed: int = 64,
        seed: int = 0,
        out_dir: str | os.PathLike | None = None,
        value_range: tuple[float, float] = (-1.0, 1.0),
        scorer: Any = None,
        scorer_transform: Any = None,
        on_problem: str = "stop",
        patience: int = 2,
        collapse_ratio: float = 0.1,
        min_entropy: float = 1.0,
        diverge_margin: float = 0.01,
        device: Any = None,
    ) -> None:
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"GANTrainer: expected label_smoothing in [0, 1), got {label_smoothing}")
        if on_problem not in ("stop", "warn", "raise"):
            raise ValueError(f"GANTrainer: expected on_problem 'stop', 'warn' or 'raise', got {on_problem!r}")
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.latent_shape = (latent_shape,) if isinstance(latent_shape, int) else tuple(latent_shape)
        self.label_smoothing = float(label_smoothing)
        self.out_dir = None if out_dir is None else os.fspath(out_dir)
        self.value_range = value_range
        self.scorer, self.scorer_transform = scorer, scorer_transform
        self.on_problem, self.patience = on_problem, int(patience)
        self.collapse_ratio, self.min_entropy, self.diverge_margin = collapse_ratio, min_entropy, diverge_margin
        self.device = device
        self.loss_fn = nn.BCEWithLogitsLoss()
        fixed = shenjing.Generator().manual_seed(seed)
        self.fixed_noise = shenjing.randn(num_fixed, *self.latent_shape, generator=fixed, device=device)
        self.history = GANHistory()
        self.epoch = 0  # epochs completed
        self._streak: dict[str, int] = {}

    # ---- one step ------------------------------------------------------------------------------------------
    def noise(self, n: int) -> Tensor:
        """z ~ N(0, I), (n, *latent_shape), from the global generator (checkpointed with the run)."""
        return shenjing.randn(n, *self.latent_shape, device=self.device)

    def train_step(self, real: Tensor) -> dict:
        """One D update and one G update on the batch ``real``; returns the step's four numbers."""
        n = real.shape[0]
        g, d = self.generator, self.discriminator
        fake = g(self.noise(n))
        ones = shenjing.full((n,), 1.0 - self.label_smoothing, dtype=fake.dtype, device=self.device)
        zeros = shenjing.zeros((n,), dtype=fake.dtype, device=self.device)
        # D step: the fake batch is detached, so L_D's gradient stops at D's input and never reaches G
        self.d_optimizer.zero_grad()
        logits_real = d(real).reshape(n)
        logits_fake = d(fake.detach()).reshape(n)
        d_loss = self.loss_fn(logits_real, ones) + self.loss_fn(logits_fake, zeros)
        d_loss.backward()
        self.d_optimizer.step()
        # G step: through the updated D, with targets 1 (non-saturating loss −log σ(D(G(z))))
        self.g_optimizer.zero_grad()
        g_loss = self.loss_fn(d(fake).reshape(n), shenjing.ones((n,), dtype=fake.dtype, device=self.device))
        g_loss.backward()
        self.g_optimizer.step()
        return {
            "d_loss": _scalar(d_loss),
            "g_loss": _scalar(g_loss),
            "d_real": _scalar(logits_real.detach().sigmoid().mean()),
            "d_fake": _scalar(logits_fake.detach().sigmoid().mean()),
        }

    # ---- the loop ------------------------------------------------------------------------------------------
    def fit(self, loader: Any, epochs: int, resume: str | os.PathLike | None = None) -> GANHistory:
        """Train until ``epochs`` epochs are complete (counting those of a resumed checkpoint).

        ``loader`` yields real batches (a Tensor, or a tuple whose first item is one, as ``(x, y)``).
        ``resume`` (a checkpoint of :meth:`save_checkpoint`) restores both networks, both optimizers, the RNG
        states, the history and the loader's own shuffling generator: the run then continues exactly as if
        it had never stopped.
        """
        if resume is not None:
            self.load_checkpoint(resume, loader)
        self.history["stop_reason"] = None
        while self.epoch < epochs:
            self.generator.train()
            self.discriminator.train()
            sums = dict.fromkeys(KEYS, 0.0)
            count = 0
            for batch in loader:
                real = batch[0] if isinstance(batch, tuple | list) else batch
                if self.device is not None:
                    real = real.to(self.device)
                values = self.train_step(real)
                for k, v in values.items():
                    sums[k] += v
                    self.history["steps"][k].append(v)
                count += 1
                if not all(math.isfinite(v) for v in values.values()):
                    break
            self.epoch += 1
            self.history["epoch"].append(self.epoch)
            for k in KEYS:
                self.history[k].append(sums[k] / max(count, 1))
            stop = self._check(loader)
            self.write_outputs(loader)
            if stop:
                self.history["stop_reason"] = stop
                break
        return self.history

    def samples(self, noise: Tensor | None = None) -> Tensor:
        """G(fixed noise) in eval mode, without gradients."""
        self.generator.eval()
        with shenjing.no_grad():
            out = self.generator(self.fixed_noise if noise is None else noise)
        self.generator.train()
        return out

    def _real_diversity(self, loader: Any) -> float | None:
        if getattr(self, "_real_div", None) is None:
            dataset = getattr(loader, "dataset", None)
            if dataset is None:
                return None
            k = min(len(self.fixed_noise), len(dataset))
            items = [dataset[i] for i in range(k)]
            xs = [(it[0] if isinstance(it, tuple | list) else it) for it in items]
            arrays = [x.array if isinstance(x, Tensor) else x for x in xs]
            xp = backend_of(arrays[0]).xp
            self._real_div = _mean_pairwise_distance(xp.stack(arrays))
        return self._real_div

    def _check(self, loader: Any) -> str | None:
        """The end-of-epoch checks; returns a stop reason or None."""
        h = self.history
        found = {}
        last = {k: h[k][-1] for k in KEYS}
        if not all(math.isfinite(v) for v in last.values()):
            found["nonfinite"] = f"epoch {self.epoch}: a loss is not finite ({last}); training diverged"
        fake = self.samples().array
        diversity = _mean_pairwise_distance(fake)
        real_div = self._real_diversity(loader)
        ratio = diversity / real_div if real_div else float("nan")
        h["diversity"].append(ratio)
        if real_div and ratio < self.collapse_ratio:
            found["collapse"] = (
                f"epoch {self.epoch}: mode collapse: the fixed-noise samples are {ratio:.3f}× as spread as real "
                f"data (threshold {self.collapse_ratio}); every z gives nearly the same sample"
            )
        entropy = None
        if self.scorer is not None:
            images = self.samples()
            if self.scorer_transform is not None:
                images = self.scorer_transform(images)
            entropy = float(self.scorer.class_entropy(images))
            if entropy < self.min_entropy:
                found.setdefault(
                    "collapse",
                    (
                        f"epoch {self.epoch}: mode collapse: the samples' class histogram has entropy {entropy:.3f} "
                        f"nats (< {self.min_entropy}; ln 10 = 2.303 is all ten classes equally)"
                    ),
                )
        h["entropy"].append(entropy)
        m = self.diverge_margin
        if last["d_real"] > 1 - m and last["d_fake"] < m:
            found["diverge"] = (
                f"epoch {self.epoch}: the discriminator diverges: D(x) = {last['d_real']:.4f}, D(G(z)) = "
                f"{last['d_fake']:.4f}; D wins outright and G's gradient vanishes (lower D's learning rate, add "
                "label smoothing or noise)"
            )
        for kind in ("nonfinite", "collapse", "diverge"):
            self._streak[kind] = self._streak.get(kind, 0) + 1 if kind in found else 0
        for message in found.values():
            h["problems"].append(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)
        acting = [k for k in found if k == "nonfinite" or self._streak[k] >= self.patience]
        if not acting or self.on_problem == "warn" and "nonfinite" not in acting:
            return None
        if self.on_problem == "raise":
            raise RuntimeError(found[acting[0]])
        return {"nonfinite": "diverged (non-finite loss)", "collapse": "mode collapse",
                "diverge": "discriminator diverged"}[acting[0]]  # fmt: skip

    # ---- outputs and checkpoints ---------------------------------------------------------------------------
    def write_outputs(self, loader: Any = None) -> None:
        """The epoch's sample grid, the curve plot and the checkpoint, in ``out_dir``."""
        if self.out_dir is None:
            return
        os.makedirs(self.out_dir, exist_ok=True)
        nrow = max(1, int(math.sqrt(len(self.fixed_noise))))
        save_image_grid(
            self.samples(),
            os.path.join(self.out_dir, f"samples_epoch{self.epoch:03d}.png"),
            nrow=nrow,
            value_range=self.value_range,
        )
        try:
            plot_gan_curves(self.history, os.path.join(self.out_dir, "curves.png"))
        except ImportError:
            pass  # no matplotlib: the grids and the checkpoint still get written
        self.save_checkpoint(os.path.join(self.out_dir, "checkpoint.safetensors"), loader)

    def save_checkpoint(self, path: str | os.PathLike, loader: Any = None) -> None:
        """Both networks, both optimizers, the RNG states, the fixed noise, the history and the loader's own
        shuffling generator (if it has one): what :meth:`fit` needs to resume exactly."""
        loader_rng = _loader_rng(loader)
        _save_checkpoint(
            path,
            _Pair(self.generator, self.discriminator),
            optimizer={"g": self.g_optimizer.state_dict(), "d": self.d_optimizer.state_dict()},
            epoch=self.epoch,
            rng_state=get_rng_state(),
            history=self.history.to_dict(),
            streak=dict(self._streak),
            fixed_noise=backend_of(self.fixed_noise.array).to_host(self.fixed_noise.array),
            loader_rng=None if loader_rng is None else loader_rng.bit_generator.state,
        )

    def load_checkpoint(self, path: str | os.PathLike, loader: Any = None) -> int:
        """Restore what :meth:`save_checkpoint` wrote; returns the epoch it continues from."""
        pair = _Pair(self.generator, self.discriminator)
        saved = _load_checkpoint(path, model=pair, restore_rng=True)
        self.g_optimizer.load_state_dict(saved["optimizer"]["g"])
        self.d_optimizer.load_state_dict(saved["optimizer"]["d"])
        extra = saved["extra"]
        self.epoch = int(saved["epoch"])
        history = GANHistory()
        history.update(extra["history"])
        history["steps"] = {k: list(v) for k, v in extra["history"]["steps"].items()}
        self.history = history
        self._streak = {k: int(v) for k, v in extra.get("streak", {}).items()}
        self.fixed_noise = shenjing.tensor(extra["fixed_noise"], device=self.device)
        rng = _loader_rng(loader)
        if rng is not None and extra.get("loader_rng") is not None:
            rng.bit_generator.state = extra["loader_rng"]
        return self.epoch


class _Pair(nn.Module):
    """G and D under one state dict (``g.*``, ``d.*``) for a single checkpoint file."""

    def __init__(self, g: nn.Module, d: nn.Module) -> None:
        super().__init__()
        self.g, self.d = g, d


def _loader_rng(loader: Any) -> Any:
    """The loader's own NumPy shuffling generator, None when it draws from the global one (checkpointed anyway)."""
    gen = getattr(loader, "generator", None)
    rng = getattr(gen, "rng", gen)
    return rng if hasattr(rng, "bit_generator") else None


def plot_gan_curves(history: Any, path: str | os.PathLike) -> str:
    """Two panels: the D and G losses per step (thin) and per epoch (dots); D(x) and D(G(z)) the same way."""
    from ..train.plots import _figure, _save

    h = history.to_dict() if hasattr(history, "to_dict") else dict(history)
    steps = h.get("steps", {})
    n_epochs = len(h["epoch"])
    per_epoch = max(1, len(steps.get("d_loss", [])) // max(n_epochs, 1))
    figure = _figure(11, 4)
    for panel, (keys, labels, title) in enumerate(
        (
            (("d_loss", "g_loss"), ("D loss", "G loss"), "losses"),
            (("d_real", "d_fake"), ("D(x)", "D(G(z))"), "discriminator outputs"),
        )
    ):
        axes = figure.add_subplot(1, 2, panel + 1)
        for key, label in zip(keys, labels):
            values = steps.get(key, [])
            if values:
                line = axes.plot([(i + 1) / per_epoch for i in range(len(values))], values, lw=0.6, alpha=0.5)[0]
                axes.plot(h["epoch"], h[key], "o-", color=line.get_color(), label=label, markersize=3)
            else:
                axes.plot(h["epoch"], h[key], "o-", label=label, markersize=3)
        axes.set_xlabel("epoch")
        axes.set_title(title)
        axes.grid(True, alpha=0.3)
        axes.legend()
    return _save(figure, path)
