"""Writes tests/vision/resnet_reference.json from torchvision 0.28 (run once where torchvision is installed:
``bash compat/setup.sh && PYTHONPATH=compat/.site/reference python tests/vision/make_resnet_reference.py``).

For each architecture: the state-dict keys and shapes, the parameter count, and the logits of a fixed input with
every parameter and buffer set by the formula in :func:`fill` (no random numbers), in eval and in train mode,
plus the gradient of the train-mode logits' sum with respect to the input at four fixed positions.
tests/vision/test_models.py sets the same values in shenjing's models and compares."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np

ARCHS = {"resnet18": {"num_classes": 10}, "resnet50": {"num_classes": 10},
         "resnext50_32x4d": {"num_classes": 10}, "resnet34": {"num_classes": 7, "zero_init_residual": True}}
PROBES = [(0, 0, 5, 7), (1, 2, 31, 0), (0, 1, 63, 63), (1, 0, 17, 40)]


def fill(key: str, shape: tuple, index: int) -> np.ndarray:
    n = int(np.prod(shape)) if shape else 1
    wave = np.sin(0.37 * np.arange(n) + index)
    if key.endswith("running_var"):
        values = 1.0 + 0.5 * wave ** 2
    elif key.endswith("num_batches_tracked"):
        return np.array(3)
    elif key.endswith("bn1.weight") or key.endswith("bn2.weight") or key.endswith("bn3.weight") or ".1.weight" in key:
        values = 1.0 + 0.1 * wave
    else:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        values = wave * (1.5 / np.sqrt(fan_in)) if len(shape) > 1 else 0.1 * wave
    return values.reshape(shape)


def image() -> np.ndarray:
    return np.cos(0.013 * np.arange(2 * 3 * 64 * 64)).reshape(2, 3, 64, 64)


def main() -> None:
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("skip"))  # as compat/runner.py
    import torch
    import torchvision

    out = {}
    for name, kwargs in ARCHS.items():
        model = getattr(torchvision.models, name)(**kwargs).double()
        state = model.state_dict()
        entry = {"kwargs": kwargs, "keys": [[k, list(v.shape)] for k, v in state.items()],
                 "parameters": sum(p.numel() for p in model.parameters())}
        model.load_state_dict({k: torch.tensor(fill(k, tuple(v.shape), i)).to(v.dtype)
                               for i, (k, v) in enumerate(state.items())})
        x = torch.tensor(image())
        with torch.no_grad():
            entry["eval"] = model.eval()(x).tolist()
        x.requires_grad_(True)
        logits = model.train()(x)
        logits.sum().backward()
        entry["train"] = logits.tolist()
        entry["grad_probes"] = [[*p, x.grad[p].item()] for p in PROBES]
        entry["running_mean_after"] = model.bn1.running_mean[:4].tolist()
        out[name] = entry
        print(name, entry["parameters"])
    target = Path(__file__).with_name("resnet_reference.json")
    target.write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
