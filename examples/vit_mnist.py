"""A small Vision Transformer on MNIST: 7×7 patches → 16 tokens + a class token, 4 pre-norm encoder layers.

    image (1, 28, 28) → 16 patches of 7×7 → Linear(49, 64) → [CLS] + 16 tokens + learned positions (17, 64)
    → TransformerEncoder(4 × TransformerEncoderLayer(64, 4 heads, MLP 128, GELU, norm_first=True)) → LN → Linear(64, 10)

Trained with AdamW (lr 1e-3, weight decay 1e-4), batch 128, cross-entropy. The model is written once against the
PyTorch API; ``--torch`` trains the same code with PyTorch from the same initial weights on the same batches and
prints both.

    python examples/vit_mnist.py [--epochs 3] [--torch] [--data DIR] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import shenjing
from shenjing.datasets import mnist


def build(lib: object, width: int = 64, depth: int = 4, heads: int = 4, mlp: int = 128, patch: int = 7) -> object:
    nn = lib.nn

    class ViT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.patch = patch
            tokens = (28 // patch) ** 2
            self.embed = nn.Linear(patch * patch, width)
            self.cls = nn.Parameter(lib.zeros(1, 1, width))
            self.pos = nn.Parameter(lib.randn(1, tokens + 1, width) * 0.02)
            layer = nn.TransformerEncoderLayer(width, heads, mlp, dropout=0.0, activation="gelu", batch_first=True,
                                               norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, depth, norm=nn.LayerNorm(width), enable_nested_tensor=False)
            self.head = nn.Linear(width, 10)

        def forward(self, x: object) -> object:
            N, p = x.shape[0], self.patch
            x = x.reshape(N, 28 // p, p, 28 // p, p).permute(0, 1, 3, 2, 4).reshape(N, -1, p * p)  # (N, 16, 49)
            x = self.embed(x)  # (N, 16, C)
            x = lib.cat([self.cls.expand(N, -1, -1), x], dim=1) + self.pos  # (N, 17, C)
            return self.head(self.encoder(x)[:, 0])  # the class token's final state

    return ViT()


def run(lib: object, model: object, data: tuple, epochs: int, seed: int) -> list:
    xtr, ytr, xte, yte = data
    optimizer = lib.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    rows = []
    for epoch in range(1, epochs + 1):
        order = np.random.default_rng(seed + epoch).permutation(len(xtr))
        model.train()
        start = time.perf_counter()
        for i in range(0, len(order), 128):
            idx = order[i : i + 128]
            loss = lib.nn.functional.cross_entropy(model(lib.tensor(xtr[idx])), lib.tensor(ytr[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        model.eval()
        with lib.no_grad():
            correct = sum(int((model(lib.tensor(xte[i : i + 1000])).argmax(1) == lib.tensor(yte[i : i + 1000]))
                              .sum().item()) for i in range(0, len(xte), 1000))
        rows.append((100 * correct / len(xte), seconds))
        print(f"  {lib.__name__} epoch {epoch}: {seconds:.1f} s, test accuracy {rows[-1][0]:.2f} %", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="folder with the MNIST IDX files (default $SHENJING_DATA)")
    parser.add_argument("--torch", action="store_true", help="train the same code with PyTorch too")
    args = parser.parse_args()
    train, test = mnist(args.data, train=True, normalize=True), mnist(args.data, train=False, normalize=True)
    data = (train.tensors[0].numpy(), train.tensors[1].numpy(), test.tensors[0].numpy(), test.tensors[1].numpy())
    shenjing.manual_seed(args.seed)
    model = build(shenjing)
    print(f"ViT: {sum(p.numel() for p in model.parameters()):,} parameters")
    init = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    ours = run(shenjing, model, data, args.epochs, args.seed)
    theirs = None
    if args.torch:
        import torch

        torch.set_num_threads(2)
        tm = build(torch)
        tm.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
        theirs = run(torch, tm, data, args.epochs, args.seed)
    print(f"\n{'epoch':>5} {'shenjing %':>10} {'s':>6}" + (f" {'PyTorch %':>10} {'s':>6} {'ratio':>6}" if theirs else ""))
    for e, (acc, sec) in enumerate(ours, 1):
        line = f"{e:>5} {acc:>10.2f} {sec:>6.1f}"
        if theirs:
            tacc, tsec = theirs[e - 1]
            line += f" {tacc:>10.2f} {tsec:>6.1f} {sec / tsec:>5.2f}x"
        print(line)


if __name__ == "__main__":
    main()
