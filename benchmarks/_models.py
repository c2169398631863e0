"""The textbook CNN once for each library, so every benchmark times and trains the same network.

    Conv2d(1, 32, 3) → ReLU → Conv2d(32, 64, 3) → ReLU → MaxPool2d(2) → Dropout2d(0.25) → Flatten
    → Linear(9216, 128) → ReLU → Dropout(0.5) → Linear(128, 10)        (logits: the loss applies softmax)
"""

from __future__ import annotations

from typing import Any


def _textbook_cnn(nn: Any) -> Any:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout2d(0.25),
        nn.Flatten(),
        nn.Linear(9216, 128),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(128, 10),
    )


def shenjing_model() -> Any:
    from shenjing import nn

    return _textbook_cnn(nn)


def torch_model() -> Any:
    import torch

    return _textbook_cnn(torch.nn)
