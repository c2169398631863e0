"""The textbook's two worked examples explained by ``model.explain`` (run: python examples/explain_textbook.py).

Prints the two-layer sigmoid network's forward pass, loss, δ per layer, ∂L/∂W, ∂L/∂b and the updated weights after
one step of gradient descent (η = 0.1) — the source's table with its z1[1] = 0.35 corrected to 0.39 — and the coat
MLP, whose two ReLUs are both dead for x = [10, 1, 1]. Pass ``--format markdown`` or ``--format html`` for those.
"""

from __future__ import annotations

import argparse

import shenjing
from shenjing import nn

f64 = shenjing.float64


def two_layer() -> nn.Sequential:
    layer1, layer2 = nn.Linear(2, 2, dtype=f64), nn.Linear(2, 1, dtype=f64)
    layer1.load_state_dict({"weight": [[0.1, 0.2], [0.3, 0.4]], "bias": [0.1, 0.2]})
    layer2.load_state_dict({"weight": [[0.5, 0.6]], "bias": [0.3]})
    return nn.Sequential(layer1, nn.Sigmoid(), layer2, nn.Sigmoid())


def coat_mlp() -> nn.Sequential:
    hidden, output = nn.Linear(3, 2, dtype=f64), nn.Linear(2, 1, dtype=f64)
    hidden.load_state_dict({"weight": [[-0.5, 1.0, 0.5], [-1.0, 0.5, 0.5]], "bias": [0.0, 1.0]})
    output.load_state_dict({"weight": [[0.8, -0.5]], "bias": [0.2]})
    return nn.Sequential(hidden, nn.ReLU(), output, nn.Sigmoid())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=("text", "markdown", "html"), default="text")
    args = parser.parse_args()
    print(two_layer().explain([[0.5, 0.1]], [[1.0]], loss=nn.HalfSquaredErrorLoss(), lr=0.1).render(args.format))
    print(coat_mlp().explain([[10.0, 1.0, 1.0]]).render(args.format))


if __name__ == "__main__":
    main()
