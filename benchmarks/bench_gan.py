"""The MNIST GAN recipe in shenjing and in PyTorch side by side: same architecture, same initial weights, the same
batches in the same order, scored by the same classifier (shenjing.gan.quality); epoch times of both.

    python benchmarks/bench_gan.py [--arch mlp|dcgan] [--epochs 1] [--limit N] [--threads 1] [--score-n 10000]

Recipe (shenjing/gan/recipe.py): Adam 2e-4, betas (0.5, 0.999), batch 64 (partial batch dropped), pixels in
[−1, 1], one-sided label smoothing 0.1, non-saturating G loss. Both libraries train on the same noise (one seeded
NumPy stream, ``--own-noise`` for each library's own generator) and are scored on samples of the same z.
The score: confident share (max softmax ≥ 0.9), class-histogram entropy (ln 10 = 2.303 ideal), Fréchet distance of
the scorer's penultimate features to the 10 000 test digits. Targets (issue 13): each score within 10 % of
PyTorch's, epoch time ≤ 1.5× PyTorch's.

Measured on the 2-core CPU box shared with other jobs (OMP_NUM_THREADS=1, torch.set_num_threads(1)), full MNIST:

    MLP GAN, 2 epochs (--arch mlp --epochs 2)   confident share   class entropy   Fréchet distance
        shenjing                                     0.106             1.805            924
        PyTorch 2.13                                 0.015             1.841           1001
        ratio                                        (7.3)             0.98             0.92

  The entropy and the Fréchet distance are within 10 %; the confident share after 2 epochs is too small on both
  sides (a few per cent of the samples) for its ratio to mean anything yet.

    MLP GAN, 5 epochs, shared noise, seeds 0/1/2          confident share   class entropy   Fréchet distance
    (--arch mlp --epochs 5 --seed S; machine loaded)
        shenjing (mean ± std of 3)                   0.284 ± 0.036     2.068 ± 0.074    615 ± 43
        PyTorch 2.13 (mean ± std of 3)               0.379 ± 0.056     1.907 ± 0.109    582 ± 70
        ratio of the means                           0.75              1.08             1.06
        PyTorch, per seed                            0.407 / 0.315 / 0.415   2.01 / 1.91 / 1.80   520 / 659 / 567

  With the same initial weights, batches and noise, the two libraries' mean losses agree to 1 % over the first
  400 steps (float32 rounding then grows, as it does in any GAN); after 5 epochs the entropy and the Fréchet
  distance are within 10 % of PyTorch's, the confident share is lower on all three seeds (0.75×): not resolved.

  Eight seeds (2026-12-02, Intel Xeon 2.0 GHz, OpenBLAS SkylakeX, one thread each, two runs at a time; the scorer
  retrained that day, so not comparable with the figures above), --arch mlp --epochs 5 --seed 0…7:
        shenjing (mean ± std of 8)                   0.388 ± 0.034     2.011 ± 0.151    579 ± 54
        PyTorch 2.13 (mean ± std of 8)               0.363 ± 0.052     2.064 ± 0.065    587 ± 44
        ratio of the means                           1.07              0.97             0.99
        difference / its standard error              1.1               −0.9             −0.4
  Within 10 % on all three; the 3-seed gap above was chance. Per seed the confident share ranges 0.33–0.43
  (ours) and 0.29–0.45 (PyTorch): a single run cannot tell two implementations apart. --dtype float64 shows why:
  both libraries in double precision give the same weights to 2e-13 after 400 steps and the same mean losses to
  1e-11 over the whole first epoch (937 steps), then part during the second (chaos from the last bits), and seed 0
  ended at 0.435 / 2.03 / 489 (ours) vs 0.263 / 1.78 / 744 (PyTorch) — same code path, same data, same noise.
  Epoch time ratios of those eight runs: 1.23–1.50 (MLP step, quiet: 49.2 vs 40.6 ms, 1.21×; one quiet full epoch,
  --epochs 1: 43.5 vs 32.8 s, 1.33×).
  DCGAN w = 64, 1 epoch on 19 200 images, one thread each, quiet, 2 000 samples scored: 0.326 / 2.157 / 412
  (ours) vs 0.322 / 2.151 / 411; epoch 73.8 vs 52.5 s, 1.41×.

    DCGAN w = 32, 1 epoch on the first 19 200 images      confident share   class entropy   Fréchet distance
    (--arch dcgan --width 32 --epochs 1 --limit 19200)
        shenjing                                     0.245             2.141            594
        PyTorch 2.13                                 0.234             2.145            607
        ratio                                        1.05              1.00             0.98

    step time, interleaved (--step-time 15), batch 64     shenjing   PyTorch   ratio
        MLP GAN                                           257 ms     271 ms    0.95
        DCGAN, w = 32                                     156 ms      81 ms    1.94
        DCGAN, w = 64                                     365 ms     194 ms    1.88

  (Whole-epoch times on the busy machine: MLP 132 s vs 85 s a epoch, too noisy to compare: the interleaved step
  times slow both libraries alike.)

  DCGAN w = 64 after the conv work of issue 18 (LeakyReLU in ufuncs, one product for a 1×1-input ConvTranspose2d,
  one product per block for the strided col2im), quiet machine, OMP_NUM_THREADS=1, --step-time 15:

        OpenBLAS kernels                              before (main)          after
        Haswell (OPENBLAS_CORETYPE=Haswell, as set    168 / 83 ms   2.03×    133–173 / 77–108 ms   1.61–1.75×
          in this machine's environment)
        SkylakeX (OpenBLAS's own choice on this CPU)  127 / 90 ms   1.41×    105 / 85 ms           1.23×

  With the Haswell kernels the step is bound by the matrix products: the strided 4×4 convolutions' products
  (forward, ∂W, ∂x: (3136, 1024)·(1024, 128) and kin) run at ≈ 100 GFLOP/s per core against ≈ 190 for oneDNN's
  AVX-512 convolution, about 2× PyTorch's time for the same FLOPs; they are ≈ 60 % of the step (py-spy). With
  the AVX-512 (SkylakeX) kernels the same code meets the 1.5× target.

  Another machine of this kind (2026-12-02: Intel Xeon at 2.0 GHz, AVX-512, OpenBLAS's SkylakeX kernels, no
  OPENBLAS_CORETYPE), quiet, DCGAN w = 64, --step-time 15: one thread each (OMP_NUM_THREADS=1
  OPENBLAS_NUM_THREADS=1 --threads 1) 323.6 / 222.6 ms, 1.45×; two threads each (--threads 2) 243.2 / 195.6 ms,
  1.24×.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

import shenjing
from shenjing.data import DataLoader, Subset
from shenjing.datasets import mnist
from shenjing.gan import GANTrainer
from shenjing.gan.quality import load_mnist_scorer, to_scorer_input
from shenjing.gan.recipe import build, generate
from shenjing.io import to_torch_state_dict


def torch_twin(model: shenjing.nn.Sequential) -> torch.nn.Sequential:
    """The same layers in PyTorch (the few kinds the GAN models use), with the same weights."""
    layers = []
    for m in model:
        name = type(m).__name__
        if name == "Linear":
            layers.append(torch.nn.Linear(m.in_features, m.out_features, bias=m.bias is not None))
        elif name == "LeakyReLU":
            layers.append(torch.nn.LeakyReLU(m.negative_slope))
        elif name in ("ReLU", "Tanh", "Flatten"):
            layers.append(getattr(torch.nn, name)())
        elif name == "BatchNorm2d":
            layers.append(torch.nn.BatchNorm2d(m.num_features))
        elif name in ("Conv2d", "ConvTranspose2d"):
            layers.append(
                getattr(torch.nn, name)(
                    m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, bias=m.bias is not None
                )
            )
        else:
            raise TypeError(f"no PyTorch twin for {name}")
    twin = torch.nn.Sequential(*layers)
    twin.load_state_dict(to_torch_state_dict(model))
    return twin


def run_torch(g, d, latent, loaders: list, smoothing: float, lr: float, seed: int, noise=None) -> tuple:
    tg, td = torch_twin(g), torch_twin(d)
    shape = (latent,) if isinstance(latent, int) else tuple(latent)
    opt_g = torch.optim.Adam(tg.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(td.parameters(), lr=lr, betas=(0.5, 0.999))
    bce = torch.nn.BCEWithLogitsLoss()
    torch.manual_seed(seed)
    times, last = [], {}
    for loader in loaders:
        start = time.perf_counter()
        sums = np.zeros(4)
        count = 0
        for x, _y in loader:
            real = torch.from_numpy(x.array)
            n = real.shape[0]
            z = torch.randn(n, *shape) if noise is None else torch.from_numpy(noise(n))
            fake = tg(z)
            opt_d.zero_grad()
            out_real, out_fake = td(real).view(-1), td(fake.detach()).view(-1)
            d_loss = bce(out_real, torch.full((n,), 1.0 - smoothing)) + bce(out_fake, torch.zeros(n))
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            g_loss = bce(td(fake).view(-1), torch.ones(n))
            g_loss.backward()
            opt_g.step()
            sums += [d_loss.item(), g_loss.item(), out_real.sigmoid().mean().item(), out_fake.sigmoid().mean().item()]
            count += 1
        times.append(time.perf_counter() - start)
        last = dict(zip(("d_loss", "g_loss", "d_real", "d_fake"), (sums / count).tolist()))
        print(f"  torch epoch {len(times)}: {last}  ({times[-1]:.1f} s)", flush=True)
    return tg, times, last


def torch_samples(tg, latent, n: int, seed: int, z: np.ndarray | None = None) -> np.ndarray:
    shape = (latent,) if isinstance(latent, int) else tuple(latent)
    gen = torch.Generator().manual_seed(seed)
    tg.eval()
    with torch.no_grad():
        if z is not None:
            return torch.cat([tg(torch.from_numpy(z[s : s + 500])) for s in range(0, n, 500)]).numpy()
        return torch.cat([tg(torch.randn(min(500, n - s), *shape, generator=gen)) for s in range(0, n, 500)]).numpy()


class SharedNoise:
    """z ~ N(0, I) from a seeded NumPy stream, so that both libraries train on the very same noise (float32, or
    float64 for a --dtype float64 run)."""

    def __init__(self, latent, seed: int, dtype=np.float32) -> None:
        self.shape = (latent,) if isinstance(latent, int) else tuple(latent)
        self.rng = np.random.default_rng(seed)
        self.dtype = dtype

    def __call__(self, n: int) -> np.ndarray:
        return self.rng.standard_normal((n, *self.shape), dtype=self.dtype)


def shenjing_samples(g, z: np.ndarray) -> shenjing.Tensor:
    g.eval()
    with shenjing.no_grad():
        out = shenjing.cat([g(shenjing.tensor(z[s : s + 500])) for s in range(0, len(z), 500)])
    g.train()
    return out


def step_times(arch: str, width: int, batch: int, repeat: int, smoothing: float = 0.1) -> tuple:
    """Median seconds of one full GAN step (D update + G update), shenjing and PyTorch interleaved step by step on
    the same batch, so that a busy shared machine slows both alike."""
    g, d, latent = build(arch, width)
    tg, td = torch_twin(g), torch_twin(d)
    shape = (latent,) if isinstance(latent, int) else tuple(latent)
    trainer = GANTrainer(g, d, shenjing.optim.Adam(g.parameters(), 2e-4), shenjing.optim.Adam(d.parameters(), 2e-4),
                         latent_shape=latent, label_smoothing=smoothing)  # fmt: skip
    opt_g, opt_d = torch.optim.Adam(tg.parameters(), 2e-4), torch.optim.Adam(td.parameters(), 2e-4)
    bce = torch.nn.BCEWithLogitsLoss()
    real = shenjing.rand(batch, 784) * 2 - 1
    if arch == "dcgan":
        real = real.reshape(batch, 1, 28, 28)
    real_t = torch.from_numpy(real.array.copy())

    def torch_step() -> None:
        fake = tg(torch.randn(batch, *shape))
        opt_d.zero_grad()
        loss = bce(td(real_t).view(-1), torch.full((batch,), 1 - smoothing)) + bce(td(fake.detach()).view(-1),
                                                                                   torch.zeros(batch))  # fmt: skip
        loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        bce(td(fake).view(-1), torch.ones(batch)).backward()
        opt_g.step()

    ours, theirs = [], []
    for k in range(repeat + 1):
        start = time.perf_counter()
        trainer.train_step(real)
        middle = time.perf_counter()
        torch_step()
        if k:  # the first of each is a warm-up
            ours.append(middle - start)
            theirs.append(time.perf_counter() - middle)
    return float(np.median(ours)), float(np.median(theirs))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=("mlp", "dcgan"), default="mlp")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--smoothing", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (match OMP_NUM_THREADS)")
    parser.add_argument("--score-n", type=int, default=10000)
    parser.add_argument("--scorer", default=os.path.join("runs", "gan", "scorer.safetensors"))
    parser.add_argument("--data", default=None)
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--own-noise", action="store_true",
                        help="each library draws its own noise (default: one shared NumPy noise stream)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="float64: both libraries train in double precision (twins that stay together)")
    parser.add_argument("--step-time", type=int, default=0, metavar="N",
                        help="only time N interleaved steps of each library (no training, no score)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.step_time:
        ours, theirs = step_times(args.arch, args.width, args.batch_size, args.step_time, args.smoothing)
        print(f"{args.arch} (width {args.width}) batch {args.batch_size}: shenjing {ours * 1e3:.1f} ms/step, "
              f"PyTorch {theirs * 1e3:.1f} ms/step, ratio {ours / theirs:.2f}")
        return {"shenjing_step": ours, "torch_step": theirs}

    scorer = load_mnist_scorer(args.scorer, args.data)  # float32, whatever the GANs train in
    wide = np.float64 if args.dtype == "float64" else np.float32
    shenjing.set_default_dtype(getattr(shenjing, args.dtype))  # data, weights and targets of both GANs
    torch.set_default_dtype(getattr(torch, args.dtype))
    shenjing.manual_seed(args.seed)
    train = mnist(args.data, train=True, flatten=args.arch == "mlp", normalize=(0.5, 0.5))
    if args.limit:
        train = Subset(train, range(min(args.limit, len(train))))
    g, d, latent = build(args.arch, args.width)
    tg0, td0 = torch_twin(g), torch_twin(d)  # the initial weights, before shenjing trains g and d
    results: dict = {"arch": args.arch, "epochs": args.epochs, "limit": args.limit}

    adam = dict(lr=args.lr, betas=(0.5, 0.999))
    trainer = GANTrainer(
        g,
        d,
        shenjing.optim.Adam(g.parameters(), **adam),
        shenjing.optim.Adam(d.parameters(), **adam),
        latent_shape=latent,
        label_smoothing=args.smoothing,
        seed=args.seed,
        on_problem="warn",
    )
    if not args.own_noise:  # the same z for both libraries, step by step, and for the scored samples
        shared = SharedNoise(latent, 1000 + args.seed, wide)
        trainer.noise = lambda n: shenjing.tensor(shared(n))
        z_score = SharedNoise(latent, 2000 + args.seed, wide)(args.score_n)
    times = []
    for epoch in range(args.epochs):
        loader = DataLoader(
            train, batch_size=args.batch_size, shuffle=True, drop_last=True, generator=args.seed + epoch
        )
        start = time.perf_counter()
        trainer.fit(loader, epoch + 1)
        times.append(time.perf_counter() - start)
        print(f"  shenjing epoch {epoch + 1}: " + str({k: trainer.history[k][-1] for k in ("d_loss", "g_loss", "d_real",
              "d_fake")}) + f"  ({times[-1]:.1f} s)", flush=True)  # fmt: skip
    samples = (generate(g, latent, args.score_n, seed=args.seed + 1) if args.own_noise else shenjing_samples(g, z_score))
    ours = scorer.score(to_scorer_input(samples.float()))
    results["shenjing"] = {"epoch_seconds": times, "score": ours, "problems": trainer.history["problems"]}

    # PyTorch: the same initial weights and the same batch order (the same loaders, batches handed over as arrays)
    g_init, d_init, _ = build(args.arch, args.width)
    g_init.load_state_dict({k: v.numpy() for k, v in tg0.state_dict().items()})
    d_init.load_state_dict({k: v.numpy() for k, v in td0.state_dict().items()})
    loaders = [
        DataLoader(train, batch_size=args.batch_size, shuffle=True, drop_last=True, generator=args.seed + e)
        for e in range(args.epochs)
    ]
    noise = None if args.own_noise else SharedNoise(latent, 1000 + args.seed, wide)
    tg, t_times, _ = run_torch(g_init, d_init, latent, loaders, args.smoothing, args.lr, args.seed, noise)
    z = None if args.own_noise else z_score
    theirs = scorer.score(
        to_scorer_input(shenjing.tensor(torch_samples(tg, latent, args.score_n, args.seed + 1, z).astype(np.float32)))
    )
    results["torch"] = {"epoch_seconds": t_times, "score": theirs}
    for key in ("confident_share", "class_entropy", "fid"):
        results[f"{key}_ratio"] = ours[key] / theirs[key] if theirs[key] else float("nan")
    results["epoch_time_ratio"] = sum(times) / sum(t_times)
    summary = {k: v for k, v in results.items() if not isinstance(v, dict)}
    for side in ("shenjing", "torch"):
        s = results[side]["score"]
        print(
            f"{side:9s} epoch {np.mean(results[side]['epoch_seconds']):6.1f} s  confident {s['confident_share']:.3f}  "
            f"entropy {s['class_entropy']:.3f}  FD {s['fid']:.2f}"
        )
    print(json.dumps(summary, indent=1))
    shenjing.set_default_dtype(shenjing.float32)
    torch.set_default_dtype(torch.float32)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
