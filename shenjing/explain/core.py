"""``explain``: one example (or a tiny batch) through a network, printed in the textbook's notation.

For every layer l: z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾ and a⁽ˡ⁾ = f(z⁽ˡ⁾); then the loss L; then, backwards, δ⁽ˡ⁾ = ∂L/∂z⁽ˡ⁾,
∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ and ∂L/∂b⁽ˡ⁾ = δ⁽ˡ⁾; and the updated W and b after one optimizer step. Convolution,
pooling and normalisation layers are described in their own terms; large arrays are summarised (shape, norm and a
few entries). The numbers come from the framework's own forward and backward pass (forward hooks keep z and a,
``retain_grad`` keeps δ), so what is printed is what training computes.

By default the model is left as it was: parameters, buffers, gradients and the optimizer's state are put back after
the step (pass ``apply_update=True`` to keep the step).
"""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass, field
from typing import Any

import numpy

from ..backend import backend_of

__all__ = ["explain", "Explanation", "LayerRecord", "format_array"]

ACTIVATIONS = {
    "ReLU": ("relu", "max(0, z)", "relu′(z) = 1 if z > 0 else 0"),
    "Sigmoid": ("σ", "1/(1 + e⁻ᶻ)", "σ′(z) = σ(z)(1 − σ(z))"),
    "Tanh": ("tanh", "tanh z", "tanh′(z) = 1 − tanh²(z)"),
    "LeakyReLU": ("leaky_relu", "max(αz, z)", "1 if z > 0 else α"),
    "ReLU6": ("relu6", "min(max(0, z), 6)", "1 if 0 < z < 6 else 0"),
    "ELU": ("elu", "z if z > 0 else α(eᶻ − 1)", "1 if z > 0 else αeᶻ"),
    "GELU": ("gelu", "z·Φ(z)", "Φ(z) + zφ(z)"),
    "SiLU": ("silu", "z·σ(z)", "σ(z)(1 + z(1 − σ(z)))"),
    "Softplus": ("softplus", "log(1 + eᶻ)", "σ(z)"),
    "Softmax": ("softmax", "eᶻⁱ/Σⱼeᶻʲ", "∂aᵢ/∂zⱼ = aᵢ(1[i=j] − aⱼ)"),
    "LogSoftmax": ("log_softmax", "zᵢ − log Σⱼeᶻʲ", "1[i=j] − softmax(z)ⱼ"),
    "Step": ("step", "1 if z > threshold else 0", "0 almost everywhere (no gradient)"),
    "Hardtanh": ("hardtanh", "clip(z, −1, 1)", "1 if −1 < z < 1 else 0"),
    "Mish": ("mish", "z·tanh(softplus(z))", "f′(z)"),
    "SELU": ("selu", "λ(z if z > 0 else α(eᶻ − 1))", "f′(z)"),
    "CELU": ("celu", "max(0, z) + min(0, α(e^(z/α) − 1))", "f′(z)"),
    "Softsign": ("softsign", "z/(1 + |z|)", "1/(1 + |z|)²"),
    "Hardsigmoid": ("hardsigmoid", "clip(z/6 + ½, 0, 1)", "f′(z)"),
    "Hardswish": ("hardswish", "z·hardsigmoid(z)", "f′(z)"),
}
AFFINE = ("Linear", "Bilinear")
CONV = ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d")
POOL = ("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
        "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "LPPool1d", "LPPool2d")
NORM = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d")
SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def sup(index: int) -> str:
    """⁽ˡ⁾ for layer l."""
    return "⁽" + str(index).translate(SUP) + "⁾"


def _host(t: Any) -> numpy.ndarray | None:
    if t is None:
        return None
    array = t.array if hasattr(t, "array") else t
    if isinstance(array, int | float | numpy.ndarray | numpy.generic):
        return numpy.array(array, copy=True)
    return numpy.array(backend_of(array).to_host(array), copy=True)


def _number(value: float, precision: int) -> str:
    value = float(value)
    if value == 0 or (1e-4 <= abs(value) < 1e6) or not numpy.isfinite(value):
        text = f"{value:.{precision}f}"
        return "0." + "0" * precision if text.lstrip("-").strip("0.") == "" else text
    return f"{value:.{max(precision - 1, 1)}e}"


def format_array(array: Any, precision: int = 6, max_entries: int = 16) -> str:
    """A number, a vector or a matrix written out; an array with more than ``max_entries`` entries summarised as
    its shape, its norm ‖·‖, its mean and its first entries."""
    a = _host(array) if not isinstance(array, numpy.ndarray) else array
    if a is None:
        return "—"
    if a.ndim == 0 or a.size == 1 and a.ndim <= 1:
        return _number(a.reshape(()), precision)
    if a.size <= max_entries:
        def nested(x: numpy.ndarray) -> str:
            if x.ndim == 1:
                return "[" + ", ".join(_number(v, precision) for v in x) + "]"
            return "[" + ", ".join(nested(row) for row in x) + "]"
        return nested(a)
    flat = a.ravel().astype(numpy.float64)
    head = ", ".join(_number(v, precision) for v in flat[:4])
    return (f"shape {tuple(a.shape)}, ‖·‖ = {_number(numpy.linalg.norm(flat), precision)}, "
            f"mean {_number(flat.mean(), precision)}, first entries [{head}, …]")


@dataclass
class LayerRecord:
    """One layer in the textbook's sense: a transform (Linear, Conv, pool, norm, …) and the activation after it.

    ``values`` holds host (NumPy) copies: ``a_prev`` (its input a⁽ˡ⁻¹⁾), ``z``, ``a``, ``delta`` (∂L/∂z),
    ``grad_a`` (∂L/∂a), ``W``, ``b``, ``dW``, ``db``, ``W_new``, ``b_new`` (and ``mean``, ``var`` for norms),
    with the batch dimension dropped when the batch holds one example.
    """

    index: int
    kind: str  # "affine", "conv", "pool", "norm", "activation", "other"
    name: str  # e.g. "0: Linear(2 → 2) + 1: Sigmoid"
    transform: Any = None
    activation: Any = None
    values: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    dead_units: list = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@dataclass
class Explanation:
    """What :func:`explain` found: per-layer records, the loss and the optimizer view, and three renderings."""

    model_name: str
    x: Any
    y: Any
    layers: list
    loss: float | None = None
    loss_name: str = ""
    update_rule: str = ""
    optimizer_view: dict | None = None
    precision: int = 6
    max_entries: int = 16
    sections: list = field(default_factory=list)  # (title, [(quantity, formula, value)])

    def layer(self, index: int) -> LayerRecord:
        """Layer l (counted from 1, as the textbook does)."""
        return self.layers[index - 1]

    def to_text(self) -> str:
        lines = []
        for title, rows in self.sections:
            lines.append(title)
            for quantity, formula, value in rows:
                left = formula if not quantity else quantity if not formula else f"{quantity} = {formula}"
                lines.append(f"  {left} = {value}" if value != "" else f"  {left}")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def to_markdown(self) -> str:
        lines = []
        for title, rows in self.sections:
            lines += [f"### {title}", "", "| quantity | formula | value |", "|---|---|---|"]
            for quantity, formula, value in rows:
                cells = [str(c).replace("|", "\\|") for c in (quantity, formula, value)]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        return "\n".join(lines)

    def to_html(self) -> str:
        parts = ['<div class="shenjing-explain">']
        for title, rows in self.sections:
            parts.append(f"<h3>{html.escape(title)}</h3>")
            parts.append("<table><tr><th>quantity</th><th>formula</th><th>value</th></tr>")
            for row in rows:
                parts.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
            parts.append("</table>")
        parts.append("</div>")
        return "\n".join(parts) + "\n"

    def render(self, format: str = "text") -> str:  # noqa: A002
        renderers = {"text": self.to_text, "markdown": self.to_markdown, "md": self.to_markdown, "html": self.to_html}
        if format not in renderers:
            raise ValueError(f"format: expected 'text', 'markdown' or 'html', got {format!r}")
        return renderers[format]()

    def _repr_html_(self) -> str:  # notebooks
        return self.to_html()

    def __str__(self) -> str:
        return self.to_text()


# ---- capture ------------------------------------------------------------------------------------------------------
def _units(model: Any) -> list:
    """The modules explained as one step each: leaves, and modules holding their own parameters (LSTM, …)."""
    units, covered = [], []
    for name, module in model.named_modules():
        if any(name.startswith(prefix + ".") for prefix in covered):
            continue
        own = list(module.named_parameters(recurse=False))
        children = list(module.children())
        if (not children and module is not model) or (own and module is not model) or (not children and not units):
            units.append((name or type(module).__name__, module))
            covered.append(name)
    return units


def _kind(module: Any) -> str:
    name = type(module).__name__
    for kind, names in (("affine", AFFINE), ("conv", CONV), ("pool", POOL), ("norm", NORM)):
        if name in names:
            return kind
    if name in ACTIVATIONS or name == "PReLU":
        return "activation"
    return "other"


def _squeeze(a: numpy.ndarray | None, batch: int) -> numpy.ndarray | None:
    return a[0] if a is not None and batch == 1 and a.ndim >= 1 and a.shape[0] == 1 else a


def _default_loss(y: Any) -> Any:
    from .. import nn

    kind = y.array.dtype.kind
    return nn.CrossEntropyLoss() if kind in "iu" else nn.HalfSquaredErrorLoss()


def _resolve_loss(loss: Any, y: Any) -> Any:
    if loss is None:
        return _default_loss(y)
    if isinstance(loss, str):
        from ..train.config import _losses

        key = loss.lower().replace("_", "")
        for name, klass in _losses().items():
            canonical = name.lower().replace("_", "")
            if key in (canonical, canonical[:-4] if canonical.endswith("loss") else canonical):
                return klass()
        raise ValueError(f"loss: unknown loss {loss!r}; for example 'half_squared_error', 'mse', 'cross_entropy'")
    return loss


def _tensor(value: Any, like: Any = None) -> Any:
    import shenjing

    if isinstance(value, shenjing.Tensor):
        return value
    array = numpy.asarray(value)
    dtype = None
    if array.dtype.kind == "f":
        dtype = like.dtype if like is not None else None
    return shenjing.tensor(array, dtype=dtype)


def _model_dtype(model: Any) -> Any:
    for p in model.parameters():
        return p.dtype
    return None


def explain(
    model: Any,
    x: Any,
    y: Any = None,
    loss: Any = None,
    optimizer: Any = None,
    lr: float | None = None,
    watch: str | None = None,
    apply_update: bool = False,
    precision: int = 6,
    max_entries: int = 16,
) -> Explanation:
    """Run ``x`` (one example or a tiny batch) through ``model`` and explain every layer in textbook notation.

    Args:
        model: a Module (a Sequential of Linear layers and activations reads exactly like the textbook).
        x: the input batch (a Tensor or array-like, batch first); a float array takes the model's dtype.
        y: the target; without it only the forward pass is explained.
        loss: a loss module, a callable ``loss(output, y)`` or a name ('half_squared_error', 'mse',
            'cross_entropy', …); default ½(a − y)² (HalfSquaredErrorLoss), CrossEntropyLoss for integer targets.
        optimizer: an optimizer over the model's parameters whose ``step()`` gives the update; or
        lr: plain gradient descent w ← w − η ∂L/∂w with this η (the textbook's rule) when no optimizer is given.
        watch: the parameter name (``"0.weight"``) for the optimizer view (SGD's velocity, Adam's m, v, m̂, v̂ and
            the effective step); by default the first parameter.
        apply_update: keep the step; by default parameters, buffers, gradients and optimizer state are restored.
        precision, max_entries: decimals printed, and the size above which arrays are summarised.

    Returns:
        an :class:`Explanation`: ``print(e)`` for text, ``e.to_markdown()``, ``e.to_html()``; ``e.layer(l)`` holds
        the numbers (``e.layer(1)["z"]``, ``["delta"]``, ``["dW"]``, ``["W_new"]``, …).
    """
    import shenjing

    dtype = _model_dtype(model)
    x = _tensor(x, shenjing.empty(0, dtype=dtype) if dtype is not None else None)
    if y is not None:
        y = _tensor(y, shenjing.empty(0, dtype=dtype) if dtype is not None else None)
    batch = x.shape[0] if x.ndim >= 1 else 1
    params = list(model.named_parameters())
    tensors = [p for _, p in params] + [b for _, b in model.named_buffers()]
    saved = [(t, t.array.copy()) for t in tensors]
    saved_grads = [(p, p.grad) for _, p in params]
    # the state's keys are the parameters themselves: copy the values only
    saved_state = {p: copy.deepcopy(v) for p, v in optimizer.state.items()} if optimizer is not None else None

    calls: list = []

    def hook_for(name: str) -> Any:
        def hook(module: Any, inputs: tuple, output: Any) -> None:
            if isinstance(output, shenjing.Tensor) and output.requires_grad:
                output.retain_grad()
            calls.append((name, module, inputs[0] if inputs else None, output))
        return hook

    handles = [module.register_forward_hook(hook_for(name)) for name, module in _units(model)]
    try:
        model.zero_grad()
        output = model(x)
        loss_value, loss_fn = None, None
        if y is not None:
            loss_fn = _resolve_loss(loss, y)
            loss_tensor = loss_fn(output, y)
            loss_value = float(loss_tensor.item())
            loss_tensor.backward()
    finally:
        for handle in handles:
            handle.remove()

    layers = _group(calls, batch)
    before = {id(p): _host(p) for _, p in params}
    grads = {id(p): _host(p.grad) for _, p in params}
    optimizer_view, rule = None, ""
    if y is not None and (optimizer is not None or lr is not None):
        watched = dict(params).get(watch) if watch is not None else (params[0][1] if params else None)
        if watch is not None and watched is None:
            raise KeyError(f"watch: the model has no parameter {watch!r}; it has {', '.join(n for n, _ in params)}")
        if optimizer is not None:
            optimizer.step()
            rule = _rule_of(optimizer)
        else:
            with shenjing.no_grad():
                for _, p in params:
                    if p.grad is not None:
                        p -= lr * p.grad
            rule = f"gradient descent, η = {lr:g}: W ← W − η ∂L/∂W, b ← b − η ∂L/∂b"
        if watched is not None:
            name = next(n for n, p in params if p is watched)
            optimizer_view = _optimizer_view(optimizer, lr, name, watched, before[id(watched)], grads[id(watched)])
    after = {id(p): _host(p) for _, p in params}
    for record in layers:
        for module, keys in ((record.transform, ("W", "b", "dW", "db", "W_new", "b_new")),
                             (record.activation, ("W_act", "b_act", "dW_act", "db_act", "W_act_new", "b_act_new"))):
            if module is None:
                continue
            for pname, p in module.named_parameters(recurse=False):
                short = {"weight": 0, "bias": 1}.get(pname)
                if short is None:
                    record.values[pname] = before[id(p)]
                    record.values["d" + pname] = grads[id(p)]
                    record.values[pname + "_new"] = after[id(p)]
                    continue
                record.values[keys[short]] = before[id(p)]
                record.values[keys[short + 2]] = grads[id(p)]
                record.values[keys[short + 4]] = after[id(p)]
    if not apply_update:
        for t, array in saved:
            t.array[...] = array
        for p, grad in saved_grads:
            p.grad = grad
        if optimizer is not None:
            optimizer.state.clear()
            optimizer.state.update(saved_state)
    result = Explanation(
        model_name=type(model).__name__, x=_host(x), y=_host(y), layers=layers, loss=loss_value,
        loss_name=type(loss_fn).__name__ if loss_fn is not None else "", update_rule=rule,
        optimizer_view=optimizer_view, precision=precision, max_entries=max_entries,
    )
    from .render import build_sections

    result.sections = build_sections(result, batch)
    return result


def _group(calls: list, batch: int) -> list:
    """Pair each transform with the activation right after it: layer l = (z⁽ˡ⁾ = transform, a⁽ˡ⁾ = f(z⁽ˡ⁾))."""
    layers: list = []
    for name, module, inputs, output in calls:
        kind = _kind(module)
        out = _squeeze(_host(output) if hasattr(output, "array") else None, batch)
        grad = _squeeze(_host(output.grad) if hasattr(output, "grad") and output.grad is not None else None, batch)
        label = f"{name}: {_describe(module)}"
        last = layers[-1] if layers else None
        if kind == "activation" and last is not None and last.activation is None and last.kind != "activation":
            last.activation = module
            last.name += f" + {label}"
            last.values.update(a=out, grad_a=grad)
            continue
        record = LayerRecord(index=len(layers) + 1, kind=kind, name=label)
        record.values["a_prev"] = _squeeze(_host(inputs) if hasattr(inputs, "array") else None, batch)
        if kind == "activation":
            record.activation = module
            record.values.update(z=record.values["a_prev"], a=out, grad_a=grad)
        else:
            record.transform = module
            record.values.update(z=out, delta=grad, a=out, grad_a=grad)
        layers.append(record)
    for record in layers:  # δ = ∂L/∂z is the gradient at the transform's output (the activation's input)
        if type(record.activation).__name__ == "ReLU" and record.values.get("z") is not None:
            z = record.values["z"]
            z = z[None] if batch == 1 else z  # (N, units) or (N, channels, …): a channel is dead at every position
            zz = numpy.moveaxis(z, 1, -1).reshape(-1, z.shape[1]) if z.ndim >= 2 else z.reshape(-1, 1)
            record.values["units"] = zz.shape[1]
            dead = numpy.all(zz <= 0, axis=0)
            record.dead_units = [int(i) for i in numpy.flatnonzero(dead)]
    return layers


def _describe(module: Any) -> str:
    name = type(module).__name__
    if name == "Linear":
        return f"Linear({module.in_features} → {module.out_features})"
    return name if not module.extra_repr() else f"{name}({module.extra_repr()})"


def _rule_of(optimizer: Any) -> str:
    name = type(optimizer).__name__
    group = optimizer.param_groups[0]
    if name == "SGD":
        if group.get("momentum", 0):
            return (f"SGD, η = {group['lr']:g}, momentum μ = {group['momentum']:g}: v ← μv + ∂L/∂W, "
                    "W ← W − η v")
        return f"SGD, η = {group['lr']:g}: W ← W − η ∂L/∂W"
    if name in ("Adam", "AdamW"):
        b1, b2 = group["betas"]
        return (f"{name}, η = {group['lr']:g}, β₁ = {b1:g}, β₂ = {b2:g}, ε = {group['eps']:g}: m ← β₁m + (1 − β₁)g, "
                "v ← β₂v + (1 − β₂)g², m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), W ← W − η m̂/(√v̂ + ε)")
    return f"{name}, lr = {group.get('lr', float('nan')):g}: its step() rule"


def _optimizer_view(optimizer: Any, lr: float | None, name: str, p: Any, before: Any, grad: Any) -> dict:
    view: dict = {"parameter": name, "grad": grad, "step": _host(p) - before}
    if optimizer is None:
        view["rule"] = "gradient descent"
        return view
    state = optimizer.state.get(p, {})
    kind = type(optimizer).__name__
    view["rule"] = kind
    if "momentum_buffer" in state:
        view["velocity"] = _host(state["momentum_buffer"])
    if "exp_avg" in state:
        group = next(g for g in optimizer.param_groups if any(q is p for q in g["params"]))
        b1, b2 = group["betas"]
        t = float(state["step"])
        m, v = _host(state["exp_avg"]), _host(state["exp_avg_sq"])
        view.update(t=t, m=m, v=v, m_hat=m / (1 - b1 ** t), v_hat=v / (1 - b2 ** t))
    return view
