"""LBFGS against torch.optim.LBFGS: the same iterates, with and without the strong-Wolfe line search."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch

import shenjing


def _run(library: object, options: dict, steps: int, dtype: str, problem: str) -> tuple:
    rng = np.random.default_rng(0)
    if problem == "rosenbrock":
        w = library.nn.Parameter(library.tensor(np.array([-1.5, 2.0]), dtype=getattr(library, dtype)))
        params = [w]

        def loss_fn() -> object:
            return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2
    else:  # least squares with two parameter tensors
        A, b = rng.standard_normal((20, 5)), rng.standard_normal(20)
        W = library.nn.Parameter(library.tensor(np.zeros((5, 1)), dtype=getattr(library, dtype)))
        c = library.nn.Parameter(library.tensor(np.zeros(1), dtype=getattr(library, dtype)))
        At, bt = library.tensor(A, dtype=getattr(library, dtype)), library.tensor(b, dtype=getattr(library, dtype))
        params = [W, c]

        def loss_fn() -> object:
            return ((At @ W).reshape(-1) + c - bt).square().mean() + 0.01 * W.square().sum()

    opt = library.optim.LBFGS(params, **options)

    def closure() -> object:
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    trace, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
        trace.append(np.concatenate([p.detach().numpy().reshape(-1) for p in params]))
    state = opt.state[params[0]]
    return trace, losses, state["func_evals"], state["n_iter"]


@pytest.mark.parametrize("problem", ["rosenbrock", "least_squares"])
@pytest.mark.parametrize("options", [{}, {"line_search_fn": "strong_wolfe"}, {"lr": 0.5, "max_iter": 5},
                                     {"history_size": 3, "line_search_fn": "strong_wolfe", "max_iter": 7}], ids=str)
def test_iterates_match_torch_in_float64(options: dict, problem: str) -> None:
    ours = _run(shenjing, options, 4, "float64", problem)
    theirs = _run(torch, options, 4, "float64", problem)
    if problem == "rosenbrock":
        # NOTE: Rosenbrock's curved valley amplifies last-bit differences (dot products summed in another order)
        # about a thousandfold per step of 20 iterations: the first two steps are compared, to 1e-6
        ours, theirs = _run(shenjing, options, 2, "float64", problem), _run(torch, options, 2, "float64", problem)
    rtol = 1e-6 if problem == "rosenbrock" else 1e-9
    for step, (a, b) in enumerate(zip(ours[0], theirs[0])):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-11, err_msg=f"step {step + 1}")
    np.testing.assert_allclose(ours[1], theirs[1], rtol=rtol)
    assert ours[2:] == theirs[2:]  # the same number of closure evaluations and iterations


def test_float32_follows_torch_and_converges() -> None:
    ours = _run(shenjing, {"line_search_fn": "strong_wolfe"}, 6, "float32", "rosenbrock")
    theirs = _run(torch, {"line_search_fn": "strong_wolfe"}, 6, "float32", "rosenbrock")
    np.testing.assert_allclose(ours[0][-1], [1.0, 1.0], atol=1e-3)  # the minimum of Rosenbrock's function
    np.testing.assert_allclose(ours[0][-1], theirs[0][-1], atol=1e-3)


def test_errors_as_torch() -> None:
    w = shenjing.nn.Parameter(shenjing.zeros(2))
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        shenjing.optim.LBFGS([{"params": [w]}, {"params": [shenjing.nn.Parameter(shenjing.zeros(1))]}])
    opt = shenjing.optim.LBFGS([w], line_search_fn="backtracking")
    w.grad = shenjing.ones(2)
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(lambda: (w.sum() * 1.0))
    with pytest.raises(RuntimeError, match="needs a closure"):
        opt.step(None)
