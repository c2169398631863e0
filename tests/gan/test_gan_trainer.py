"""GANTrainer: one step equals PyTorch's recipe (detach, BCE-with-logits, one-sided smoothing), exact resumption,
progress images, and the mode-collapse / diverging-D / non-finite checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import shenjing
from shenjing import nn
from shenjing.data import DataLoader, TensorDataset
from shenjing.gan import GANTrainer
from shenjing.gan.models import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator
from shenjing.io import to_torch_state_dict


def _tiny(latent=4, features=6, dtype=shenjing.float32):
    g = nn.Sequential(nn.Linear(latent, 8), nn.LeakyReLU(0.2), nn.Linear(8, features), nn.Tanh()).to(dtype)
    d = nn.Sequential(nn.Linear(features, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1)).to(dtype)
    return g, d


def _adam(model, lr=1e-2):
    return shenjing.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.999))


def _trainer(g, d, **kw):
    kw.setdefault("num_fixed", 8)
    kw.setdefault("on_problem", "warn")
    return GANTrainer(g, d, _adam(g), _adam(d), latent_shape=g[0].in_features, **kw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_train_steps_match_torch(dtype, smoothing):
    torch = pytest.importorskip("torch", reason="the step is checked against PyTorch 2.13.0")
    sj_dtype, t_dtype = getattr(shenjing, dtype), getattr(torch, dtype)
    g, d = _tiny(dtype=sj_dtype)
    tg = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.LeakyReLU(0.2), torch.nn.Linear(8, 6), torch.nn.Tanh())
    td = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.LeakyReLU(0.2), torch.nn.Linear(8, 1))
    tg.to(t_dtype).load_state_dict(to_torch_state_dict(g))
    td.to(t_dtype).load_state_dict(to_torch_state_dict(d))
    trainer = _trainer(g, d, label_smoothing=smoothing)
    rng = np.random.default_rng(1)
    noises = [rng.standard_normal((5, 4)).astype(dtype) for _ in range(3)]
    reals = [rng.uniform(-1, 1, (5, 6)).astype(dtype) for _ in range(3)]
    feed = iter(noises)
    trainer.noise = lambda n: shenjing.tensor(next(feed))
    opt_g = torch.optim.Adam(tg.parameters(), lr=1e-2, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(td.parameters(), lr=1e-2, betas=(0.5, 0.999))
    bce = torch.nn.BCEWithLogitsLoss()
    for z, x in zip(noises, reals):
        ours = trainer.train_step(shenjing.tensor(x))
        fake = tg(torch.from_numpy(z))
        opt_d.zero_grad()
        out_real, out_fake = td(torch.from_numpy(x)).view(-1), td(fake.detach()).view(-1)
        d_loss = bce(out_real, torch.full((5,), 1.0 - smoothing, dtype=t_dtype)) + bce(
            out_fake, torch.zeros(5, dtype=t_dtype)
        )
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        g_loss = bce(td(fake).view(-1), torch.ones(5, dtype=t_dtype))
        g_loss.backward()
        opt_g.step()
        tol = 1e-5 if dtype == "float32" else 1e-12
        assert ours["d_loss"] == pytest.approx(d_loss.item(), rel=tol, abs=tol)
        assert ours["g_loss"] == pytest.approx(g_loss.item(), rel=tol, abs=tol)
        assert ours["d_real"] == pytest.approx(torch.sigmoid(out_real).mean().item(), rel=tol, abs=tol)
        assert ours["d_fake"] == pytest.approx(torch.sigmoid(out_fake).mean().item(), rel=tol, abs=tol)
    for ours_model, theirs in ((g, tg), (d, td)):
        for (name, p), (_, q) in zip(ours_model.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(
                p.array,
                q.detach().numpy(),
                rtol=1e-4 if dtype == "float32" else 1e-10,
                atol=1e-6 if dtype == "float32" else 1e-12,
                err_msg=name,
            )


def test_d_step_does_not_touch_the_generator():
    """The D loss's gradient stops at the detached fake batch: G's weights move only in the G step."""
    g, d = _tiny()
    trainer = _trainer(g, d)
    before = [p.array.copy() for p in g.parameters()]
    trainer.g_optimizer.step = lambda *a, **k: None  # freeze G's update: any change would come from the D step
    trainer.train_step(shenjing.rand(5, 6) * 2 - 1)
    for a, p in zip(before, g.parameters()):
        np.testing.assert_array_equal(a, p.array)
    assert all(p.grad is not None for p in g.parameters())  # but the G step did backpropagate into G


def _data(n=40, features=6, seed=3):
    return TensorDataset(np.random.default_rng(seed).uniform(-1, 1, (n, features)).astype(np.float32))


def test_resume_continues_exactly(tmp_path):
    """2 epochs straight == 1 epoch, checkpoint, a fresh process-like restart, 1 more epoch: same weights,
    optimizer moments, history and fixed noise, bit for bit."""
    shenjing.manual_seed(5)
    g, d = _tiny()
    straight = _trainer(g, d)
    loader = DataLoader(_data(), batch_size=8, shuffle=True, generator=7)
    straight.fit(loader, 2)

    shenjing.manual_seed(5)
    g1, d1 = _tiny()
    first = _trainer(g1, d1, out_dir=tmp_path)
    first.fit(DataLoader(_data(), batch_size=8, shuffle=True, generator=7), 1)
    shenjing.manual_seed(123)  # the restart has other RNG states, weights and fixed noise until resumed
    g2, d2 = _tiny()
    second = _trainer(g2, d2, seed=99)
    history = second.fit(
        DataLoader(_data(), batch_size=8, shuffle=True, generator=7), 2, resume=tmp_path / "checkpoint.safetensors"
    )
    assert second.epoch == 2 and history["epoch"] == [1, 2]
    for k in ("d_loss", "g_loss", "d_real", "d_fake", "diversity"):
        assert history[k] == straight.history[k], k
    assert history["steps"] == straight.history["steps"]
    np.testing.assert_array_equal(second.fixed_noise.array, straight.fixed_noise.array)
    for a, b in ((g2, g), (d2, d)):
        for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
            np.testing.assert_array_equal(p.array, q.array, err_msg=name)
    sa, sb = second.g_optimizer.state_dict(), straight.g_optimizer.state_dict()
    for key in sb["state"]:
        for moment in ("exp_avg", "exp_avg_sq"):
            a, b = sa["state"][key][moment], sb["state"][key][moment]
            np.testing.assert_array_equal(getattr(a, "array", a), getattr(b, "array", b))


def test_writes_grids_curves_and_checkpoint(tmp_path):
    pytest.importorskip("matplotlib", reason="the curve plot is drawn with matplotlib")
    g = nn.Sequential(nn.Linear(4, 16), nn.Tanh())
    d = nn.Sequential(nn.Linear(16, 1))
    trainer = GANTrainer(g, d, _adam(g), _adam(d), latent_shape=4, num_fixed=9, out_dir=tmp_path, on_problem="warn")
    trainer.fit(DataLoader(_data(features=16), batch_size=8), 2)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["checkpoint.safetensors", "curves.png", "samples_epoch001.png", "samples_epoch002.png"]
    PIL = pytest.importorskip("PIL.Image", reason="reading the grid back")
    grid = np.asarray(PIL.open(tmp_path / "samples_epoch002.png"))
    assert grid.shape == (3 * 6 + 2, 3 * 6 + 2)  # 9 samples of 4×4 in 3 rows of 3, padding 2
    samples = trainer.samples().array.reshape(9, 4, 4)
    expected = np.round(np.clip((samples[4] + 1) / 2, 0, 1) * 255)
    np.testing.assert_array_equal(grid[8:12, 8:12], expected)  # the middle image of the middle row


def _collapsed(tmp_path=None, **kw):
    """A generator that ignores z (zero weights, frozen): every sample is the same image."""
    g = nn.Sequential(nn.Linear(4, 6), nn.Tanh())
    nn.init.zeros_(g[0].weight)
    d = nn.Sequential(nn.Linear(6, 1))
    return GANTrainer(
        g, d, shenjing.optim.SGD(g.parameters(), lr=0.0), _adam(d, 1e-3), latent_shape=4, num_fixed=8, **kw
    )


def test_mode_collapse_stops_after_patience():
    trainer = _collapsed(patience=2)
    with pytest.warns(RuntimeWarning, match="mode collapse"):
        history = trainer.fit(DataLoader(_data(), batch_size=8), 10)
    assert history.stop_reason == "mode collapse" and trainer.epoch == 2
    assert len(history["problems"]) == 2 and history["diversity"][-1] < 1e-6


def test_mode_collapse_warn_trains_on_and_raise_raises():
    trainer = _collapsed(on_problem="warn")
    with pytest.warns(RuntimeWarning, match="mode collapse"):
        assert trainer.fit(DataLoader(_data(), batch_size=8), 3).stop_reason is None
    assert trainer.epoch == 3
    with pytest.raises(RuntimeError, match="mode collapse"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _collapsed(on_problem="raise", patience=1).fit(DataLoader(_data(), batch_size=8), 3)


class _Scorer:
    """A stand-in classifier: every sample is the same class (entropy 0)."""

    def class_entropy(self, images):
        return 0.0


def test_class_histogram_collapse_uses_the_scorer():
    g, d = _tiny()
    trainer = _trainer(g, d, scorer=_Scorer(), patience=1, on_problem="stop", collapse_ratio=0.0)
    with pytest.warns(RuntimeWarning, match="class histogram has entropy 0.000"):
        history = trainer.fit(DataLoader(_data(), batch_size=8), 3)
    assert history.stop_reason == "mode collapse" and history["entropy"] == [0.0]


def test_diverging_discriminator_is_reported():
    """Real data +1, a frozen G giving −1: D separates them perfectly, D(x) → 1, D(G(z)) → 0."""
    g = nn.Sequential(nn.Linear(4, 6), nn.Tanh())
    nn.init.zeros_(g[0].weight)
    nn.init.constant_(g[0].bias, -3.0)
    d = nn.Sequential(nn.Linear(6, 1))
    trainer = GANTrainer(
        g, d, shenjing.optim.SGD(g.parameters(), lr=0.0), _adam(d, 0.5), latent_shape=4, collapse_ratio=0.0, patience=2
    )
    data = TensorDataset(
        np.ones((64, 6), np.float32) * 0.9 + np.random.default_rng(0).uniform(0, 0.1, (64, 6)).astype(np.float32)
    )
    with pytest.warns(RuntimeWarning, match="discriminator diverges"):
        history = trainer.fit(DataLoader(data, batch_size=16), 20)
    assert history.stop_reason == "discriminator diverged"
    assert history["d_real"][-1] > 0.99 and history["d_fake"][-1] < 0.01


class _NaN(nn.Module):
    def forward(self, x):
        return x * float("nan")


def test_non_finite_loss_stops_at_once():
    g = nn.Sequential(nn.Linear(4, 6), nn.Tanh())
    d = nn.Sequential(nn.Linear(6, 1), _NaN())
    trainer = GANTrainer(g, d, _adam(g), _adam(d), latent_shape=4, on_problem="warn", collapse_ratio=0.0)
    with pytest.warns(RuntimeWarning, match="not finite"):
        history = trainer.fit(DataLoader(_data(), batch_size=8), 5)
    assert history.stop_reason == "diverged (non-finite loss)" and trainer.epoch == 1
    assert len(history["steps"]["d_loss"]) == 1  # the epoch ended at the first non-finite step


def test_bad_arguments():
    g, d = _tiny()
    with pytest.raises(ValueError, match="label_smoothing"):
        GANTrainer(g, d, _adam(g), _adam(d), latent_shape=4, label_smoothing=1.0)
    with pytest.raises(ValueError, match="on_problem"):
        GANTrainer(g, d, _adam(g), _adam(d), latent_shape=4, on_problem="ignore")


def test_mnist_architectures_shapes():
    z = shenjing.randn(3, 100)
    assert mlp_generator()(z).shape == (3, 784) and mlp_discriminator()(mlp_generator()(z)).shape == (3, 1)
    g, d = dcgan_generator(width=8), dcgan_discriminator(width=8)
    images = g(z.reshape(3, 100, 1, 1))
    assert images.shape == (3, 1, 28, 28) and d(images).shape == (3, 1)
    assert float(images.abs().max().item()) <= 1.0
