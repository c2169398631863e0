"""The textbook's convolutional network on MNIST, in shenjing: two convolutions, max-pooling, dropout, two dense layers.

    Conv2d(1, 32, 3) → ReLU → Conv2d(32, 64, 3) → ReLU → MaxPool2d(2) → Dropout2d(0.25) → Flatten
    → Linear(9216, 128) → ReLU → Dropout(0.5) → Linear(128, 10)

trained with Adam (learning rate 1e-3) on mini-batches of 64 with cross-entropy on the LOGITS.

NOTE: the textbook's version ends the network with a softmax and then applies CrossEntropyLoss, which applies
(log-)softmax again: softmax twice squashes the logits into [0, 1], so the loss can never get near 0 and the
gradients shrink; it still trains, worse. CrossEntropyLoss expects raw scores (logits), so the network here
ends with the last Linear layer. Apply softmax yourself only where you want probabilities (prediction).

    python examples/mnist_cnn.py [--epochs 5] [--batch-size 64] [--lr 1e-3] [--seed 0] [--data DIR] [--out DIR]

Like ``shenjing train``, it shows a progress bar per epoch with the time left (tqdm; one line per epoch with
an ETA when the output is not a terminal) and writes to ``--out`` (default ``runs/mnist_cnn``): the model file
``model.safetensors`` (for ``shenjing predict`` / ``shenjing evaluate``), ``history.csv``, ``history.json``,
``metrics.json`` and the plots ``loss.png``, ``accuracy.png``, ``confusion_matrix.png``, ``misclassified.png``.

Measured 2026-12-05 (benchmarks/bench_cnn_accuracy.py, same recipe, seed and initial weights as PyTorch, 2-core
Sapphire Rapids, convolutions on oneDNN): 98.41 % test accuracy after 1 epoch, 99.04 % after 5 (PyTorch: 98.58 %
and 99.02 %), epoch time 0.98× PyTorch's. This script with its own initial weights (2026-12-07, 5 epochs): 98.98 %,
99.01 %, 98.91 % for --seed 0, 1, 2 (mean 98.97 %; one seed moves it by about ±0.05). The data folder is ``--data``
or ``$SHENJING_DATA`` (the four MNIST IDX files).
"""

from __future__ import annotations

import argparse
import json
import os

import shenjing
from shenjing import nn
from shenjing.data import DataLoader, Subset
from shenjing.datasets import mnist
from shenjing.datasets.mnist import MNIST_CLASSES
from shenjing.train import CSVLogger, JSONLogger, Trainer
from shenjing.train.run import DataBundle, write_plots

MEAN, STD = 0.1307, 0.3081  # the MNIST training set's pixel mean and standard deviation


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),  # (N, 1, 28, 28) → (N, 32, 26, 26)
        nn.ReLU(),
        nn.Conv2d(32, 64, 3),  # → (N, 64, 24, 24)
        nn.ReLU(),
        nn.MaxPool2d(2),  # → (N, 64, 12, 12)
        nn.Dropout2d(0.25),  # drops whole feature maps
        nn.Flatten(),  # → (N, 9216)
        nn.Linear(9216, 128),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(128, 10),  # logits: no softmax here, CrossEntropyLoss applies it
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="folder with the MNIST IDX files (default $SHENJING_DATA)")
    parser.add_argument("--out", default=os.path.join("runs", "mnist_cnn"), help="where to write (runs/mnist_cnn)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N training and test images")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None, help="as in `shenjing train`")
    args = parser.parse_args(argv)

    shenjing.manual_seed(args.seed)
    train = mnist(args.data, train=True, normalize=(MEAN, STD))  # x ← (pixel/255 − 0.1307) / 0.3081
    test = mnist(args.data, train=False, normalize=(MEAN, STD))
    if args.limit:
        train, test = Subset(train, range(min(args.limit, len(train)))), Subset(test, range(min(args.limit, len(test))))
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, generator=args.seed)
    test_loader = DataLoader(test, batch_size=1000)

    model = make_model()
    optimizer = shenjing.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()  # on logits
    os.makedirs(args.out, exist_ok=True)
    metadata = {  # what `shenjing predict` needs to prepare an image as in training
        "input_shape": [1, 28, 28],
        "class_names": list(MNIST_CLASSES),
        "task": "classification",
        "preprocessing": {"kind": "image", "size": [28, 28], "box": 20, "normalize": [MEAN, STD], "flatten": False},
    }
    trainer = Trainer(
        model,
        loss_fn,
        optimizer,
        metrics=["accuracy"],
        callbacks=[
            CSVLogger(os.path.join(args.out, "history.csv")),
            JSONLogger(os.path.join(args.out, "history.json")),
        ],
        verbose=args.verbose,
        interrupt_checkpoint=os.path.join(args.out, "interrupted.safetensors"),
        metadata=metadata,
    )
    # each epoch: forward pass → loss → backward pass → Adam update, per mini-batch; then the test set
    history = trainer.fit(train_loader, val_data=test_loader, epochs=args.epochs)
    if history.stop_reason == "interrupted":
        return {"history": history}
    test_metrics = trainer.evaluate(test_loader)
    trainer.metadata["test_metrics"] = test_metrics
    trainer.save_model(os.path.join(args.out, "model.safetensors"))
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(
            {
                "test": test_metrics,
                "epochs": len(history),
                "weights_epoch": trainer.weights_epoch,
                "stop_reason": history.stop_reason,
            },
            f,
            indent=2,
        )
    data = DataBundle(train, None, test, [1, 28, 28], list(MNIST_CLASSES), "classification", metadata["preprocessing"])
    plots = write_plots(trainer, history, data, args.out)
    print(f"test loss {test_metrics['loss']:.4f}, test accuracy {100 * test_metrics['accuracy']:.2f} %")
    print(f"Wrote {args.out}/: model.safetensors, history.csv, history.json, metrics.json, " + ", ".join(
        os.path.basename(p) for p in plots.values()
    ))
    return {"history": history, "test": test_metrics, "out": args.out}


if __name__ == "__main__":
    main()
