"""Optimizer: the base class that holds parameter groups, per-parameter state and PyTorch-format state dicts."""

from __future__ import annotations

import copy
import functools
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..autograd import enable_grad
from ..backend import backend_of
from ..tensor import Tensor

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of every optimizer, as ``torch.optim.Optimizer``.

    An optimizer holds

    * ``param_groups``: a list of dicts, each with ``"params"`` (a list of parameters) and every
      hyperparameter of the optimizer, filled in from ``defaults`` where the group does not set it;
    * ``state``: a dict keyed by parameter, holding that parameter's running arrays
      (``exp_avg``, ``momentum_buffer``, …) under PyTorch's key names;
    * ``defaults``: the hyperparameters given to the constructor.

    A subclass implements ``step()`` by reading each group's hyperparameters and calling its
    ``<name>_update()`` function on every ``p.array`` that has a gradient (the loop is
    :meth:`_params_with_grad`; the state it starts from, :meth:`_init_state`). Updates happen in place on
    ``p.array`` and on the state arrays (nothing is reallocated between steps), and parameters whose
    ``grad`` is ``None`` are skipped, as in PyTorch.

    Args:
        params: an iterable of Parameters, of ``(name, Parameter)`` pairs, or of dicts (parameter groups)
            with a ``"params"`` entry and any per-group hyperparameters.
        defaults: the optimizer's hyperparameters, used where a group leaves one out.

    Example:
        >>> import shenjing
        >>> model = shenjing.nn.Linear(3, 2)
        >>> opt = shenjing.optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.1}], lr=0.01)
        >>> [group["lr"] for group in opt.param_groups]
        [0.01, 0.1]
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # NOTE: every optimizer's step() records that it ran, so that a learning-rate scheduler can warn
        # when its own step() comes first (which would skip the schedule's first value, as in PyTorch)
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _records_step(cls.__dict__["step"])

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self._opt_called = False
        self.defaults = defaults
        self._check_hyperparameters(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: expected an iterable of Parameters or of dicts, got a single Tensor of "
                f"shape {tuple(params.shape)}. Pass model.parameters() or [tensor]."
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(
                "optimizer got an empty parameter list. Did the model register its parameters "
                "(assign shenjing.nn.Parameter / layers as attributes in __init__), or was a generator used twice?"
            )
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # ---- hyperparameters ---------------------------------------------------------------------------------------
    # hyperparameters that must be ≥ 0, checked in this order (PyTorch's messages)
    _nonnegative: tuple[str, ...] = ()

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        """Raise ValueError for an invalid hyperparameter; optimizers extend this with their own rules."""
        for name in self._nonnegative:
            if not 0.0 <= group[name]:
                label = {"lr": "learning rate", "eps": "epsilon value"}.get(name, f"{name} value")
                raise ValueError(f"Invalid {label}: {group[name]}")

    # ---- parameter groups --------------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. unfreezing layers while fine-tuning).

        Options the group leaves out are taken from ``defaults``.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        param_group = dict(param_group)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors "
                "in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(
                    "can't optimize a non-leaf Tensor: optimize the Parameters the model holds "
                    "(model.parameters()), not a result computed from them."
                )
        param_group["params"] = params
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        self._check_hyperparameters(param_group)

        if len(params) != len({id(p) for p in params}):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause an error",
                stacklevel=3,
            )
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        for group in self.param_groups:
            if ("param_names" in group) != ("param_names" in param_group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    f"all optimizer param groups should be with/without names. cannot add param group {which} "
                    "to the optimizer"
                )
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- gradients and steps -----------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to ``None`` (the default, as PyTorch 2.x) or to zeros in place.

        NOTE: with ``None`` the next ``step()`` skips a parameter that gets no gradient; with zeros it takes
        a step with a zero gradient (momentum and weight decay still move it), exactly as in PyTorch.
        """
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    grad._ctx, grad.requires_grad = None, False
                    grad.array[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; ``closure`` re-evaluates the model and returns the loss."""
        raise NotImplementedError

    @staticmethod
    def _evaluate(closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _params_with_grad(self) -> Iterator[tuple[dict[str, Any], Tensor, dict[str, Any]]]:
        """``(group, p, state)`` for every parameter that has a gradient: the loop each ``step()`` runs.

        Parameters whose ``grad`` is ``None`` are skipped, as in PyTorch. A parameter's state is made by
        :meth:`_init_state` when it is empty (its first step, or a parameter added with ``add_param_group``),
        and ``state["step"]`` is counted (1 on the first step) before the state is handed out.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state.update(self._init_state(p, group))
                state["step"] += 1
                yield group, p, state

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The state of parameter ``p`` before its first step, under PyTorch's keys (``step`` = 0.0 among them)."""
        raise NotImplementedError(f"{type(self).__name__} does not define its per-parameter state")

    # ---- state dicts -------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's format.

        ``{"state": {index: {"exp_avg": array, "step": 10.0, ...}}, "param_groups": [{"lr": ..., "params":
        [0, 1, ...]}, ...]}``: parameters are replaced by their position across all groups, in order.
        NOTE: the arrays are the optimizer's live state (as in PyTorch); ``copy.deepcopy`` the dict to keep
        a snapshot while training goes on. :meth:`load_state_dict` copies what it loads.
        """
        index: dict[int, int] = {}
        start = 0
        packed_groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            packed_groups.append(packed)
        packed_state = {(index[id(p)] if isinstance(p, Tensor) else p): dict(value) for p, value in self.state.items()}
        return {"state": packed_state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict from :meth:`state_dict` (ours or PyTorch's): the same groups, same sizes, in order.

        State arrays are copied onto each parameter's device and dtype; ``step`` becomes a Python float.
        """
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups: expected {len(groups)}, "
                f"got {len(saved_groups)}"
            )
        for i, (group, saved) in enumerate(zip(groups, saved_groups, strict=True)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size of optimizer's "
                    f"group: group {i} has {len(group['params'])} parameters, the saved one {len(saved['params'])}"
                )
        id_map = {
            saved_index: p
            for group, saved in zip(groups, saved_groups, strict=True)
            for saved_index, p in zip(saved["params"], group["params"], strict=True)
        }
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                p = id_map[key]
                state[p] = {name: _cast_state(p, name, item) for name, item in value.items()}
            else:
                state[key] = value
        new_groups = []
        for group, saved in zip(groups, saved_groups, strict=True):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            for name, default in self.defaults.items():
                saved.setdefault(name, default)
            new_groups.append(saved)
        self.state = state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"


