"""A small GPT on tiny Shakespeare's characters: nanoGPT's CPU configuration, generation with a key/value cache.

    tokens → token + position embeddings → 4 × [x + attn(LN(x)), x + MLP(LN(x))] → LN → logits (tied to the embedding)

Causal self-attention is ``nn.functional.scaled_dot_product_attention(..., is_causal=True)`` (one fused op whose
backward states the softmax Jacobian). The configuration is the one nanoGPT's README gives for a CPU: 4 layers,
4 heads, width 128, context 64, batch 12, 2000 iterations, no dropout, AdamW (lr 1e-3 with 100 warm-up steps and a
cosine decay to 1e-4, β₂ = 0.99, weight decay 0.1 on matrices), gradient clipping at 1.0. nanoGPT reports a
validation loss of about 1.88 for it.

    python examples/gpt_char.py [--iters 2000] [--torch] [--data DIR] [--tokens 300] [--top-k 10]

Measured (``OPENBLAS_NUM_THREADS=1 python examples/gpt_char.py --torch --threads 1 --data ../shared/datasets``,
2-core machine shared with other jobs, so the times are loaded): validation loss 1.9004 for shenjing and 1.9004
for PyTorch (the training losses agree to 4 decimals at every print), nanoGPT's README 1.88 (ours 1.1 % above);
1014 s against 322 s of training. Generation of 256 tokens: 5.1x faster with the cache on a quiet machine
(benchmarks/bench_generation.py; 3.8x at the end of the run above, before the LayerNorm/GELU trimming).

``--torch`` trains the very same code with PyTorch too (the model is written once, against the PyTorch API, and
built with either library) from the same initial weights and batches, and prints both losses beside nanoGPT's.
Generation runs with a key/value cache: each new token attends to the cached keys and values of the previous
ones instead of recomputing the whole context (and it prints how much faster that is than without the cache).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import shenjing
from shenjing.datasets import tiny_shakespeare

NANOGPT_VAL_LOSS = 1.88  # nanoGPT README, shakespeare_char on a CPU with this configuration


def build(lib: object, vocab_size: int, n_layer: int = 4, n_head: int = 4, n_embd: int = 128,
          block_size: int = 64) -> object:
    """The GPT, written once against the PyTorch API; ``lib`` is shenjing or torch."""
    nn, F = lib.nn, lib.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=False)
            self.c_proj = nn.Linear(n_embd, n_embd, bias=False)

        def forward(self, x: object, cache: object = None) -> object:
            B, T, C = x.shape
            qkv = self.c_attn(x).reshape(B, T, 3, n_head, C // n_head).permute(2, 0, 3, 1, 4)  # (3, B, h, T, d)
            q, k, v = qkv.unbind(0)  # (B, h, T, d) each: the same as split(n_embd, 2) → reshape → transpose(1, 2)
            if cache is None:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:  # generation: the new positions join the cached keys/values and attend to all before them
                y = cache.attend(q, k, v)
            return self.c_proj(y.transpose(1, 2).reshape(B, T, C))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd, bias=False)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(n_embd, bias=False)
            self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd, bias=False), nn.GELU(),
                                     nn.Linear(4 * n_embd, n_embd, bias=False))

        def forward(self, x: object, cache: object = None) -> object:
            x = x + self.attn(self.ln_1(x), cache)
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block_size, self.n_head, self.head_dim = block_size, n_head, n_embd // n_head
            self.wte = nn.Embedding(vocab_size, n_embd)
            self.wpe = nn.Embedding(block_size, n_embd)
            self.h = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd, bias=False)
            self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
            self.lm_head.weight = self.wte.weight  # weight tying, as GPT-2 and nanoGPT
            for name, p in self.named_parameters():
                if p.ndim == 2:  # nanoGPT's init: N(0, 0.02), residual projections scaled by 1/√(2·n_layer)
                    std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("c_proj.weight", "mlp.2.weight")) else 0.02
                    nn.init.normal_(p, 0.0, std)

        def forward(self, idx: object, caches: list | None = None) -> object:
            B, T = idx.shape
            start = 0 if caches is None else len(caches[0])  # positions already in the key/value cache
            if start + T > self.block_size:
                raise ValueError(f"GPT: a sequence of {start + T} tokens is longer than the context of {self.block_size}")
            pos = lib.arange(start, start + T)
            x = self.wte(idx) + self.wpe(pos)  # (B, T, C)
            for i, block in enumerate(self.h):
                x = block(x, None if caches is None else caches[i])
            return self.lm_head(self.ln_f(x))  # (B, T, V)

    return GPT()


def lr_at(it: int, iters: int, lr: float = 1e-3, min_lr: float = 1e-4, warmup: int = 100) -> float:
    """nanoGPT's schedule: linear warm-up, then cosine decay to min_lr."""
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    ratio = min(1.0, (it - warmup) / max(1, iters - warmup))
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def make_optimizer(lib: object, model: object) -> object:
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    return lib.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99))


