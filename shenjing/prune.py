"""Magnitude pruning, as ``torch.nn.utils.prune``, plus structured shrinking into a genuinely smaller dense model.

    from shenjing import prune
    prune.l1_unstructured(model[0], "weight", amount=0.5)          # per layer: the 50 % smallest |w| → 0
    prune.global_unstructured([(model[0], "weight"), (model[2], "weight")], prune.L1Unstructured, amount=0.8)
    prune.ln_structured(model[0], "weight", amount=0.25, n=2, dim=0)  # whole rows (neurons / filters) by L2 norm
    ... fine-tune: the mask is applied at every forward, so pruned weights stay 0 and get no gradient ...
    prune.remove(model[0], "weight")                                # make it permanent (then save as usual)
    small = prune.shrink(model, amount=0.5)                         # drop the weakest neurons / channels for real

Masks work as in PyTorch: ``weight`` becomes ``weight_orig`` (the Parameter the optimizer trains) and a buffer
``weight_mask`` (0/1); a forward pre-hook sets ``module.weight = weight_orig · weight_mask`` before each call, so
∂L/∂weight_orig = mask · ∂L/∂weight. The state-dict keys are PyTorch's (``weight_orig``, ``weight_mask``). ``amount``
is a fraction in [0, 1] or a number of entries, rounded as PyTorch (``round(amount · n)``).

:func:`shrink` removes the lowest-L1 output neurons of each Linear / filters of each Conv (except the last layer)
in a Sequential, with the matching inputs of the next layer (through activations, pooling, dropout, BatchNorm and
Flatten): fewer parameters, fewer FLOPs, an ordinary model that saves, loads and exports like any other.
"""

from __future__ import annotations

import copy
from typing import Any

from .backend import backend_of
from .nn.module import Parameter
from .tensor import Tensor

__all__ = [
    "L1Unstructured",
    "LnStructured",
    "l1_unstructured",
    "ln_structured",
    "global_unstructured",
    "remove",
    "is_pruned",
    "sparsity",
    "shrink",
]


class L1Unstructured:
    """Marker for ``global_unstructured(..., pruning_method=L1Unstructured)``: the smallest |w| go first."""


class LnStructured:
    """Marker: whole slices along ``dim`` with the smallest Lₙ norm go first."""


