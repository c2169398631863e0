"""The rows of an :class:`~shenjing.explain.core.Explanation`: (quantity, formula, value), section by section.

Text, Markdown and HTML are three layouts of the same rows, so all three carry the same numbers.
"""

from __future__ import annotations

from typing import Any

from .core import ACTIVATIONS, format_array, sup

__all__ = ["build_sections"]


def _act(module: Any) -> tuple[str, str, str]:
    name = type(module).__name__
    return ACTIVATIONS.get(name, (name.lower(), "f(z)", "f′(z)"))


def _forward_rows(record: Any, fmt: Any, batch: int) -> list:
    l, prev = record.index, sup(record.index - 1)
    s, v, rows = sup(l), record.values, []
    module = record.transform
    kind = record.kind
    if kind in ("affine", "conv"):
        for key, symbol in (("W", "W"), ("b", "b")):
            if v.get(key) is not None:
                rows.append((f"{symbol}{s}", "weights" if key == "W" else "biases", fmt(v[key])))
    if kind == "affine":
        rows.append((f"z{s}", f"W{s}a{prev} + b{s}" if v.get("b") is not None else f"W{s}a{prev}", fmt(v["z"])))
    elif kind == "conv":
        k = getattr(module, "kernel_size", "?")
        rows.append((f"z{s}", f"W{s} ⋆ a{prev} + b{s}", ""))
        rows.append(("", f"cross-correlation: {module.out_channels} kernels of {module.in_channels}×"
                     f"{'×'.join(map(str, k)) if isinstance(k, tuple) else k}, stride {getattr(module, 'stride', 1)}, "
                     f"padding {getattr(module, 'padding', 0)}; each output is a kernel's dot product with one patch "
                     f"of a{prev}", ""))
        rows.append((f"a{prev}", "input", fmt(v.get("a_prev"))))
        rows.append((f"z{s}", "output", fmt(v["z"])))
    elif kind == "pool":
        name = type(module).__name__
        what = "the maximum" if "Max" in name else ("the mean" if "Avg" in name else "the pooled value")
        rows.append((f"z{s}", f"{what} of a{prev} over each window "
                     f"(kernel {getattr(module, 'kernel_size', getattr(module, 'output_size', '?'))}, "
                     f"stride {getattr(module, 'stride', '—')}); no weights", fmt(v["z"])))
    elif kind == "norm":
        a = v.get("a_prev")
        name = type(module).__name__
        if a is not None and name.startswith("BatchNorm"):
            x = a if batch > 1 or a.ndim < 1 else a[None]
            axes = tuple(i for i in range(x.ndim) if i != 1) if x.ndim > 1 else (0,)
            if module.training:
                mean, var = x.mean(axis=axes), x.var(axis=axes)
                source = "this batch's statistics (training mode)"
            else:
                mean, var = _np(module.running_mean), _np(module.running_var)
                source = "the running statistics (eval mode)"
            record.values.update(mean=mean, var=var)
            rows.append(("μ", f"mean of a{prev} per channel, from {source}", fmt(mean)))
            rows.append(("σ²", f"variance of a{prev} per channel (biased)", fmt(var)))
            rows.append((f"z{s}", f"γ{s}·(a{prev} − μ)/√(σ² + ε) + β{s}, ε = {module.eps:g}", fmt(v["z"])))
        else:
            rows.append((f"z{s}", f"γ{s}·(a{prev} − μ)/√(σ² + ε) + β{s}, μ and σ² over the normalised dims",
                         fmt(v["z"])))
    elif kind == "activation" and record.transform is None:
        symbol, formula, _ = _act(record.activation)
        rows.append((f"a{s}", f"{symbol}(a{prev}) = {formula}", fmt(v["a"])))
        return rows
    else:
        rows.append((f"z{s}", f"{type(module).__name__}(a{prev})", fmt(v["z"])))
    if record.activation is not None:
        symbol, formula, _ = _act(record.activation)
        rows.append((f"a{s}", f"{symbol}(z{s}), {symbol}(z) = {formula}", fmt(v["a"])))
    if record.dead_units:
        n = v.get("units", 1)
        units = ", ".join(str(u) for u in record.dead_units)
        plural = "s" if len(record.dead_units) > 1 else ""
        what = "channels" if kind == "conv" else "units"
        count = len(record.dead_units)
        rows.append((f"dead ReLUs ({what})", f"{count} of {n} (unit{plural} {units}): z ≤ 0, so a = 0 and "
                     "relu′ = 0; no gradient reaches their weights", ""))
    return rows


def _np(t: Any) -> Any:
    from .core import _host

    return _host(t)