def train(lib: object, model: object, train_set: object, val_set: object, iters: int, seed: int) -> tuple:
    optimizer = make_optimizer(lib, model)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for it in range(iters):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(it, iters)
        x, y = train_set[rng.integers(0, len(train_set), 12)]
        logits = model(lib.tensor(x.numpy()))
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), lib.tensor(y.numpy()).reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if it % 500 == 0:
            print(f"  {lib.__name__} iter {it}: loss {loss.item():.4f}", flush=True)
    return time.perf_counter() - start, evaluate(lib, model, val_set)


def evaluate(lib: object, model: object, data: object, batches: int = 20, seed: int = 1234) -> float:
    """nanoGPT's estimate_loss: the mean loss over 20 random batches of 12."""
    model.eval()
    rng = np.random.default_rng(seed)
    total = 0.0
    with lib.no_grad():
        for _ in range(batches):
            x, y = data[rng.integers(0, len(data), 12)]
            logits = model(lib.tensor(x.numpy()))
            total += lib.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                     lib.tensor(y.numpy()).reshape(-1)).item()
    model.train()
    return total / batches


def generate(model: object, prompt: list[int], tokens: int, temperature: float = 0.8, top_k: int | None = 10,
             cache: bool = True, seed: int = 0, shift: int | None = None) -> list[int]:
    """Sample ``tokens`` new ids: logits / temperature, keep the top k, softmax, draw (shenjing.multinomial).

    Without the cache every token runs the model over the last ``block_size`` ids. With it (one
    :class:`shenjing.nn.KVCache` per layer, preallocated to the context length), the prompt is encoded once and each
    new token is a one-position step that attends to the cached keys and values. The learned positions make the
    cache valid only inside one context window: when it is full, the window moves on by ``shift`` tokens (default
    half the context) and the last ``block_size − shift`` ids are encoded again, so a token sees between
    ``block_size − shift`` and ``block_size`` ids of context (the uncached loop always sees ``block_size``); up to
    the first full window both give the same logits.
    """
    model.eval()
    shenjing.manual_seed(seed)
    out = list(prompt)
    T = model.block_size
    shift = T // 2 if shift is None else shift
    if not 0 < shift < T:
        raise ValueError(f"generate: shift must be between 1 and block_size - 1 = {T - 1}, got {shift}")
    dtype = model.wte.weight.dtype
    caches = [shenjing.nn.KVCache(1, model.n_head, T, model.head_dim, dtype=dtype) for _ in model.h] if cache else None
    with shenjing.no_grad():
        pending = out[-T:]
        for _ in range(tokens):
            if cache:
                if len(caches[0]) + len(pending) > T:  # the window is full: move it on by `shift` tokens
                    for c in caches:
                        c.reset()
                    pending = out[-(T - shift) :]
                logits = model(shenjing.tensor([pending]), caches)
            else:
                logits = model(shenjing.tensor([out[-T:]]))
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                kth = shenjing.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
                logits = logits.masked_fill(logits < kth, -float("inf"))
            nxt = int(shenjing.multinomial(shenjing.softmax(logits, dim=-1), 1).item())
            out.append(nxt)
            pending = [nxt]
    model.train()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="folder holding tinyshakespeare/input.txt ($SHENJING_DATA)")
    parser.add_argument("--torch", action="store_true", help="train the same code with PyTorch too")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (set OPENBLAS_NUM_THREADS / "
                        "OMP_NUM_THREADS to the same for NumPy)")
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--temperature", type=float, default=0.8)
    args = parser.parse_args()
    train_set = tiny_shakespeare(args.data, block_size=64)
    val_set = tiny_shakespeare(args.data, block_size=64, split="val")
    V = train_set.vocab_size
    shenjing.manual_seed(args.seed)
    model = build(shenjing, V)
    print(f"GPT: {sum(p.numel() for p in model.parameters()):,} parameters, vocabulary {V}, {args.iters} iterations")
    init = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    seconds, val = train(shenjing, model, train_set, val_set, args.iters, args.seed)
    rows = [("shenjing", val, seconds)]
    if args.torch:
        import torch

        torch.set_num_threads(args.threads)
        theirs = build(torch, V)
        theirs.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
        t_seconds, t_val = train(torch, theirs, train_set, val_set, args.iters, args.seed)
        rows.append(("PyTorch", t_val, t_seconds))
    print(f"\n{'':<10} {'val loss':>9} {'seconds':>8}")
    for name, loss, secs in rows:
        print(f"{name:<10} {loss:>9.4f} {secs:>8.0f}")
    print(f"{'nanoGPT':<10} {NANOGPT_VAL_LOSS:>9.2f} {'':>8}  (its README, same configuration)")
    prompt = train_set.encode("ROMEO:\n")
    took = {}
    for use_cache in (True, False):
        start = time.perf_counter()
        ids = generate(model, prompt, args.tokens, args.temperature, args.top_k, cache=use_cache, seed=args.seed)
        took[use_cache] = time.perf_counter() - start
        print(f"\n--- {args.tokens} tokens {'with' if use_cache else 'without'} the key/value cache in "
              f"{took[use_cache]:.2f} s ---")
        if use_cache:
            print(train_set.decode(ids))
    print(f"the key/value cache generated {took[False] / took[True]:.1f}x faster")


if __name__ == "__main__":
    main()
