"""The fit loop: learning, history, validation, callbacks, and the reliability behaviours (nan, Ctrl-C, resume)."""

from __future__ import annotations

import csv
import io as stdio
import json

import numpy as np
import pytest

import shenjing
from shenjing import nn, optim
from shenjing.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    JSONLogger,
    ModelCheckpoint,
    ProgressBar,
    Trainer,
    cross_validate,
    fit,
)

rng = np.random.default_rng(0)
X = rng.standard_normal((240, 6)).astype(np.float32)
Y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)  # 3 classes
X_val, Y_val = X[:60], Y[:60]


def make(seed: int = 0, lr: float = 0.01, scheduler: str | None = "step"):
    shenjing.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    optimizer = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5) if scheduler == "step" else None
    return model, optimizer, sched


def weights(model: nn.Module) -> dict:
    return {k: v.array.copy() for k, v in model.state_dict().items()}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_fit_learns_and_returns_a_history_of_every_epoch() -> None:
    model, optimizer, scheduler = make()
    trainer = Trainer(
        model, nn.CrossEntropyLoss(), optimizer, scheduler=scheduler, metrics=["accuracy", "f1"], verbose=0
    )
    history = trainer.fit((X, Y), val_data=(X_val, Y_val), epochs=6, batch_size=32)
    assert history.epoch == [1, 2, 3, 4, 5, 6] and history.stop_reason == "completed"
    assert set(history.keys()) == {"loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1", "lr"}
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history["val_accuracy"][-1] > 0.8
    assert history["lr"] == [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]  # StepLR stepped once per epoch
    result = trainer.evaluate((X_val, Y_val))
    assert result["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-6)
    assert result["accuracy"] == history["val_accuracy"][-1]
    scores = trainer.predict(X_val)
    assert scores.shape == (60, 3) and model.training is True


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses() -> None:
    shenjing.manual_seed(0)
    model = nn.Linear(6, 3)
    optimizer = optim.SGD(model.parameters(), lr=0.0)  # no learning: every batch sees the same weights
    history = fit(
        model,
        (X[:100], Y[:100]),
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=optimizer,
        epochs=1,
        batch_size=32,
        verbose=0,
    )
    full = nn.functional.cross_entropy(model(shenjing.tensor(X[:100])), shenjing.tensor(Y[:100])).item()
    assert history["loss"][0] == pytest.approx(full, rel=1e-6)


def test_regression_with_mse_and_r2() -> None:
    shenjing.manual_seed(0)
    target = (X @ rng.standard_normal((6, 1))).astype(np.float32)
    model = nn.Linear(6, 1)
    trainer = Trainer(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=0.05), metrics=["mae", "r2"], verbose=0)
    history = trainer.fit((X, target), val_data=(X_val, target[:60]), epochs=15, batch_size=16)
    assert history["val_r2"][-1] > 0.99 and history["val_mae"][-1] < 0.1


def test_clip_grad_norm_is_applied_before_each_update() -> None:
    seen = []

    class Spy(optim.SGD):
        def step(self, closure=None):
            seen.append(np.sqrt(sum(float((p.grad.array**2).sum()) for p in self.param_groups[0]["params"])))
            return super().step(closure)

    shenjing.manual_seed(0)
    model = nn.Linear(6, 3)
    Trainer(model, nn.CrossEntropyLoss(), Spy(model.parameters(), lr=0.1), clip_grad_norm=0.05, verbose=0).fit(
        (X * 100, Y), epochs=1, batch_size=32
    )
    assert max(seen) == pytest.approx(0.05, rel=1e-4)


# ---- reliability ------------------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to nan, on purpose
def test_a_nan_loss_stops_training_names_the_step_and_keeps_the_last_good_weights(capsys) -> None:
    model, optimizer, _ = make(lr=0.01, scheduler=None)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer)
    trainer.fit((X, Y), epochs=2, batch_size=32)
    good = weights(model)
    bad_x = X.copy()
    bad_x[100] = np.inf  # a sample in the 4th batch of an unshuffled epoch
    history = trainer.fit((bad_x, Y), epochs=4, batch_size=32, shuffle=False)
    message = capsys.readouterr().err
    assert history.stop_reason == "nan" and history.epoch == [1, 2]
    assert "loss became nan at epoch 3, step 4 (learning rate 0.01)" in message
    assert "end of epoch 2" in message and "try lr=0.001" in message
    assert_same(weights(model), good)
    assert all(np.isfinite(v).all() for v in weights(model).values())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to nan, on purpose
