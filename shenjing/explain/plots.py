"""Textbook figures as PNG or SVG (by the file's suffix): activations with their derivatives, a network diagram.

    plot_activations("activations.svg")   # step, sigmoid(k·z) for k = 1 and 100, ReLU, tanh, …, each with f′
    plot_model(model, "model.png", input_shape=(784,))   # one box per layer: type, output shape, parameters

The curves are the framework's own: each activation module is run on a grid of z and its derivative comes from
``backward()``, so the plot shows what training uses. Drawn with matplotlib's object API (no pyplot, no global
backend change); matplotlib is imported only here.
"""

from __future__ import annotations

import os
from typing import Any

from ..train.plots import _figure  # the headless Agg figure every shenjing plot is drawn on

__all__ = ["plot_activations", "plot_model", "activation_curves", "model_layers"]


def _save(figure: Any, path: str | os.PathLike) -> str:
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    if suffix not in ("png", "svg"):
        raise ValueError(f"{path}: expected a .png or .svg file name, got {'.' + suffix if suffix else 'none'}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, format=suffix)
    return path


def activation_curves(points: int = 401, low: float = -5.0, high: float = 5.0) -> dict:
    """``{name: (z, f(z), f′(z))}`` as host arrays, computed by the activation modules and autograd."""
    import shenjing
    from shenjing import nn

    def curve(fn: Any) -> tuple:
        z = shenjing.linspace(low, high, points, dtype=shenjing.float64).requires_grad_()
        a = fn(z)
        a.sum().backward()
        return z.detach().numpy().copy(), a.detach().numpy().copy(), z.grad.numpy().copy()

    return {
        "step": curve(nn.Step()),
        "sigmoid(z), k = 1": curve(nn.Sigmoid()),
        "sigmoid(100·z), k = 100": curve(lambda z: nn.Sigmoid()(100 * z)),
        "tanh": curve(nn.Tanh()),
        "ReLU": curve(nn.ReLU()),
        "LeakyReLU(0.1)": curve(nn.LeakyReLU(0.1)),
        "GELU": curve(nn.GELU()),
        "softplus": curve(nn.Softplus()),
    }


def plot_activations(path: str | os.PathLike, points: int = 401) -> str:
    """Each activation (solid) and its derivative (dashed) on its own panel; the step panel also draws
    sigmoid(k·z) for k = 1 and k = 100, the smooth stand-ins the textbook compares it with."""
    curves = activation_curves(points)
    panels = ["step", "sigmoid(z), k = 1", "sigmoid(100·z), k = 100", "tanh", "ReLU", "LeakyReLU(0.1)", "GELU",
              "softplus"]
    figure = _figure(12, 6)
    for index, name in enumerate(panels):
        ax = figure.add_subplot(2, 4, index + 1)
        z, a, da = curves[name]
        ax.plot(z, a, label="f(z)", color="C0")
        ax.plot(z, da, "--", label="f′(z)", color="C1")
        if name == "step":
            for k, key, style in ((1, "sigmoid(z), k = 1", ":"), (100, "sigmoid(100·z), k = 100", "-.")):
                ax.plot(curves[key][0], curves[key][1], style, color="C2" if k == 1 else "C3",
                        label=f"sigmoid({k}·z)")
        ax.axhline(0, color="0.8", linewidth=0.8)
        ax.axvline(0, color="0.8", linewidth=0.8)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("z")
        ax.legend(fontsize=7, loc="upper left")
    figure.suptitle("Activations f(z) and their derivatives f′(z)")
    figure.tight_layout()
    return _save(figure, path)


def model_layers(model: Any, input_shape: Any = None) -> list[dict]:
    """One entry per leaf layer: ``{"name", "type", "output_shape", "parameters", "description"}``."""
    from ..autograd import no_grad
    from ..creation import zeros

    leaves = [(name, m) for name, m in model.named_modules() if name and not any(True for _ in m.children())]
    leaves = leaves or [("", model)]
    shapes: dict = {}
    if input_shape is not None:
        def recorder(name: str) -> Any:
            def hook(module: Any, inputs: Any, output: Any) -> None:
                shapes[name] = tuple(output.shape) if hasattr(output, "shape") else None
            return hook

        handles = [m.register_forward_hook(recorder(name)) for name, m in leaves]
        was_training = model.training
        model.eval()
        try:
            first = next(model.parameters(), None)
            with no_grad():
                model(zeros(1, *input_shape, dtype=first.dtype if first is not None else None))
        finally:
            for handle in handles:
                handle.remove()
            model.train(was_training)
    layers = []
    for name, module in leaves:
        shape = shapes.get(name)
        layers.append({
            "name": name or "model", "type": type(module).__name__,
            "output_shape": None if shape is None else (None, *shape[1:]),
            "parameters": sum(p.numel() for p in module.parameters()),
            "description": module.extra_repr(),
        })
    return layers


def plot_model(model: Any, path: str | os.PathLike, input_shape: Any = None) -> str:
    """A network diagram: the input, then one box per layer (type, options, output shape, parameter count)."""
    layers = model_layers(model, input_shape)
    total = sum(layer["parameters"] for layer in layers)
    rows = len(layers) + 1
    figure = _figure(6, 0.8 * rows + 1)
    ax = figure.add_subplot(1, 1, 1)
    ax.set_xlim(0, 1)
    ax.set_ylim(-rows, 1)
    ax.axis("off")
    boxes = [("input", "" if input_shape is None else f"(None, {', '.join(map(str, input_shape))})", "")]
    for layer in layers:
        shape = "" if layer["output_shape"] is None else "(" + ", ".join(
            "None" if s is None else str(s) for s in layer["output_shape"]) + ")"
        params = f"{layer['parameters']:,} parameters" if layer["parameters"] else "no parameters"
        title = f"{layer['name']}: {layer['type']}"
        boxes.append((title, shape, params))
    for i, (title, shape, params) in enumerate(boxes):
        y = -i
        colour = "#dde8f5" if i == 0 else ("#f5e6cc" if params and params != "no parameters" else "#eeeeee")
        ax.text(0.5, y, "\n".join(s for s in (title, "  ".join(s for s in (shape, params) if s)) if s),
                ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round,pad=0.4", "facecolor": colour, "edgecolor": "0.4"})
        if i:
            ax.annotate("", xy=(0.5, y + 0.3), xytext=(0.5, y + 0.7), arrowprops={"arrowstyle": "->", "color": "0.3"})
    ax.set_title(f"{type(model).__name__}: {total:,} parameters", fontsize=11)
    return _save(figure, path)
