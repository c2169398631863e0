"""``summary(model, input_shape)``: a Keras-like table of layers, output shapes and parameter counts."""

from __future__ import annotations

from typing import Any

__all__ = ["summary", "count_parameters"]


def count_parameters(model: Any) -> tuple[int, int]:
    """(total, trainable) number of parameters."""
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def summary(model: Any, input_shape: Any = None, dtype: Any = None) -> str:
    """The layer table: each leaf layer's name and type, output shape (None = the batch) and parameter count.

    ``input_shape`` is one sample's shape, without the batch dimension ((784,) or (1, 28, 28)); without it the
    output shapes are left out. Example for the textbook's 784-16-16-10 MLP::

        Layer (type)         Output shape      Param #
        0 (Linear)           (None, 16)         12,560
        1 (Sigmoid)          (None, 16)              0
        ...
        Total params: 13,002
    """
    from ..autograd import no_grad
    from ..creation import zeros

    leaves = [(name, m) for name, m in model.named_modules() if name and not any(True for _ in m.children())]
    if not leaves:
        leaves = [("", model)]
    shapes: dict = {}
    if input_shape is not None:
        handles = [m.register_forward_hook(_recorder(shapes, name)) for name, m in leaves]
        was_training = model.training
        model.eval()
        try:
            with no_grad():
                first = next(model.parameters(), None)
                model(
                    zeros(
                        1,
                        *input_shape,
                        dtype=dtype if dtype is not None else (first.dtype if first is not None else None),
                    )
                )
        finally:
            for handle in handles:
                handle.remove()
            model.train(was_training)
    rows = []
    for name, module in leaves:
        count = sum(p.numel() for p in module.parameters())
        shape = shapes.get(name)
        shown = "" if shape is None else "(" + ", ".join(["None", *map(str, shape[1:])]) + ")"
        rows.append((f"{name or 'model'} ({type(module).__name__})", shown, f"{count:,}"))
    total, trainable = count_parameters(model)
    header = ("Layer (type)", "Output shape", "Param #")
    widths = [max(len(r[i]) for r in [header, *rows]) + 2 for i in range(3)]
    line = "─" * sum(widths)
    lines = [
        f"Model: {type(model).__name__}"
        + ("" if input_shape is None else f"   input (None, {', '.join(map(str, input_shape))})"),
        line,
        header[0].ljust(widths[0]) + header[1].ljust(widths[1]) + header[2].rjust(widths[2]),
        line,
    ]
    for layer, shape, count in rows:
        lines.append(layer.ljust(widths[0]) + shape.ljust(widths[1]) + count.rjust(widths[2]))
    lines += [
        line,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ]
    return "\n".join(lines)


def _recorder(shapes: dict, name: str) -> Any:
    def hook(module: Any, inputs: Any, output: Any) -> None:
        shapes[name] = tuple(output.shape) if hasattr(output, "shape") else None

    return hook