def test_a_diverging_learning_rate_is_caught_before_the_weights_turn_to_nan(capsys) -> None:
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 3))
    initial = weights(model)
    history = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=50.0), metrics=[], verbose=2).fit(
        (X, np.tile(X[:, :3], 1) * 100), epochs=20, batch_size=16
    )
    assert history.stop_reason == "nan" and "try lr=5" in capsys.readouterr().err
    restored = weights(model)
    assert all(np.isfinite(v).all() for v in restored.values())
    if not history.epoch:  # diverged in the first epoch: back to the initial weights
        assert_same(restored, initial)


class InterruptAt(Callback):
    def __init__(self, epoch: int, step: int) -> None:
        self.at, self.epoch = (epoch, step), 0

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.epoch = epoch

    def on_batch_end(self, step, logs) -> None:
        if (self.epoch, step) == self.at:
            raise KeyboardInterrupt


def _uninterrupted(epochs: int) -> dict:
    model, optimizer, scheduler = make()
    Trainer(model, nn.CrossEntropyLoss(), optimizer, scheduler=scheduler, seed=7, verbose=0).fit(
        (X, Y), val_data=(X_val, Y_val), epochs=epochs, batch_size=32
    )
    return weights(model)


def test_resuming_a_checkpoint_gives_exactly_the_weights_of_an_uninterrupted_run(tmp_path) -> None:
    expected = _uninterrupted(5)
    model, optimizer, scheduler = make()
    Trainer(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        scheduler=scheduler,
        seed=7,
        verbose=0,
        callbacks=[ModelCheckpoint(tmp_path / "ckpt-{epoch}.safetensors", resumable=True)],
    ).fit((X, Y), val_data=(X_val, Y_val), epochs=3, batch_size=32)
    # a new process, in effect: different initial weights, optimizer state and RNG state
    model, optimizer, scheduler = make(seed=99, lr=0.3)
    shenjing.manual_seed(1234)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, scheduler=scheduler, seed=7, verbose=0)
    history = trainer.fit(
        (X, Y), val_data=(X_val, Y_val), epochs=5, batch_size=32, resume_from=tmp_path / "ckpt-2.safetensors"
    )
    assert history.epoch == [1, 2, 3, 4, 5]
    assert_same(weights(model), expected)


def test_resume_restores_a_loader_with_its_own_generator(tmp_path) -> None:
    from shenjing.data import DataLoader, TensorDataset

    def run(epochs, resume=None, callbacks=()):
        model, optimizer, _ = make(scheduler=None)
        loader = DataLoader(TensorDataset(X, Y), batch_size=32, shuffle=True, generator=5)
        Trainer(model, nn.CrossEntropyLoss(), optimizer, seed=3, verbose=0, callbacks=list(callbacks)).fit(
            loader, epochs=epochs, resume_from=resume
        )
        return weights(model)

    expected = run(4)
    run(2, callbacks=[ModelCheckpoint(tmp_path / "c.safetensors", resumable=True, monitor="loss")])
    assert_same(run(4, resume=tmp_path / "c.safetensors"), expected)


def test_ctrl_c_saves_a_checkpoint_that_resumes_exactly(tmp_path, capsys) -> None:
    expected = _uninterrupted(4)
    model, optimizer, scheduler = make()
    path = tmp_path / "interrupted.safetensors"
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        scheduler=scheduler,
        seed=7,
        verbose=0,
        callbacks=[InterruptAt(epoch=3, step=4)],
        interrupt_checkpoint=path,
    )
    history = trainer.fit((X, Y), val_data=(X_val, Y_val), epochs=4, batch_size=32)
    assert history.stop_reason == "interrupted" and history.epoch == [1, 2]
    assert path.exists() and "Saved the state after epoch 2" in history.stop_message
    model, optimizer, scheduler = make(seed=42)
    history = Trainer(model, nn.CrossEntropyLoss(), optimizer, scheduler=scheduler, seed=7, verbose=0).fit(
        (X, Y), val_data=(X_val, Y_val), epochs=4, batch_size=32, resume_from=path
    )
    assert history.epoch == [1, 2, 3, 4] and history.stop_reason == "completed"
    assert_same(weights(model), expected)


