"""ONNX export of sequence and attention models (traced custom modules): export time, file size, agreement and
CPU latency of the same weights in shenjing, PyTorch and onnxruntime, for the row-LSTM classifier, a 2-layer
bidirectional GRU tagger, the ViT of examples/vit_mnist.py and the GPT of examples/gpt_char.py (their default sizes).

    PYTHONPATH=. python benchmarks/bench_onnx_sequence.py [--repeat 30] [--out runs/bench_onnx_sequence]

One thread for NumPy, PyTorch and onnxruntime; latency is the median of --repeat calls, the frameworks alternated.
Measured on the 2-core development machine while other jobs ran (``--repeat 20``; export time includes the
imports for the first model):

    model                  export s   file B      max|ort−ours|   latency ms, batch 1 / 32: shenjing | PyTorch | ort
    row-LSTM 28→128          1.19       330,600     4.8e-08       0.49 | 0.27 | 0.12      6.87 | 1.37 | 1.14
    GRU tagger 2×bi 96       0.06     1,110,296     2.4e-07       7.34 | 7.76 | 0.69     45.76 | 39.37 | 18.87
    ViT (vit_mnist.py)       0.29       615,688     5.4e-07       1.56 | 0.97 | 0.38     19.58 | 12.69 | 6.16
    GPT (gpt_char.py)        0.10     3,313,105     8.3e-07       8.52 | 10.72 | 1.16   223.18 | 122.22 | 62.10
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before NumPy loads its BLAS
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import shenjing  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def row_lstm(lib):
    nn = lib.nn

    class RowLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(28, 128, batch_first=True)
            self.head = nn.Linear(128, 10)

        def forward(self, x):
            out, _ = self.lstm(x.reshape(x.shape[0], 28, 28))
            return self.head(out[:, -1])

    return RowLSTM()


def gru_tagger(lib):
    nn = lib.nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(65, 64)
            self.gru = nn.GRU(64, 96, num_layers=2, bidirectional=True, batch_first=True)
            self.head = nn.Linear(192, 65)

        def forward(self, ids):
            return self.head(self.gru(self.embed(ids))[0])

    return Tagger()


def models():
    vit, gpt = example("vit_mnist"), example("gpt_char")
    rng = np.random.default_rng(0)
    images = rng.standard_normal((32, 1, 28, 28)).astype(np.float32)
    ids = rng.integers(0, 65, (32, 64))
    return [
        ("row-LSTM 28→128", row_lstm, images),
        ("GRU tagger 2×bi 96", gru_tagger, ids),
        ("ViT (vit_mnist.py)", lambda lib: vit.build(lib), images),
        ("GPT (gpt_char.py)", lambda lib: gpt.build(lib, vocab_size=65), ids),
    ]


def main() -> None:
    import onnxruntime as ort
    import torch

    from shenjing.onnx import export

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--out", default="runs/bench_onnx_sequence")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    print(f"{'model':22s} {'export s':>8s} {'file B':>11s} {'max|ort−ours|':>13s}   latency ms, batch 1 / 32: "
          "shenjing | PyTorch | onnxruntime   (ours/ort)")
    for name, make, data in models():
        shenjing.manual_seed(0)
        model = make(shenjing).eval()
        twin = make(torch).eval()
        twin.load_state_dict({k: torch.from_numpy(np.array(v.array)) for k, v in model.state_dict().items()})
        path = out / (name.split()[0].lower() + ".onnx")
        start = time.perf_counter()
        export(model, shenjing.tensor(data[:2]), path, dynamic_axes={"input": {0: "batch"}})
        seconds = time.perf_counter() - start
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        def ours(x, model=model):
            with shenjing.no_grad():
                return model(shenjing.tensor(x)).array

        def theirs(x, twin=twin):
            with torch.no_grad():
                return twin(torch.from_numpy(x)).numpy()

        def runtime(x, session=session):
            return session.run(None, {"input": x})[0]

        diff = max(float(np.abs(runtime(data) - ours(data)).max()), 0.0)
        torch_diff = float(np.abs(theirs(data) - ours(data)).max())
        cells = []
        for batch in (1, 32):
            x = data[:batch]
            times = {"s": [], "t": [], "o": []}
            for _ in range(args.repeat):  # alternate the frameworks: load on the machine hits all three alike
                for key, fn in (("s", ours), ("t", theirs), ("o", runtime)):
                    start = time.perf_counter()
                    fn(x)
                    times[key].append(time.perf_counter() - start)
            med = {k: 1000 * statistics.median(v) for k, v in times.items()}
            cells.append(f"{med['s']:.2f} | {med['t']:.2f} | {med['o']:.2f}  ({med['s'] / med['o']:.1f}x)")
        print(f"{name:22s} {seconds:8.2f} {path.stat().st_size:11,d} {diff:13.1e}   " + "   ".join(cells)
              + f"   (PyTorch vs ours {torch_diff:.0e})", flush=True)


if __name__ == "__main__":
    main()
