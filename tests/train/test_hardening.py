"""Training that fails keeps its weights, and the callbacks' edge cases that simpler tests let wrong versions through:

the nan/inf guard on every update (first, middle, last step of an epoch, full-batch), ModelCheckpoint's
save_best_only bookkeeping, EarlyStopping's min_delta and baseline, cross_validate's held-out scoring and
per-fold seeds, a resumed CSV log, the monitor check before the first epoch and the Ctrl-C checkpoint.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

import shenjing
from shenjing import nn, optim
from shenjing.train import Callback, CSVLogger, EarlyStopping, ModelCheckpoint, Trainer, cross_validate

rng = np.random.default_rng(1)
X = rng.standard_normal((96, 5)).astype(np.float32)
Y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)


def model_and_optimizer(lr: float = 0.05):
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2))
    return model, optim.SGD(model.parameters(), lr=lr)


def weights(model) -> dict:
    return {k: v.array.copy() for k, v in model.state_dict().items()}


class PoisonAfter(optim.SGD):
    """SGD whose update number ``at`` (counted from 1 over the whole fit) writes ``value`` into one weight."""

    def __init__(self, params, lr, at: int, target, value: float = math.nan) -> None:
        super().__init__(params, lr=lr)
        self.at, self.count, self.target, self.value = at, 0, target, value

    def step(self, closure=None):
        super().step(closure)
        self.count += 1
        if self.count == self.at:
            self.target.array[(0,) * self.target.array.ndim] = self.value


class Snapshots(Callback):
    """The weights at the end of every epoch (epoch 0: before training)."""

    def __init__(self) -> None:
        self.by_epoch: dict = {}

    def on_train_begin(self, logs=None) -> None:
        self.by_epoch[self.trainer.epoch] = weights(self.trainer.model)

    def on_epoch_end(self, epoch, logs) -> None:
        self.by_epoch[epoch] = weights(self.trainer.model)


# 96 samples: batch 32 → 3 steps per epoch; batch 96 → full batch, 1 step per epoch
@pytest.mark.parametrize(
    "batch_size, at, epoch, step",
    [
        (32, 1, 1, 1),  # the very first update
        (32, 5, 2, 2),  # the middle of an epoch
        (32, 6, 2, 3),  # the last step of an epoch: no later loss would show it
        (32, 9, 3, 3),  # the last step of the last epoch
        (96, 1, 1, 1),  # full batch, first epoch
        (96, 3, 3, 1),  # full batch, a later epoch (also the last one)
    ],
)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("layer", [0, 2])
def test_every_update_is_guarded_and_the_last_finite_weights_come_back(
    batch_size, at, epoch, step, value, layer, capsys
) -> None:
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2))
    optimizer = PoisonAfter(model.parameters(), 0.05, at, model[layer].weight, value)
    snapshots = Snapshots()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, callbacks=[snapshots], verbose=0)
    history = trainer.fit((X, Y), epochs=3, batch_size=batch_size, shuffle=False)
    err = capsys.readouterr().err
    assert history.stop_reason == "nan" and history.epoch == list(range(1, epoch))
    assert trainer.weights_epoch == epoch - 1
    kept = weights(model)
    for key, array in snapshots.by_epoch[epoch - 1].items():
        np.testing.assert_array_equal(kept[key], array, err_msg=key)
    assert all(np.isfinite(a).all() for a in kept.values())
    # printed at verbose=0 too, naming the epoch, the step, the learning rate and the layer
    assert f"epoch {epoch}, step {step}" in err and "learning rate 0.05" in err
    assert f"first non-finite layer: {layer}.weight" in err and "try lr=0.005" in err
    assert len(history.history.get("loss", [])) == epoch - 1  # no row for the failed epoch


@pytest.mark.parametrize("lr", [math.inf, math.nan])
def test_a_non_finite_learning_rate_is_never_suggested(lr, capsys) -> None:
    model, optimizer = model_and_optimizer()
    optimizer.param_groups[0]["lr"] = lr
    with np.errstate(all="ignore"):
        history = Trainer(model, nn.CrossEntropyLoss(), optimizer, verbose=0).fit((X, Y), epochs=2, batch_size=32)
    err = capsys.readouterr().err
    assert history.stop_reason == "nan"
    assert "lr=inf" not in err and "lr=nan" not in err and "lr=1e-3" in err
    assert all(np.isfinite(a).all() for a in weights(model).values())


def test_a_nan_loss_names_the_step_even_when_the_weights_are_finite(capsys) -> None:
    model, optimizer = model_and_optimizer()
    bad = X.copy()
    bad[40] = np.nan  # the second batch
    history = Trainer(model, nn.CrossEntropyLoss(), optimizer, verbose=0).fit(
        (bad, Y), epochs=2, batch_size=32, shuffle=False
    )
    err = capsys.readouterr().err
    assert history.stop_reason == "nan" and "loss became nan at epoch 1, step 2" in err
    assert "first non-finite layer" not in err  # the weights never went bad


# ---- ModelCheckpoint(save_best_only) ---------------------------------------------------------------------------
class Recorder:
    """Stands in for the Trainer: records what ModelCheckpoint asks to save."""

    def __init__(self) -> None:
        self.saved: list = []

    def save_model(self, path, background=False) -> None:
        self.saved.append(path)

    def save_checkpoint(self, path, background=False) -> None:
        self.saved.append(("checkpoint", path))


@pytest.mark.parametrize(
    "monitor, values, saved",
    [
        ("val_loss", [1.0, 2.0, 0.5, 0.7, 0.4], [1, 3, 5]),
        ("val_loss", [3.0, 3.0, 2.0, 2.5, 2.0], [1, 3]),  # equal is not better
        ("val_loss", [1.0, 0.9, 0.8], [1, 2, 3]),
        ("val_accuracy", [0.5, 0.4, 0.6, 0.6, 0.9], [1, 3, 5]),
        ("loss", [5.0, 6.0, 7.0], [1]),
    ],
)
@pytest.mark.parametrize("resumable", [False, True])
def test_save_best_only_writes_only_when_the_best_so_far_improves(monitor, values, saved, resumable) -> None:
    callback = ModelCheckpoint("m-{epoch}.safetensors", monitor=monitor, save_best_only=True, resumable=resumable)
    callback.set_trainer(Recorder())
    for epoch, value in enumerate(values, 1):
        callback.on_epoch_end(epoch, {monitor: value})
    paths = [f"m-{e}.safetensors" for e in saved]
    expected = [("checkpoint", p) for p in paths] if resumable else paths
    assert callback.trainer.saved == expected
    best = min(values) if monitor.endswith("loss") else max(values)
    assert callback.best == best and callback.last_path == paths[-1]
    # the best survives a resume: a worse value after it is not saved
    again = ModelCheckpoint("m-{epoch}.safetensors", monitor=monitor, save_best_only=True)
    again.load_state_dict(callback.state_dict())
    again.set_trainer(Recorder())
    again.on_epoch_end(len(values) + 1, {monitor: best})
    assert again.trainer.saved == []


def test_without_save_best_only_every_epoch_is_saved() -> None:
    callback = ModelCheckpoint("m-{epoch}.safetensors", monitor="val_loss")
    callback.set_trainer(Recorder())
    for epoch, value in enumerate([1.0, 2.0, 3.0], 1):
        callback.on_epoch_end(epoch, {"val_loss": value})
    assert callback.trainer.saved == ["m-1.safetensors", "m-2.safetensors", "m-3.safetensors"]


# ---- EarlyStopping: min_delta and baseline ---------------------------------------------------------------------
class FakeTrainer:
    def __init__(self) -> None:
        self.stopped_at, self.epoch = None, 0
        self.model = nn.Linear(2, 2)

    def stop(self, reason, message="", always=False) -> None:
        self.stopped_at = self.epoch

    def say(self, message, always=False) -> None: ...


def run_early_stopping(values, **options) -> tuple:
    callback = EarlyStopping(**options)
    trainer = FakeTrainer()
    callback.set_trainer(trainer)
    for epoch, value in enumerate(values, 1):
        trainer.epoch = epoch
        callback.on_epoch_end(epoch, {options.get("monitor", "val_loss"): value})
        if trainer.stopped_at is not None:
            break
    return trainer.stopped_at, callback.best_epoch, callback.best


@pytest.mark.parametrize(
    "values, options, stopped, best_epoch",
    [
        # improvements smaller than min_delta do not count
        ([1.0, 0.95, 0.92, 0.91], dict(min_delta=0.1, patience=2), 3, 1),
        ([1.0, 0.95, 0.92, 0.91], dict(min_delta=0.0, patience=2), None, 4),
        ([1.0, 0.85, 0.80, 0.70], dict(min_delta=0.1, patience=2), None, 4),  # 0.85 and then 0.70 do count
        ([1.0, 0.85, 0.80, 0.78], dict(min_delta=0.1, patience=2), 4, 2),
        ([0.5, 0.55, 0.58], dict(monitor="val_accuracy", min_delta=0.1, patience=2), 3, 1),
        ([0.5, 0.55, 0.61], dict(monitor="val_accuracy", min_delta=0.1, patience=2), None, 3),
        ([1.0, 0.95], dict(min_delta=-0.1, patience=1), 2, 1),  # a negative min_delta is its size, as in Keras
        # the baseline must be beaten before anything counts
        ([0.8, 0.7, 0.6], dict(baseline=0.5, patience=3), 3, 0),
        ([0.8, 0.4, 0.45], dict(baseline=0.5, patience=2), None, 2),
        ([0.8, 0.7, 0.6, 0.4], dict(baseline=0.5, patience=3), 3, 0),
        ([0.6, 0.7], dict(monitor="val_accuracy", baseline=0.9, patience=2), 2, 0),
        ([0.6, 0.95], dict(monitor="val_accuracy", baseline=0.9, patience=2), None, 2),
        ([0.45, 0.44, 0.43], dict(baseline=0.5, min_delta=0.1, patience=3), 3, 0),  # baseline and min_delta
    ],
)
def test_early_stopping_honours_min_delta_and_baseline(values, options, stopped, best_epoch) -> None:
    got_stopped, got_best_epoch, _ = run_early_stopping(values, **options)
    assert (got_stopped, got_best_epoch) == (stopped, best_epoch)


def test_restore_best_weights_records_the_kept_epoch() -> None:
    model, optimizer = model_and_optimizer(lr=0.5)
    stopper = EarlyStopping(monitor="loss", patience=1, min_delta=10.0, restore_best_weights=True, verbose=0)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, callbacks=[stopper], verbose=0)
    history = trainer.fit((X, Y), epochs=5, batch_size=32)
    assert history.stop_reason == "early_stopping" and history.epoch == [1, 2]
    assert stopper.best_epoch == 1 and trainer.weights_epoch == 1


# ---- cross_validate --------------------------------------------------------------------------------------------
def test_cross_validate_scores_the_held_out_part_with_a_seed_per_fold() -> None:
    from shenjing.data import TensorDataset

    data = TensorDataset(shenjing.tensor(X), shenjing.tensor(Y))
    initial: list = []

    def model_fn():
        model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))
        initial.append(weights(model))
        return model

    # lr = 0: the models keep their initial weights, so each fold's scores can be recomputed exactly
    folds = [(list(range(0, 64)), list(range(64, 96))), (list(range(32, 96)), list(range(0, 32)))]
    folds.append((list(range(0, 32)) + list(range(64, 96)), list(range(32, 64))))
    result = cross_validate(
        model_fn,
        data,
        loss_fn=nn.CrossEntropyLoss(),
        optimizer_fn=lambda p: optim.SGD(p, lr=0.0),
        cv=folds,
        epochs=1,
        batch_size=16,
        seed=10,
    )
    assert len(result["folds"]) == 3
    for k, ((train, val), scores) in enumerate(zip(folds, result["folds"])):
        shenjing.manual_seed(10 + k)
        expected_init = weights(nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2)))
        for key in expected_init:
            np.testing.assert_array_equal(initial[k][key], expected_init[key], err_msg=f"fold {k} {key}")
        model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))
        model.load_state_dict(initial[k])
        held_out = Trainer(model, nn.CrossEntropyLoss(), None, verbose=0, interrupt_checkpoint=None)
        on_val = held_out.evaluate((X[val], Y[val]))
        on_train = held_out.evaluate((X[train], Y[train]))
        assert scores["val_loss"] == pytest.approx(on_val["loss"], rel=1e-6)
        assert scores["val_accuracy"] == pytest.approx(on_val["accuracy"])
        assert scores["val_loss"] != pytest.approx(on_train["loss"], rel=1e-6)
    assert not np.array_equal(initial[0]["0.weight"], initial[1]["0.weight"])  # a different seed per fold
    assert not np.array_equal(initial[1]["0.weight"], initial[2]["0.weight"])
    losses = [s["val_loss"] for s in result["folds"]]
    assert result["mean"]["val_loss"] == pytest.approx(np.mean(losses))
    assert result["std"]["val_loss"] == pytest.approx(np.std(losses))


# ---- logs, monitors and interrupts -----------------------------------------------------------------------------
def test_a_resumed_run_does_not_repeat_epoch_rows_in_the_csv(tmp_path) -> None:
    log = tmp_path / "history.csv"
    model, optimizer = model_and_optimizer()
    checkpoints = ModelCheckpoint(tmp_path / "ck-{epoch}.safetensors", resumable=True)
    Trainer(model, nn.CrossEntropyLoss(), optimizer, callbacks=[CSVLogger(log), checkpoints], verbose=0).fit(
        (X, Y), epochs=4, batch_size=32
    )
    model, optimizer = model_and_optimizer()
    checkpoints = ModelCheckpoint(tmp_path / "ck-{epoch}.safetensors", resumable=True)
    trainer = Trainer(
        model, nn.CrossEntropyLoss(), optimizer, callbacks=[CSVLogger(log, append=True), checkpoints], verbose=0
    )
    trainer.fit((X, Y), epochs=5, batch_size=32, resume_from=tmp_path / "ck-2.safetensors")
    with open(log, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "epoch" and [int(r[0]) for r in rows[1:]] == [1, 2, 3, 4, 5]
    # a plain append (no resume) keeps what is there, as before
    model, optimizer = model_and_optimizer()
    Trainer(model, nn.CrossEntropyLoss(), optimizer, callbacks=[CSVLogger(log, append=True)], verbose=0).fit(
        (X, Y), epochs=1, batch_size=32
    )
    with open(log, newline="") as f:
        assert [int(r[0]) for r in list(csv.reader(f))[1:]] == [1, 2, 3, 4, 5, 1]


@pytest.mark.parametrize(
    "callback, validation, hint",
    [
        (lambda: EarlyStopping(monitor="val_acc"), True, "Did you mean 'val_accuracy'?"),
        (lambda: EarlyStopping(monitor="val_loss"), False, "val_* values need validation data"),
        (lambda: EarlyStopping(monitor="los"), False, "Did you mean 'loss'?"),
        (lambda: ModelCheckpoint("m.safetensors", monitor="val_f1", save_best_only=True), True, "val_accuracy"),
    ],
)
def test_a_bad_monitor_is_caught_before_the_first_epoch(callback, validation, hint) -> None:
    model, optimizer = model_and_optimizer()
    before = weights(model)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, callbacks=[callback()], verbose=0)
    with pytest.raises(ValueError, match="monitor") as info:
        trainer.fit((X, Y), val_data=(X[:20], Y[:20]) if validation else None, epochs=2, batch_size=32)
    assert hint in str(info.value)
    assert trainer.epoch == 0 and all(np.array_equal(before[k], v) for k, v in weights(model).items())


def test_a_model_checkpoint_without_save_best_only_needs_no_monitored_value() -> None:
    model, optimizer = model_and_optimizer()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, callbacks=[ModelCheckpoint("{epoch}.x")], verbose=0)
    trainer.callbacks[0].on_epoch_end = lambda epoch, logs: None  # no files: only the monitor check matters
    assert trainer.fit((X, Y), epochs=1, batch_size=32).stop_reason == "completed"


class InterruptIn(Callback):
    def __init__(self, epoch: int) -> None:
        self.at = epoch

    def on_epoch_begin(self, epoch, logs=None) -> None:
        if epoch == self.at:
            raise KeyboardInterrupt


def test_the_interrupt_checkpoint_never_crashes(tmp_path, capsys) -> None:
    (tmp_path / "a-file").write_text("")
    model, optimizer = model_and_optimizer()
    unwritable = tmp_path / "a-file" / "interrupted.safetensors"  # its folder is a file: the write must fail
    trainer = Trainer(
        model, nn.CrossEntropyLoss(), optimizer, callbacks=[InterruptIn(2)], verbose=0, interrupt_checkpoint=unwritable
    )
    history = trainer.fit((X, Y), epochs=3, batch_size=32)
    err = capsys.readouterr().err
    assert history.stop_reason == "interrupted" and history.epoch == [1]
    assert "Could not save a checkpoint to" in err and "Interrupted during epoch 2" in err
    # and where it can write, it saves a checkpoint that resumes
    model, optimizer = model_and_optimizer()
    path = tmp_path / "interrupted.safetensors"
    trainer = Trainer(
        model, nn.CrossEntropyLoss(), optimizer, callbacks=[InterruptIn(2)], verbose=0, interrupt_checkpoint=path
    )
    trainer.fit((X, Y), epochs=3, batch_size=32)
    assert path.exists() and f"Saved the state after epoch 1 to {path}" in capsys.readouterr().err
    model, optimizer = model_and_optimizer()
    resumed = Trainer(model, nn.CrossEntropyLoss(), optimizer, verbose=0, interrupt_checkpoint=None)
    assert resumed.fit((X, Y), epochs=3, batch_size=32, resume_from=path).epoch == [1, 2, 3]


def test_the_epoch_line_shows_the_time_left() -> None:
    import io

    from shenjing.train import ProgressBar

    out = io.StringIO()
    bar = ProgressBar(enabled=False, file=out)
    bar.end_epoch(1, 4, {"loss": 1.0}, 10.0)
    bar.end_epoch(2, 4, {"loss": 0.5}, 20.0)
    bar.end_epoch(4, 4, {"loss": 0.2}, 30.0)
    lines = out.getvalue().splitlines()
    assert "ETA 30s" in lines[0] and "ETA 30s" in lines[1]  # 3 epochs × 10 s; then 2 × 15 s
    assert "ETA" not in lines[2]
    long = ProgressBar(enabled=False, file=out)
    long.end_epoch(1, 100, {}, 125.0)
    assert "ETA 3h26m" in out.getvalue().splitlines()[-1]
