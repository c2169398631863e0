"""Explain a network in the textbook's notation: ``shenjing.explain.explain(model, x, y)`` or ``model.explain(...)``.

    explain          forward (z⁽ˡ⁾, a⁽ˡ⁾), loss, backward (δ⁽ˡ⁾, ∂L/∂W⁽ˡ⁾, ∂L/∂b⁽ˡ⁾) and the update, layer by layer
    Explanation      the result: ``print(e)``, ``e.to_markdown()``, ``e.to_html()``, ``e.layer(l)["delta"]``
"""

from .core import Explanation, LayerRecord, explain, format_array

__all__ = ["explain", "Explanation", "LayerRecord", "format_array"]
