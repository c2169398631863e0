"""The optimizer-checking helper: the same tiny net, the same gradients, shenjing's optimizer against torch.optim.

Two checks, both on Linear(3, 4) → Tanh → Linear(4, 2) with the mean squared error, weights copied from torch:

    check_training(name, options, dtype, lr)   shenjing's net + optimizer against torch's, 20 steps end to end
    check_replay(name, options, dtype, lr)     both optimizers fed one recorded stream of gradients, 20 steps;
                                               parameters and every state array compared after each step

and two for the rest of the optimizer's surface:

    check_state_dict(name, **options)          state dicts alike; torch's loads into ours and steps on alike
    check_invalid_hyperparameters(name, options, message)   the same ValueError as torch, for bad options

Why two: at lr = 10 the training trajectory is chaotic (Adam takes ±10 steps, tanh saturates, the sign
of a 1e-30 gradient decides the next step), so the last-bit differences between two correct
forward/backward implementations (tanh, matrix products, PyTorch's fused multiply-adds) grow to 1e-3
within 20 steps in float32. The replay removes that feedback loop: what is left is the optimizer's own
arithmetic, which must then agree to rounding at every learning rate.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from helpers import torch

import shenjing

STEPS = 20
TOLERANCE = {"float64": 1e-10, "float32": 1e-5}  # max|ours − torch| / the array's largest magnitude so far
NORMAL_LR = {"SGD": 0.1, "Adam": 0.01, "AdamW": 0.01, "RMSprop": 0.01, "Adagrad": 0.1}


def relative_error(ours: Any, theirs: Any, scale: float | None = None) -> float:
    """max|ours − torch| / scale, where scale defaults to max|torch| and is never below it."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"shape {ours.shape} != torch {theirs.shape}"
    assert np.all(np.isfinite(theirs)), "torch's values are not finite: the configuration diverges"
    assert np.all(np.isfinite(ours)), "shenjing's values are not finite where torch's are"
    scale = max(np.abs(theirs).max(), scale or 0.0)
    return float(np.abs(ours - theirs).max() / scale) if scale > 0 else float(np.abs(ours).max())


class RunningScale:
    """The largest magnitude each compared array has reached so far in a run.

    Errors are measured relative to it: rounding errors scale with the largest numbers that went
    into a computation, and a weight that falls from 100 to 0.5 in one step (lr = 10) keeps the
    last-bit error of 100.
    """

    def __init__(self) -> None:
        self.largest: dict[Any, float] = {}

    def __call__(self, key: Any, theirs: Any) -> float:
        largest = max(self.largest.get(key, 0.0), float(np.abs(np.asarray(theirs, dtype=np.float64)).max()))
        self.largest[key] = largest
        return largest


def tiny_nets(dtype: str) -> tuple[Any, Any]:
    """(shenjing net, torch net) with the same weights: Linear(3, 4) → Tanh → Linear(4, 2)."""
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    theirs = theirs.to(getattr(torch, dtype))
    sj_dtype = getattr(shenjing, dtype)
    nn = shenjing.nn
    ours = nn.Sequential(nn.Linear(3, 4, dtype=sj_dtype), nn.Tanh(), nn.Linear(4, 2, dtype=sj_dtype))
    ours.load_state_dict({key: value.numpy().copy() for key, value in theirs.state_dict().items()})
    return ours, theirs


