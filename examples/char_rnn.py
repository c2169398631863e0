"""A character-level LSTM language model on tiny Shakespeare, with temperature sampling.

    Embedding(V, 128) → LSTM(128, 256, num_layers=2, dropout=0.2, batch_first=True) → Linear(256, V)

Each training sample is 100 characters and the model predicts every next character: the loss is the mean
cross-entropy over all 100 positions (the textbook's language-model task, 001 §6.4). After training it prints
samples at two temperatures: logits / T before the softmax; T < 1 is surer and more repetitive, T > 1 wilder.

    python examples/char_rnn.py [--steps 2000] [--batch-size 32] [--seq-len 100] [--lr 2e-3] [--data DIR]
                                [--save runs/char_rnn.safetensors] [--prime "ROMEO:"] [--temperature 0.8]

The data is ``DIR/tinyshakespeare/input.txt`` (``--data`` or ``$SHENJING_DATA``), downloaded if missing.
Measured on a 2-core machine with benchmarks/bench_rnn.py (char part): see the benchmark's output for the
validation loss beside PyTorch's with the same recipe and initial weights.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

import shenjing
from shenjing import nn
from shenjing.datasets import tiny_shakespeare


class CharLSTM(nn.Module):
    """Characters in, next-character logits out, for every position: (N, T) ids → (N, T, V) logits."""

    def __init__(self, vocab_size: int, embed: int = 128, hidden: int = 256, layers: int = 2,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, dropout=dropout, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids: shenjing.Tensor, state: tuple | None = None) -> tuple:
        out, state = self.lstm(self.embed(ids), state)  # (N, T, H)
        return self.head(out), state  # (N, T, V)


def evaluate(model: CharLSTM, data: object, batches: int = 20, batch_size: int = 64, seed: int = 1) -> float:
    """Mean cross-entropy (nats per character) on fixed random windows of the validation text."""
    model.eval()
    rng = np.random.default_rng(seed)
    total = 0.0
    with shenjing.no_grad():
        for _ in range(batches):
            x, y = data[rng.integers(0, len(data), batch_size)]
            logits, _ = model(x)
            total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()
    model.train()
    return total / batches


def sample(model: CharLSTM, data: object, prime: str, length: int = 300, temperature: float = 0.8,
           seed: int = 0) -> str:
    """Feed ``prime``, then draw one character at a time from softmax(logits / temperature), carrying the state."""
    model.eval()
    rng = np.random.default_rng(seed)
    ids = data.encode(prime)
    out = list(ids)
    with shenjing.no_grad():
        logits, state = model(shenjing.tensor([ids]))
        for _ in range(length):
            p = shenjing.softmax(logits[0, -1] / temperature, dim=-1).numpy().astype(np.float64)
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            out.append(nxt)
            logits, state = model(shenjing.tensor([[nxt]]), state)
    model.train()
    return data.decode(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="folder holding tinyshakespeare/input.txt ($SHENJING_DATA)")
    parser.add_argument("--save", default="runs/char_rnn.safetensors")
    parser.add_argument("--prime", default="ROMEO:")
    parser.add_argument("--temperature", type=float, default=0.8)
    args = parser.parse_args()

    from tqdm import tqdm

    shenjing.manual_seed(args.seed)
    train = tiny_shakespeare(args.data, block_size=args.seq_len)
    val = tiny_shakespeare(args.data, block_size=args.seq_len, split="val")
    model = CharLSTM(train.vocab_size)
    optimizer = shenjing.optim.Adam(model.parameters(), lr=args.lr)
    print(f"{len(train.data):,} training characters, vocabulary {train.vocab_size}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters; "
          f"a uniform guess scores {math.log(train.vocab_size):.3f} nats per character")
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    bar = tqdm(range(1, args.steps + 1), desc="training", unit="step")
    for step in bar:
        x, y = train[rng.integers(0, len(train), args.batch_size)]  # (N, T) ids and their next characters
        logits, _ = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, train.vocab_size), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)  # NOTE: LSTMs occasionally spike; clipping keeps it sane
        optimizer.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if step % 500 == 0 or step == args.steps:
            bar.write(f"step {step}: train loss {loss.item():.3f}, validation loss {evaluate(model, val):.3f}")
    bar.close()
    print(f"trained {args.steps} steps in {time.perf_counter() - start:.0f} s; "
          f"validation loss {evaluate(model, val):.4f} nats per character")
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        shenjing.io.save_model(model.lstm, args.save)  # the LSTM as a model file; the whole model's weights below
        shenjing.save(model.state_dict(), str(Path(args.save).with_suffix("")) + ".state.safetensors")
        print(f"saved {args.save}")
    for t in (0.5, args.temperature):
        print(f"\n--- sample at temperature {t} ---\n{sample(model, train, args.prime, temperature=t)}")


if __name__ == "__main__":
    main()