def _backward_rows(record: Any, fmt: Any, next_record: Any) -> list:
    l, prev = record.index, sup(record.index - 1)
    s, v, rows = sup(l), record.values, []
    if record.transform is None:
        return [(f"∂L/∂a{s}", "", fmt(v.get("grad_a")))] if v.get("grad_a") is not None else []
    if record.activation is not None:
        _, _, derivative = _act(record.activation)
        upstream = f"(W{sup(l + 1)}ᵀδ{sup(l + 1)})" if next_record is not None and next_record.kind == "affine" \
            else f"∂L/∂a{s}"
        formula = f"∂L/∂z{s} = {upstream} ⊙ {derivative.split(' = ')[0].replace('(z)', f'(z{s})')}"
    else:
        formula = f"∂L/∂z{s}"
    rows.append((f"δ{s}", formula, fmt(v.get("delta"))))
    if record.kind == "affine":
        if v.get("dW") is not None:
            rows.append((f"∂L/∂W{s}", f"δ{s}a{prev}ᵀ", fmt(v["dW"])))
        if v.get("db") is not None:
            rows.append((f"∂L/∂b{s}", f"δ{s}", fmt(v["db"])))
    elif record.kind == "conv":
        rows.append((f"∂L/∂W{s}", f"Σ over positions δ{s} ⋆ a{prev} (each kernel entry sums δ × the input it met)",
                     fmt(v.get("dW"))))
        if v.get("db") is not None:
            rows.append((f"∂L/∂b{s}", f"Σ of δ{s} over the batch and positions, per output channel", fmt(v["db"])))
    elif record.kind == "pool":
        name = type(record.transform).__name__
        route = ("each window's δ goes to the input that was its maximum, 0 to the rest" if "Max" in name
                 else "each window's δ is shared equally among its inputs")
        rows.append((f"∂L/∂a{prev}", route, ""))
    elif record.kind == "norm":
        if v.get("dW") is not None:
            rows.append((f"∂L/∂γ{s}", f"Σ δ{s} ⊙ x̂ (x̂ = the normalised input)", fmt(v["dW"])))
        if v.get("db") is not None:
            rows.append((f"∂L/∂β{s}", f"Σ δ{s}", fmt(v["db"])))
    else:
        for key, value in v.items():
            if key.startswith("d") and key not in ("delta", "dW", "db") and value is not None:
                rows.append((f"∂L/∂{key[1:]}", "", fmt(value)))
        if v.get("dW") is not None:
            rows.append((f"∂L/∂weight{s}", "", fmt(v["dW"])))
    return rows


def _update_rows(record: Any, fmt: Any) -> list:
    s, v, rows = sup(record.index), record.values, []
    names = ("W", "b") if record.kind in ("affine", "conv") else ("γ", "β")
    for key, symbol in zip(("W_new", "b_new"), names):
        if v.get(key) is not None:
            rows.append((f"{symbol}{s}", "new value", fmt(v[key])))
    return rows


def build_sections(e: Any, batch: int) -> list:
    fmt = lambda a: format_array(a, e.precision, e.max_entries)  # noqa: E731
    sections = []
    head = [("a⁽⁰⁾", "x", fmt(e.x[0] if batch == 1 and e.x is not None and e.x.ndim >= 1 else e.x))]
    if batch > 1:
        head.append(("batch", "", f"{batch} examples (rows)"))
    sections.append((f"{e.model_name}: {len(e.layers)} layers, forward pass", head))
    for record in e.layers:
        sections.append((f"Layer {record.index} — {record.name}", _forward_rows(record, fmt, batch)))
    if e.loss is None:
        return sections
    last = sup(len(e.layers))
    formula = {"HalfSquaredErrorLoss": f"½ Σ (a{last} − y)²", "MSELoss": f"mean (a{last} − y)²",
               "CrossEntropyLoss": f"−log softmax(a{last})_y",
               "BCELoss": f"−[y log a{last} + (1 − y) log(1 − a{last})]",
               "L1Loss": f"mean |a{last} − y|"}.get(e.loss_name, f"{e.loss_name}(a{last}, y)")
    if batch > 1 and e.loss_name in ("CrossEntropyLoss", "BCELoss"):
        formula = f"mean over the batch of {formula}"
    y = e.y[0] if batch == 1 and e.y is not None and e.y.ndim >= 1 else e.y
    sections.append((f"Loss — {e.loss_name}", [("y", "target", fmt(y)), ("L", formula, fmt(e.loss))]))
    backward = []
    for i in range(len(e.layers) - 1, -1, -1):
        record = e.layers[i]
        nxt = e.layers[i + 1] if i + 1 < len(e.layers) else None
        backward += _backward_rows(record, fmt, nxt)
    sections.append(("Backward pass (from the output back to the input)", backward))
    if e.update_rule:
        update = [("rule", "", e.update_rule)]
        for record in e.layers:
            update += _update_rows(record, fmt)
        sections.append(("Update", update))
    view = e.optimizer_view
    if view:
        rows = [("g", f"∂L/∂{view['parameter']}", fmt(view["grad"]))]
        if "velocity" in view:
            rows.append(("v", "μv + g (momentum buffer, the velocity)", fmt(view["velocity"])))
        if "m" in view:
            t = int(view["t"])
            rows += [("t", "step count", str(t)), ("m", "β₁m + (1 − β₁)g", fmt(view["m"])),
                     ("v", "β₂v + (1 − β₂)g²", fmt(view["v"])), ("m̂", f"m/(1 − β₁^{t})", fmt(view["m_hat"])),
                     ("v̂", f"v/(1 − β₂^{t})", fmt(view["v_hat"]))]
        rows.append(("Δ", "effective step: new value − old value", fmt(view["step"])))
        sections.append((f"Optimizer view — {view['parameter']} ({view['rule']})", rows))
    return sections