def _check_betas(betas: tuple) -> None:
    """Adam's family: each of (β₁, β₂) in [0, 1), or PyTorch's ValueError."""
    for index, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")


def _records_step(step: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(step)
    def recorded_step(self: Optimizer, *args: Any, **kwargs: Any) -> Any:
        self._opt_called = True
        return step(self, *args, **kwargs)

    return recorded_step


def _cast_state(param: Tensor, name: str, value: Any) -> Any:
    """One loaded state entry: ``step`` as a float, arrays copied to the parameter's backend and dtype."""
    if name == "step":
        return float(value)
    if isinstance(value, Tensor):
        value = value.array
    elif type(value).__module__.startswith("torch"):  # a state dict saved by torch.optim
        value = value.detach().cpu().numpy()
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return backend_of(param.array).xp.array(value, dtype=param.array.dtype)  # a copy, on the parameter's device
    return copy.deepcopy(value)


def _lerp_(start: Any, end: Any, weight: float, scratch: Any, xp: Any) -> None:
    """start ← start + weight·(end − start), in place, in PyTorch's ``lerp_`` order.

    NOTE: PyTorch switches formulas at weight 0.5 so that both ends stay accurate:
    start + w·(end − start) for w < 0.5, end − (end − start)·(1 − w) otherwise. ``scratch`` is a
    buffer the size of ``start``, overwritten.
    """
    xp.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= 1 - weight
        xp.subtract(end, scratch, out=start)


def _gradient(param: Any, grad: Any, weight_decay: float, maximize: bool) -> tuple[Any, bool]:
    """g = ±∂L/∂w + λw: the gradient after ``maximize`` and L2 ``weight_decay``, and whether it is a new array.

    Never writes into ``grad`` (it is the user's ``p.grad``). The second value says whether the
    optimizer may overwrite the returned array as scratch.
    """
    if weight_decay != 0:
        # NOTE: PyTorch adds λw with a fused multiply-add (one rounding); NumPy has none, so λw is rounded
        # before the sum: a last-bit difference, which only a near-cancellation of λw and g makes visible
        decayed = param * weight_decay  # λw
        if maximize:
            decayed -= grad
        else:
            decayed += grad
        return decayed, True
    if maximize:
        return -grad, True
    return grad, False