# ---- callbacks ----------------------------------------------------------------------------------------------------
def test_early_stopping_stops_and_restores_the_best_weights() -> None:
    snapshots = {}

    class Keep(Callback):
        def on_epoch_end(self, epoch, logs) -> None:
            snapshots[epoch] = (logs["val_loss"], weights(self.trainer.model))

    model, optimizer, _ = make(lr=0.05, scheduler=None)
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = Trainer(model, nn.CrossEntropyLoss(), optimizer, callbacks=[Keep(), stopper], verbose=0).fit(
        (X[60:120], Y[60:120]), val_data=(X_val, Y_val), epochs=200, batch_size=8
    )
    assert history.stop_reason == "early_stopping" and len(history) < 200
    best = min(snapshots, key=lambda e: snapshots[e][0])
    assert stopper.best_epoch == best and len(history) == best + 2
    assert_same(weights(model), snapshots[best][1])


def test_reduce_lr_on_plateau_is_fed_the_monitored_value() -> None:
    model, optimizer, _ = make(scheduler=None)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=0)
    fed = []
    original = plateau.step
    plateau.step = lambda metrics, *a, **k: (fed.append(metrics), original(metrics, *a, **k))[1]
    history = Trainer(model, nn.CrossEntropyLoss(), optimizer, scheduler=plateau, verbose=0).fit(
        (X, Y), val_data=(X_val, Y_val), epochs=4, batch_size=32
    )
    assert fed == history["val_loss"]


def test_csv_and_json_logs_hold_every_epoch(tmp_path) -> None:
    model, optimizer, _ = make(scheduler=None)
    Trainer(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        verbose=0,
        callbacks=[CSVLogger(tmp_path / "h.csv"), JSONLogger(tmp_path / "h.json")],
    ).fit((X, Y), val_data=(X_val, Y_val), epochs=3, batch_size=64)
    rows = list(csv.DictReader(open(tmp_path / "h.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    data = json.loads((tmp_path / "h.json").read_text())
    assert data["epoch"] == [1, 2, 3] and [float(r["loss"]) for r in rows] == data["loss"]


def test_model_checkpoint_best_only_writes_loadable_model_files(tmp_path) -> None:
    model, optimizer, _ = make(scheduler=None)
    checkpoint = ModelCheckpoint(tmp_path / "best.safetensors", monitor="val_accuracy", save_best_only=True)
    Trainer(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        verbose=0,
        callbacks=[checkpoint],
        metadata={"class_names": ["a", "b", "c"]},
    ).fit((X, Y), val_data=(X_val, Y_val), epochs=3)
    loaded, document = shenjing.load(tmp_path / "best.safetensors", with_metadata=True)
    assert document["metadata"]["class_names"] == ["a", "b", "c"] and repr(loaded) == repr(model)


def test_progress_bar_is_quiet_off_a_terminal_and_throttled_on_one() -> None:
    off = ProgressBar(file=stdio.StringIO())
    assert off.enabled is False
    out = stdio.StringIO()
    bar = ProgressBar(enabled=True, refresh=4.0, file=out)
    bar.start_epoch(1, 1, 1000)
    for _ in range(1000):
        bar.advance(lambda: {"loss": 0.5, "accuracy": 0.8})
    bar.end_epoch(1, 1, {"loss": 0.5, "accuracy": 0.9}, 0.1)
    text = out.getvalue()
    assert "1000/1000" in text and "accuracy=0.9" in text
    assert text.count("\r") < 10  # a handful of redraws, not one per step


def test_cross_validate_trains_one_model_per_fold() -> None:
    built = []

    def model_fn():
        built.append(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)))
        return built[-1]

    results = cross_validate(
        model_fn,
        (X, Y),
        loss_fn=nn.CrossEntropyLoss(),
        optimizer_fn=lambda p: optim.Adam(p, lr=0.02, weight_decay=1e-4),
        cv=4,
        labels=Y,
        epochs=5,
        batch_size=32,
    )
    assert len(built) == 4 and len(results["folds"]) == 4
    accuracies = [fold["val_accuracy"] for fold in results["folds"]]
    assert results["mean"]["val_accuracy"] == pytest.approx(np.mean(accuracies))
    assert results["std"]["val_accuracy"] == pytest.approx(np.std(accuracies))
    assert results["mean"]["val_accuracy"] > 0.75


def test_a_failed_background_checkpoint_write_is_raised_not_lost(tmp_path) -> None:
    (tmp_path / "a_file").write_text("")
    model, optimizer, _ = make(scheduler=None)
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        verbose=0,
        callbacks=[ModelCheckpoint(tmp_path / "a_file" / "ckpt.safetensors", resumable=True)],
    )
    with pytest.raises(OSError):
        trainer.fit((X, Y), val_data=(X_val, Y_val), epochs=2, batch_size=64)
