"""The new losses, distances, activations, functional forms and optimizers run through the array-module seam:
on the fake GPU backend (whose arrays NumPy may not touch) they give the CPU's numbers exactly."""

from __future__ import annotations

import numpy as np
import pytest
from test_activation_extra import ACTIVATIONS
from test_backend_seam import _host, _run, gpu  # noqa: F401 - gpu is the fake-GPU fixture
from test_functional_names import COVERED, NEW_HERE
from test_loss_extra import LOSSES

import shenjing
import shenjing.nn.functional as F
from shenjing import nn


def _same(fn, arrays: list, rtol: float = 0.0) -> None:
    arrays = [np.asarray(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    cpu_out, cpu_grads = _run(fn, arrays, "cpu")
    gpu_out, gpu_grads = _run(fn, arrays, "cuda")
    for a, b in zip(cpu_out + cpu_grads, gpu_out + gpu_grads):
        if a is not None or b is not None:
            if rtol:
                np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-300)
            else:
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_runs_through_the_seam(gpu, name: str) -> None:  # noqa: F811
    ours, _, inputs, _ = LOSSES[name]
    with pytest.warns(UserWarning) if name in ("kl_div_mean", "smooth_l1_broadcast") else _nothing():
        _same(ours, inputs)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_runs_through_the_seam(gpu, name: str) -> None:  # noqa: F811
    module, _, x = ACTIVATIONS[name]
    # NOTE: the exact GELU's erfc is SciPy's on the CPU, the backend's own series on the fake GPU (no special
    # functions there): equal to about 1e-10 at worst (near u = 2.5), not bit for bit
    _same(module, [x[:4, :8]], rtol=1e-9 if name.startswith("gelu") else 0.0)


@pytest.mark.parametrize("name, index", [(n, i) for n in NEW_HERE for i in range(len(COVERED[n]))])
def test_new_functional_form_runs_through_the_seam(gpu, name: str, index: int) -> None:  # noqa: F811
    inputs, _, kwargs = COVERED[name][index]
    positions = [i for i, x in enumerate(inputs) if isinstance(x, np.ndarray)]

    def run(*tensors):
        args = list(inputs)
        for i, t in zip(positions, tensors):
            args[i] = t
        return getattr(F, name)(*args, **kwargs)

    _same(run, [inputs[i] for i in positions])


def test_prelu_runs_through_the_seam(gpu) -> None:  # noqa: F811
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    _same(F.prelu, [x, np.full(4, 0.2)])


@pytest.mark.parametrize("name, options", [("Adadelta", {"weight_decay": 0.1}), ("Adamax", {"maximize": True}),
                                           ("NAdam", {"weight_decay": 0.1}),
                                           ("RAdam", {"decoupled_weight_decay": True, "weight_decay": 0.1}),
                                           ("ASGD", {"t0": 3, "weight_decay": 0.1})])
def test_optimizer_runs_through_the_seam(gpu, name: str, options: dict) -> None:  # noqa: F811
    results = []
    for device in ("cpu", "cuda"):
        shenjing.manual_seed(0)
        model = nn.Linear(4, 3).double().to(device)
        opt = getattr(shenjing.optim, name)(model.parameters(), lr=0.1, **options)
        x = shenjing.tensor(np.random.default_rng(1).standard_normal((8, 4)), device=device)
        for _ in range(8):  # past RAdam's 5-step warm-up
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()
        results.append([_host(p) for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