def _count(amount: Any, total: int, what: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise TypeError(f"{what}: amount must be a float in [0, 1] or an int, got {type(amount).__name__}")
    if isinstance(amount, float):
        if not 0.0 <= amount <= 1.0:
            raise ValueError(f"{what}: amount={amount} should be a float in the range [0, 1]")
        return round(amount * total)
    if amount < 0 or amount > total:
        raise ValueError(f"{what}: amount={amount} should be between 0 and the number of entries, {total}")
    return amount


def _apply(module: Any, name: str, track: bool = True) -> None:
    orig, mask = getattr(module, name + "_orig"), getattr(module, name + "_mask")
    if track:
        object.__setattr__(module, name, orig * mask)
    else:
        object.__setattr__(module, name, Tensor._wrap(orig.array * mask.array))


class _PruningHook:
    """Before forward: ``name = name_orig · name_mask`` (recorded by autograd, so name_orig gets its gradient)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, module: Any, args: tuple) -> None:
        _apply(module, self.name)


class _DetachHook:
    """After forward: keep a graph-free copy, so that a pruned module can be deep-copied and saved between calls."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, module: Any, args: tuple, output: Any) -> None:
        _apply(module, self.name, track=False)


def _current(module: Any, name: str) -> tuple[Any, Any]:
    """The weights to rank (the original ones, once pruned) and the mask so far (ones at first)."""
    if is_pruned(module, name):
        return getattr(module, name + "_orig").array, getattr(module, name + "_mask").array
    param = module._parameters.get(name)
    if param is None:
        raise AttributeError(f"{type(module).__name__} has no parameter {name!r} to prune")
    xp = backend_of(param.array).xp
    return param.array, xp.ones_like(param.array)


def _set_mask(module: Any, name: str, mask: Any) -> Any:
    """Install (or update) ``name_orig`` / ``name_mask`` and the hook; returns the module, as PyTorch."""
    if not is_pruned(module, name):
        param = module._parameters.pop(name)
        module.register_parameter(name + "_orig", param)
        module.register_buffer(name + "_mask", Tensor._wrap(mask))
        handles = module.__dict__.setdefault("_pruning_handles", {})
        handles[name] = (module.register_forward_pre_hook(_PruningHook(name)),
                         module.register_forward_hook(_DetachHook(name)))
    else:
        getattr(module, name + "_mask").array = mask
    _apply(module, name, track=False)
    return module


def is_pruned(module: Any, name: str | None = None) -> bool:
    """Whether ``module`` (or its parameter ``name``) carries a pruning mask."""
    handles = module.__dict__.get("_pruning_handles", {})
    return bool(handles) if name is None else name in handles


def l1_unstructured(module: Any, name: str, amount: Any, importance_scores: Any = None) -> Any:
    """Zero the ``amount`` entries of ``module.name`` with the smallest |w| (among those not yet pruned)."""
    w, mask = _current(module, name)
    xp = backend_of(w).xp
    scores = xp.abs(importance_scores.array if importance_scores is not None else w) * mask
    k = _count(amount, int(mask.sum()), f"l1_unstructured({type(module).__name__}.{name})")
    new = mask.copy()
    if k:
        alive = xp.flatnonzero(mask.reshape(-1))
        order = xp.argsort(scores.reshape(-1)[alive], kind="stable")[:k]
        new.reshape(-1)[alive[order]] = 0
    return _set_mask(module, name, new)


def ln_structured(module: Any, name: str, amount: Any, n: Any, dim: int, importance_scores: Any = None) -> Any:
    """Zero the ``amount`` slices along ``dim`` (output neurons / filters for dim=0) with the smallest Lₙ norm."""
    w, mask = _current(module, name)
    xp = backend_of(w).xp
    dim = dim % w.ndim
    scores = importance_scores.array if importance_scores is not None else w
    axes = tuple(i for i in range(w.ndim) if i != dim)
    order_n = float("inf") if n in ("inf", float("inf")) else float(n)
    absolute = xp.abs(scores * mask)
    if order_n == float("inf"):
        norms = absolute.max(axis=axes)
    elif order_n == 1:
        norms = absolute.sum(axis=axes)
    else:
        norms = (absolute**order_n).sum(axis=axes) ** (1.0 / order_n)
    k = _count(amount, w.shape[dim], f"ln_structured({type(module).__name__}.{name})")
    new = mask.copy()
    if k:
        drop = xp.argsort(norms, kind="stable")[:k]
        index = [slice(None)] * w.ndim
        index[dim] = drop
        new[tuple(index)] = 0
    return _set_mask(module, name, new)


def global_unstructured(parameters: Any, pruning_method: Any = L1Unstructured, importance_scores: Any = None,
                        amount: Any = None, **kwargs: Any) -> None:
    """Zero the ``amount`` smallest |w| over all ``(module, name)`` pairs together (layers lose different shares)."""
    if pruning_method not in (L1Unstructured, "l1", "L1Unstructured"):
        raise ValueError(f"global_unstructured supports L1Unstructured only, got {pruning_method}")
    if amount is None:
        amount = kwargs.pop("amount", None)
    if amount is None:
        raise TypeError("global_unstructured: amount is required")
    pairs = list(parameters)
    if not pairs:
        raise ValueError("global_unstructured: no parameters given")
    current = [_current(m, n) for m, n in pairs]
    xp = backend_of(current[0][0]).xp
    scores = xp.concatenate([(xp.abs(w) * mask).reshape(-1) for w, mask in current])
    masks = xp.concatenate([mask.reshape(-1) for _, mask in current])
    k = _count(amount, int(masks.sum()), "global_unstructured")
    new = masks.copy()
    if k:
        alive = xp.flatnonzero(masks)
        order = xp.argsort(scores[alive], kind="stable")[:k]
        new[alive[order]] = 0
    start = 0
    for (module, name), (w, _) in zip(pairs, current, strict=True):
        _set_mask(module, name, new[start : start + w.size].reshape(w.shape).astype(w.dtype))
        start += w.size


def remove(module: Any, name: str) -> Any:
    """Make the pruning of ``module.name`` permanent: ``name`` is a Parameter (zeros included) again, no mask."""
    if not is_pruned(module, name):
        raise ValueError(f"Parameter '{name}' of module {type(module).__name__} has to be pruned before it can be "
                         "removed")
    orig, mask = getattr(module, name + "_orig"), getattr(module, name + "_mask")
    for handle in module.__dict__["_pruning_handles"].pop(name):
        handle.remove()
    del module._parameters[name + "_orig"]
    del module._buffers[name + "_mask"]
    module.__dict__.pop(name, None)
    module.register_parameter(name, Parameter(orig.array * mask.array))
    return module


def sparsity(model: Any, names: tuple[str, ...] = ("weight",)) -> float:
    """The share of zeros among the (effective, masked) weights of every layer that has them."""
    zeros = total = 0
    for _, m in model.named_modules():
        for name in names:
            w = m.__dict__.get(name) if is_pruned(m, name) else m._parameters.get(name)
            if w is not None:
                zeros += int((w.array == 0).sum())
                total += int(w.array.size)
    return zeros / total if total else 0.0


# ---- structured shrinking -------------------------------------------------------------------------------------------
_PASS_THROUGH = {
    "ReLU", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softplus", "Mish", "Hardtanh",
    "ReLU6", "Hardswish", "Hardsigmoid", "LogSigmoid", "Softsign", "Identity", "Dropout", "Dropout1d", "Dropout2d",
    "AlphaDropout", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d", "BatchNorm1d", "BatchNorm2d", "Flatten",
}


def _new_linear(old: Any, rows: Any, cols: Any) -> Any:
    from .nn import Linear

    w = old.weight.array[rows][:, cols]
    layer = Linear(w.shape[1], w.shape[0], bias=old.bias is not None, dtype=w.dtype)
    layer.weight.array = w.copy()
    if old.bias is not None:
        layer.bias.array = old.bias.array[rows].copy()
    return layer


def _new_conv(old: Any, rows: Any, cols: Any) -> Any:
    w = old.weight.array[rows][:, cols]
    padding = old.padding if isinstance(old.padding, str) else tuple(old.padding)
    layer = type(old)(w.shape[1], w.shape[0], old.kernel_size, old.stride, padding, old.dilation, 1,
                      old.bias is not None, old.padding_mode, dtype=w.dtype)
    layer.weight.array = w.copy()
    if old.bias is not None:
        layer.bias.array = old.bias.array[rows].copy()
    return layer


def _new_norm(old: Any, keep: Any) -> Any:
    layer = type(old)(len(keep), old.eps, old.momentum, old.affine, old.track_running_stats)
    for name in ("weight", "bias"):
        if getattr(old, name, None) is not None:
            getattr(layer, name).array = getattr(old, name).array[keep].copy()
    for name in ("running_mean", "running_var"):
        if getattr(old, name, None) is not None:
            getattr(layer, name).array = getattr(old, name).array[keep].copy()
    if getattr(old, "num_batches_tracked", None) is not None:
        layer.num_batches_tracked.array = old.num_batches_tracked.array.copy()
    return layer


def shrink(model: Any, amount: float, example: Any = None) -> Any:
    """A smaller dense copy of the Sequential ``model``: each Linear/Conv but the last loses the ``amount`` share of
    its output neurons/filters with the smallest L1 norm, and the next Linear/Conv the matching inputs.

    Layers between the two may be activations, dropout, pooling, BatchNorm (sliced too) and Flatten; a pair with
    anything else between them (or grouped convolutions) is left whole. The model must not be mask-pruned.
    """
    if type(model).__name__ != "Sequential":
        raise TypeError(f"shrink works on a Sequential, got {type(model).__name__}")
    if not 0.0 <= float(amount) < 1.0:
        raise ValueError(f"shrink: amount={amount} should be in [0, 1)")
    if any(is_pruned(m) for m in model.modules()):
        raise ValueError("shrink: call prune.remove on the mask-pruned layers first")
    model = copy.deepcopy(model)
    layers = list(model._modules.items())
    weighted = [i for i, (_, m) in enumerate(layers) if type(m).__name__ in ("Linear", "Conv1d", "Conv2d")]
    for a, b in zip(weighted, weighted[1:], strict=False):
        first, second = layers[a][1], layers[b][1]
        between = [m for _, m in layers[a + 1 : b]]
        if any(type(m).__name__ not in _PASS_THROUGH for m in between):
            continue
        if getattr(first, "groups", 1) != 1 or getattr(second, "groups", 1) != 1:
            continue
        w = first.weight.array
        xp = backend_of(w).xp
        outputs = w.shape[0]
        drop = int(round(float(amount) * outputs))
        if drop == 0 or drop >= outputs:
            continue
        norms = xp.abs(w).reshape(outputs, -1).sum(axis=1)
        keep = xp.sort(xp.argsort(-norms, kind="stable")[: outputs - drop])
        conv_to_linear = type(first).__name__ != "Linear" and type(second).__name__ == "Linear"
        if conv_to_linear:
            per_channel = second.in_features // outputs
            if per_channel * outputs != second.in_features:
                continue
            cols = (keep[:, None] * per_channel + xp.arange(per_channel)[None, :]).reshape(-1)
        else:
            cols = keep
        all_in = xp.arange(first.weight.shape[1])
        make_first = _new_linear if type(first).__name__ == "Linear" else _new_conv
        model._modules[layers[a][0]] = make_first(first, keep, all_in).train(first.training)
        for name, m in layers[a + 1 : b]:
            if type(m).__name__.startswith("BatchNorm"):
                model._modules[name] = _new_norm(m, keep).train(m.training)
        make_second = _new_linear if type(second).__name__ == "Linear" else _new_conv
        second_rows = xp.arange(second.weight.shape[0])
        model._modules[layers[b][0]] = make_second(second, second_rows, cols).train(second.training)
        layers = list(model._modules.items())
    if example is not None:
        model(example)  # fails here, not later, if a shape did not follow
    return model