def batch(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.standard_normal((8, 3)).astype(dtype), rng.standard_normal((8, 2)).astype(dtype)


def make(name: str, params: Any, lr: float, options: dict, library: Any) -> Any:
    return getattr(library.optim, name)(params, lr=lr, **options)


def check_training(name: str, options: dict, dtype: str, lr: float, steps: int = STEPS) -> None:
    """Train both nets with their own optimizer; every parameter must agree after ``steps`` steps.

    With ``maximize`` the objective is −MSE, so that the ascent is as stable as the descent (climbing
    +MSE would grow the weights without bound and magnify every rounding difference).
    """
    ours, theirs = tiny_nets(dtype)
    sign = -1.0 if options.get("maximize") else 1.0
    x, y = batch(dtype)
    sx, sy, tx, ty = shenjing.tensor(x), shenjing.tensor(y), torch.tensor(x), torch.tensor(y)
    opt = make(name, ours.parameters(), lr, options, shenjing)
    topt = make(name, theirs.parameters(), lr, options, torch)
    scale = RunningScale()
    for _ in range(steps):
        opt.zero_grad()
        (shenjing.nn.functional.mse_loss(ours(sx), sy) * sign).backward()
        opt.step()
        topt.zero_grad()
        (torch.nn.functional.mse_loss(theirs(tx), ty) * sign).backward()
        topt.step()
        for key, tp in theirs.named_parameters():
            scale(key, tp.detach().numpy())
    for (key, p), (tkey, tp) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert key == tkey
        error = relative_error(p.array, tp.detach().numpy(), scale.largest[key])
        assert error < TOLERANCE[dtype], f"{name}({options}) lr={lr} {dtype}: {key} relative error {error:.2e}"


@functools.cache
def recorded_gradients(dtype: str, steps: int = STEPS) -> tuple[tuple[np.ndarray, ...], ...]:
    """The gradients along a fixed trajectory of the torch net (plain SGD, lr 0.1): one tuple per step."""
    _, net = tiny_nets(dtype)
    x, y = map(torch.tensor, batch(dtype))
    stream = []
    for _ in range(steps):
        net.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        stream.append(tuple(p.grad.numpy().copy() for p in net.parameters()))
        with torch.no_grad():
            for p in net.parameters():
                p -= 0.1 * p.grad
    return tuple(stream)


def check_replay(
    name: str, options: dict, dtype: str, lr: float, steps: int = STEPS, torch_options: dict | None = None
) -> tuple[Any, Any]:
    """Feed both optimizers the recorded gradients; parameters and state must agree after every step.

    ``torch_options`` (default: ``options``) lets a test give torch different options, to show that the
    check notices. Returns (ours, torch's) optimizers for further checks.
    """
    ours_net, theirs_net = tiny_nets(dtype)
    params, tparams = list(ours_net.parameters()), list(theirs_net.parameters())
    opt = make(name, params, lr, options, shenjing)
    topt = make(name, tparams, lr, options if torch_options is None else torch_options, torch)
    tolerance, scale = TOLERANCE[dtype], RunningScale()
    for step, grads in enumerate(recorded_gradients(dtype, steps)):
        for p, tp, g in zip(params, tparams, grads, strict=True):
            p.grad = shenjing.tensor(g.copy())
            tp.grad = torch.tensor(g)
        opt.step()
        topt.step()
        where = f"{name}({options}) lr={lr} {dtype} step {step + 1}"
        for i, (p, tp) in enumerate(zip(params, tparams, strict=True)):
            theirs = tp.detach().numpy()
            error = relative_error(p.array, theirs, scale(i, theirs))
            assert error < tolerance, f"{where}: parameter {i} relative error {error:.2e}"
            state, tstate = opt.state[p], topt.state[tp]
            assert set(state) == set(tstate), f"{where}: state keys {sorted(state)} != torch {sorted(tstate)}"
            for key, value in tstate.items():
                if key == "step":
                    assert state[key] == float(value), f"{where}: step {state[key]} != torch {float(value)}"
                else:
                    assert state[key].dtype == p.array.dtype, f"{where}: {key} dtype {state[key].dtype}"
                    error = relative_error(state[key], value.numpy(), scale((i, key), value.numpy()))
                    assert error < tolerance, f"{where}: state {key} of parameter {i} relative error {error:.2e}"
    return opt, topt


def check_state_dict(name: str, **options: Any) -> None:
    """One step from the defaults, ours and torch's: the same ``param_groups`` and state keys in the state
    dicts; torch's state dict loads into a fresh optimizer of ours, with the same state values, and the next
    step from it agrees with torch's next step."""
    w = shenjing.nn.Parameter(shenjing.ones(3))
    tw = torch.ones(3, requires_grad=True)
    opt = getattr(shenjing.optim, name)([w], **options)
    theirs = getattr(torch.optim, name)([tw], **options)
    w.grad, tw.grad = shenjing.ones(3), torch.ones(3)
    opt.step()
    theirs.step()
    ours_sd, theirs_sd = opt.state_dict(), theirs.state_dict()
    assert ours_sd["param_groups"] == theirs_sd["param_groups"]
    assert set(ours_sd["state"][0]) == set(theirs_sd["state"][0])
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-6)
    # a torch state dict loads into ours, and the next steps agree
    again_w = shenjing.nn.Parameter(shenjing.tensor(tw.detach().numpy()))
    again = getattr(shenjing.optim, name)([again_w], **options)
    again.load_state_dict(theirs_sd)
    for k, v in theirs_sd["state"][0].items():
        np.testing.assert_allclose(np.asarray(again.state[again_w][k]), np.asarray(v))
    again_w.grad, tw.grad = shenjing.tensor([0.5, -1.0, 2.0]), torch.tensor([0.5, -1.0, 2.0])
    again.step()
    theirs.step()
    np.testing.assert_allclose(again_w.detach().numpy(), tw.detach().numpy(), rtol=1e-6)


def check_invalid_hyperparameters(name: str, options: dict, message: str, torch_message: str | None = "same") -> None:
    """Both libraries raise ValueError for ``options``; ours says ``message`` (a regex), and so does torch's
    unless ``torch_message`` is None (a message of our own) or another regex."""
    with pytest.raises(ValueError, match=message):
        getattr(shenjing.optim, name)([shenjing.nn.Parameter(shenjing.zeros(2))], **options)
    with pytest.raises(ValueError, match=message if torch_message == "same" else torch_message):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **options)
