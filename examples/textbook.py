"""The textbook's worked examples, computed with shenjing (run: python examples/textbook.py).

Each function returns its numbers so that tests/test_textbook.py checks them; printing is below.
"""

from __future__ import annotations

import shenjing
from shenjing import nn

f64 = shenjing.float64


def umbrella_neuron() -> dict:
    """One neuron with ReLU: x = [10, 1], w = [−0.5, 2], b = 1 → z = −2, a = relu(−2) = 0: "no umbrella"."""
    neuron = nn.Linear(2, 1, dtype=f64)
    neuron.load_state_dict({"weight": [[-0.5, 2.0]], "bias": [1.0]})
    z = neuron(shenjing.tensor([[10.0, 1.0]], dtype=f64))
    a = nn.ReLU()(z)
    return {"z": z.item(), "a": a.item()}


def cheese_festival_neuron() -> dict:
    """One neuron with a step at 5: w = [6, 2, 2], x = [1, 0, 0], b = 1 → z = 7 > 5, so output 1 (go).

    The smooth stand-in 1/(1 + e^(−k(z − 5))) with k = 100 agrees with the step away from the threshold.
    """
    neuron = nn.Linear(3, 1, dtype=f64)
    neuron.load_state_dict({"weight": [[6.0, 2.0, 2.0]], "bias": [1.0]})
    z = neuron(shenjing.tensor([[1.0, 0.0, 0.0]], dtype=f64))
    step = nn.Step(threshold=5)(z)
    smooth = nn.Sigmoid()(100 * (z - 5))
    return {"z": z.item(), "step": step.item(), "sigmoid_k100": smooth.item()}


def coat_mlp() -> dict:
    """The coat MLP 3 → 2 (ReLU) → 1 (sigmoid): x = [10, 1, 1].

    z1 = W1 x + b1 = [−5 + 1 + 0.5 + 0, −10 + 0.5 + 0.5 + 1] = [−3.5, −8]. (The source text prints −7 for the
    second hidden unit; −10 + 0.5 + 0.5 + 1 = −8 is the correct value.) Both ReLUs give 0, so the output
    is sigmoid(b2) = sigmoid(0.2) = 0.549834. Parameters: 3·2 + 2 + 2·1 + 1 = 11.
    """
    hidden, output = nn.Linear(3, 2, dtype=f64), nn.Linear(2, 1, dtype=f64)
    hidden.load_state_dict({"weight": [[-0.5, 1.0, 0.5], [-1.0, 0.5, 0.5]], "bias": [0.0, 1.0]})
    output.load_state_dict({"weight": [[0.8, -0.5]], "bias": [0.2]})
    model = nn.Sequential(hidden, nn.ReLU(), output, nn.Sigmoid())
    x = shenjing.tensor([[10.0, 1.0, 1.0]], dtype=f64)
    z1 = hidden(x)
    a1 = nn.ReLU()(z1)
    return {
        "z1": z1.detach().numpy().ravel().tolist(),
        "a1": a1.detach().numpy().ravel().tolist(),
        "output": model(x).item(),
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def two_layer_backprop() -> dict:
    """The two-layer sigmoid network trained one step of gradient descent on L = ½(a2 − y)².

    x = [0.5, 0.1], y = 1, W1 = [[0.1, 0.2], [0.3, 0.4]], b1 = [0.1, 0.2], W2 = [0.5, 0.6], b2 = 0.3, η = 0.1.
    z1 = W1 x + b1 = [0.05 + 0.02 + 0.1, 0.15 + 0.04 + 0.2] = [0.17, 0.39]. (The source prints 0.35 for the
    second entry; 0.39 is right, and every later number here follows from it.)
    Backward: δ2 = (a2 − y)·σ′(z2), δ1 = (W2ᵀ δ2) ⊙ σ′(z1), ∂L/∂W2 = δ2 a1ᵀ, ∂L/∂W1 = δ1 xᵀ.
    """
    layer1, layer2 = nn.Linear(2, 2, dtype=f64), nn.Linear(2, 1, dtype=f64)
    layer1.load_state_dict({"weight": [[0.1, 0.2], [0.3, 0.4]], "bias": [0.1, 0.2]})
    layer2.load_state_dict({"weight": [[0.5, 0.6]], "bias": [0.3]})
    x = shenjing.tensor([[0.5, 0.1]], dtype=f64)
    y = shenjing.tensor([[1.0]], dtype=f64)

    z1 = layer1(x)
    z1.retain_grad()
    a1 = nn.Sigmoid()(z1)
    z2 = layer2(a1)
    z2.retain_grad()
    a2 = nn.Sigmoid()(z2)
    loss = nn.HalfSquaredErrorLoss()(a2, y)  # L = ½(a2 − y)², ∂L/∂a2 = a2 − y
    loss.backward()

    row = lambda t: t.detach().numpy().ravel().tolist()  # noqa: E731
    grads = {
        "z1": row(z1), "a1": row(a1), "z2": z2.item(), "a2": a2.item(), "loss": loss.item(),
        "delta2": z2.grad.item(), "delta1": row(z1.grad),
        "dW2": row(layer2.weight.grad), "dW1": layer1.weight.grad.numpy().tolist(),
    }
    optimizer_lr = 0.1
    with shenjing.no_grad():  # w ← w − η ∂L/∂w
        for p in list(layer1.parameters()) + list(layer2.parameters()):
            p -= optimizer_lr * p.grad
    grads.update({
        "W2_new": row(layer2.weight), "b2_new": layer2.bias.item(),
        "W1_new": layer1.weight.detach().numpy().tolist(), "b1_new": row(layer1.bias),
    })
    return grads


def mnist_mlp_parameters() -> int:
    """The MNIST MLP 784 → 16 → 16 → 10: 784·16 + 16 + 16·16 + 16 + 16·10 + 10 = 13 002 parameters."""
    model = nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10))
    return sum(p.numel() for p in model.parameters())


def main() -> None:
    print("umbrella neuron (ReLU):     ", umbrella_neuron(), "→ a = 0: no umbrella")
    print("cheese festival (step at 5):", cheese_festival_neuron(), "→ 1: go")
    print("coat MLP:                   ", coat_mlp(), "(the source prints −7 for z1[1]; −8 is correct)")
    print("two-layer network, one step of gradient descent (the source's z1[1] = 0.35 is 0.39):")
    for key, value in two_layer_backprop().items():
        print(f"    {key:7s} = {value}")
    print("MNIST MLP 784-16-16-10 parameters:", mnist_mlp_parameters())


if __name__ == "__main__":
    main()
