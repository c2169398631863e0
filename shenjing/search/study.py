"""Hyperparameter search on Optuna: one study per ``[search]`` section, trials trained with the shenjing Trainer.

    from shenjing.search import search
    result = search("examples/digits_search.toml", trials=20)
    result.best_params, result.best_value, result.paths["best_config"]

The study lives in a storage (a SQLite file in the search folder by default, or any database URL such as
``postgresql://user@host/db``): a search that was killed resumes where it stopped (the trial that was running is
tried again, with the same values, and counted once), and any number of processes or machines that name the same
storage and study share the work. ``workers=K`` starts K processes on this machine.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..train.callbacks import Callback
from ..train.config import ConfigError, read_toml, to_dict
from .space import SearchConfig, apply_params, grid_size, parse_search

__all__ = [
    "search",
    "SearchResult",
    "load_search",
    "objective_value",
    "PruningCallback",
    "make_sampler",
    "make_pruner",
    "open_study",
    "recover_stale_trials",
    "count_trials",
]


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ImportError("hyperparameter search needs Optuna: pip install 'shenjing[search]' (or optuna)") from None
    return optuna


# ---- reading -------------------------------------------------------------------------------------------------------
def load_search(config: Any) -> SearchConfig:
    """A checked :class:`SearchConfig` from a TOML path, a parsed document (dict) or a SearchConfig."""
    if isinstance(config, SearchConfig):
        return config
    if isinstance(config, dict):
        return parse_search(config)
    path = os.fspath(config)
    raw = read_toml(path)
    if "name" not in raw:
        raw["name"] = os.path.splitext(os.path.basename(path))[0]
    return parse_search(raw, source=path)


def _base_config(search: SearchConfig) -> Any:
    return apply_params(search, {})


def _objective_name(search: SearchConfig, config: Any) -> str:
    if search.objective:
        return search.objective
    return "val_accuracy" if config.data.task == "classification" else "val_loss"


def check_objective(search: SearchConfig, config: Any, objective: str) -> None:
    """A validation metric the trials log, and validation data to compute it on (else k folds), checked before
    any trial runs (a trial that fails only marks itself failed)."""
    from ..train.metrics import canonical_metric

    where = f"{search.source}: search.objective"
    if not objective.startswith("val_"):
        raise ConfigError(
            f"{where}: expected a validation metric such as 'val_accuracy' or 'val_loss', got {objective!r}"
        )
    if objective != "val_loss":
        try:
            canonical_metric(objective[4:])
        except ValueError as error:
            raise ConfigError(f"{where}: {error}") from None
    if not search.cv and config.data.val == 0:
        raise ConfigError(
            f"{search.source}: data.val: the objective {objective!r} needs a validation split: "
            "set data.val above 0, or search.cv = k for k-fold cross-validation"
        )


def _direction(search: SearchConfig, objective: str) -> str:
    if search.direction != "auto":
        return search.direction
    from ..train.metrics import metric_direction

    return "minimize" if metric_direction(objective) == "min" else "maximize"


def _out_dir(search: SearchConfig, config: Any) -> str:
    return search.dir or os.path.join(config.out_dir, "search")


# ---- samplers, pruners, storage ------------------------------------------------------------------------------------
def make_sampler(search: SearchConfig, worker: int = 0) -> Any:
    """Optuna's sampler for ``search.sampler``, seeded with ``search.seed + worker``."""
    optuna = _optuna()
    seed = None if search.seed is None else search.seed + worker
    if search.sampler == "grid":
        return optuna.samplers.GridSampler({s.name: s.grid() for s in search.space}, seed=seed)
    if search.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if search.sampler == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError:
            raise ImportError("sampler = 'cmaes' needs the cmaes package: pip install cmaes") from None
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(search: SearchConfig) -> Any:
    optuna = _optuna()
    if search.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    if search.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1)
    return optuna.pruners.NopPruner()


def default_storage(out_dir: str) -> str:
    return "sqlite:///" + os.path.abspath(os.path.join(out_dir, "study.db"))


def _storage(url: str) -> Any:
    optuna = _optuna()
    if url.startswith("sqlite:"):
        # several local processes write one file: wait for the lock instead of failing
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 120}})
    # on a shared database, a worker that dies stops beating; its trial is failed and tried again elsewhere
    import warnings

    with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna
        warnings.simplefilter("ignore")
        if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback"):  # Optuna >= 4.9
            retry = {"heartbeat_stale_trial_callback": optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)}
        else:
            retry = {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=3)}
        return optuna.storages.RDBStorage(url, heartbeat_interval=5, grace_period=20, **retry)


def open_study(search: SearchConfig, storage: str, study_name: str, direction: str, worker: int = 0) -> Any:
    """Create the study, or load it when the storage already holds one of that name."""
    optuna = _optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        storage=_storage(storage),
        study_name=study_name,
        direction=direction,
        sampler=make_sampler(search, worker),
        pruner=make_pruner(search),
        load_if_exists=True,
    )


def recover_stale_trials(study: Any) -> list[int]:
    """Trials left RUNNING by a process that was killed: failed, and enqueued again with the same values (so the
    trial is neither lost nor counted twice). Only for a storage no live process is writing (a local SQLite file
    before the workers start). Returns the numbers of the trials tried again."""
    optuna = _optuna()
    state = optuna.trial.TrialState
    stale = study.get_trials(deepcopy=False, states=(state.RUNNING,))
    for trial in stale:
        study._storage.set_trial_state_values(trial._trial_id, state=state.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False)
    return [t.number for t in stale]


def count_trials(study: Any) -> int:
    """Trials done, running or waiting; a failed trial that is being tried again counts once."""
    trials = study.get_trials(deepcopy=False)
    retries = sum(1 for t in trials if "retry_of" in t.user_attrs or "failed_trial" in t.system_attrs)
    return len(trials) - retries


# ---- one trial -----------------------------------------------------------------------------------------------------
class PruningCallback(Callback):
    """Reports the objective after every epoch to the Optuna trial and stops training when the pruner says so."""

    def __init__(self, trial: Any, monitor: str) -> None:
        self.trial, self.monitor, self.pruned = trial, monitor, False

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        value = logs.get(self.monitor)
        if value is None:
            raise KeyError(f"search.objective: {self.monitor!r} is not logged; the epoch logs {', '.join(logs)}")
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            self.pruned = True
            self.trainer.stop("pruned", "")


def _metrics(config: Any, task: str, objective: str) -> list[str]:
    metrics = list(config.train.metrics or (["accuracy"] if task == "classification" else ["mae"]))
    base = objective[4:] if objective.startswith("val_") else objective
    from ..train.metrics import canonical_metric

    if base != "loss" and canonical_metric(base) not in [canonical_metric(m) for m in metrics]:
        metrics.append(base)
    return metrics


def objective_value(search: SearchConfig, params: dict, trial: Any = None, cache: dict | None = None) -> float:
    """Train the configuration with ``params`` set and return the objective: the validation metric after
    training, or with ``search.cv = k`` the mean over k folds of train + validation data. With a ``trial``,
    per-epoch values (per fold for k-fold) feed its pruner; a pruned trial raises ``optuna.TrialPruned``."""
    from ..backend import manual_seed
    from ..train.config import build_loss, build_model, build_optimizer, build_scheduler
    from ..train.run import check_shapes, load_data

    config = apply_params(search, params)
    cache = {} if cache is None else cache
    key = json.dumps(to_dict(config)["data"], sort_keys=True, default=str) + str(config.layers[:1])
    if key not in cache:
        cache.clear()
        cache[key] = load_data(config)
    data = cache[key]
    objective = _objective_name(search, config)
    metrics = _metrics(config, data.task, objective)
    if config.seed is not None:
        manual_seed(config.seed)
    check_shapes(build_model(config), config.input_shape or data.input_shape, config)
    if search.cv:
        return _cv_value(search, config, data, objective, metrics, trial)
    if data.val is None:
        raise ConfigError(
            f"{search.source}: data.val: the objective {objective!r} needs a validation split: "
            "set data.val above 0, or search.cv = k for k-fold cross-validation"
        )
    from ..train.callbacks import EarlyStopping
    from ..train.trainer import Trainer

    if config.seed is not None:
        manual_seed(config.seed)
    model = build_model(config)
    optimizer = build_optimizer(config, model.parameters())
    callbacks: list = []
    pruning = None
    if trial is not None:
        pruning = PruningCallback(trial, objective)
        callbacks.append(pruning)
    if config.train.early_stopping is not None:
        callbacks.append(EarlyStopping(**config.train.early_stopping))
    trainer = Trainer(
        model,
        build_loss(config),
        optimizer,
        metrics=metrics,
        scheduler=build_scheduler(config, optimizer),
        scheduler_interval=config.train.scheduler_interval,
        clip_grad_norm=config.train.clip_grad_norm,
        clip_grad_value=config.train.clip_grad_value,
        callbacks=callbacks,
        verbose=0,
        device=None if config.device == "cpu" else config.device,
        interrupt_checkpoint=None,
    )
    history = trainer.fit(
        data.train,
        data.val,
        epochs=config.train.epochs,
        batch_size=config.train.batch_size,
        shuffle=config.train.shuffle,
    )
    if trial is not None:
        trial.set_user_attr("epochs", len(history))
    if pruning is not None and pruning.pruned:
        raise _optuna().TrialPruned(f"pruned after epoch {len(history)}")
    logs = {"val_" + k: v for k, v in trainer.evaluate(data.val).items()}
    if objective not in logs:
        raise KeyError(f"search.objective: {objective!r} is not a validation metric; known: {', '.join(logs)}")
    return float(logs[objective])


def _cv_value(search: SearchConfig, config: Any, data: Any, objective: str, metrics: list, trial: Any) -> float:
    import numpy  # host-side joining of the train and validation arrays

    from ..data import kfold_indices
    from ..train.config import build_loss, build_model, build_optimizer
    from ..train.crossval import cross_validate
    from ..train.run import dataset_arrays

    parts = [dataset_arrays(d) for d in (data.train, data.val) if d is not None]
    X = numpy.concatenate([p[0] for p in parts])
    y = numpy.concatenate([p[1] for p in parts])
    labels = y if data.task == "classification" and config.data.stratify else None
    folds = kfold_indices((X, y), cv=search.cv, labels=labels)
    scores = []
    for k, fold in enumerate(folds):
        result = cross_validate(
            lambda: build_model(config),
            (X, y),
            loss_fn=build_loss(config),
            optimizer_fn=lambda params: build_optimizer(config, params),
            cv=[(fold[0].indices, fold[1].indices)],
            epochs=config.train.epochs,
            batch_size=config.train.batch_size,
            metrics=metrics,
            seed=None if config.seed is None else config.seed + k,
            clip_grad_norm=config.train.clip_grad_norm,
            clip_grad_value=config.train.clip_grad_value,
        )
        if objective not in result["mean"]:
            raise KeyError(
                f"search.objective: {objective!r} is not logged by k-fold cross-validation; known: "
                f"{', '.join(result['mean'])}"
            )
        scores.append(float(result["mean"][objective]))
        if trial is not None:
            trial.report(sum(scores) / len(scores), k + 1)
            if trial.should_prune():
                raise _optuna().TrialPruned(f"pruned after fold {k + 1}")
    if trial is not None:
        trial.set_user_attr("fold_scores", scores)
    return sum(scores) / len(scores)


# ---- the search ----------------------------------------------------------------------------------------------------
@dataclass
class SearchResult:
    study: Any
    best_params: dict
    best_value: float | None
    objective: str
    direction: str
    out_dir: str
    trials: list = field(default_factory=list)
    paths: dict = field(default_factory=dict)
    best_test: dict = field(default_factory=dict)


def _plan(search: SearchConfig, trials: int | None) -> int:
    n = trials or search.trials
    if search.sampler == "grid":
        size = grid_size(search)
        n = size if n is None else min(n, size)
    if n is None:
        n = 10**9 if search.timeout else 20
    return n


def _work(
    search: SearchConfig,
    storage: str,
    study_name: str,
    direction: str,
    n_trials: int,
    deadline: float | None,
    worker: int = 0,
    bar: Any = None,
) -> None:
    """One worker: trials until the study holds ``n_trials`` (all workers together) or the time is up."""
    study = open_study(search, storage, study_name, direction, worker)
    cache: dict = {}

    def objective(trial: Any) -> float:
        params = {s.name: s.suggest(trial) for s in search.space}
        return objective_value(search, params, trial, cache)

    lock = _study_lock(storage, study_name)
    ask = study.ask

    def claim(*args: Any, **kwargs: Any) -> Any:
        # counting and creating the trial under one lock: K workers never start more than the plan's trials
        with lock:
            if count_trials(study) >= n_trials:
                raise _StudyFull
            return ask(*args, **kwargs)

    study.ask = claim  # Study.optimize asks through the instance
    try:
        while deadline is None or time.time() < deadline:
            try:
                study.optimize(objective, n_trials=1, catch=(ValueError, RuntimeError, ArithmeticError))
            except _StudyFull:
                break
            if bar is not None:
                _advance(bar, study, 0)
    finally:
        lock.close()


class _StudyFull(Exception):
    """The study already holds all planned trials."""


class _FileLock:
    """An exclusive lock on a file beside the SQLite database (processes of one machine)."""

    def __init__(self, path: str) -> None:
        self.path, self.handle = path, None

    def __enter__(self) -> None:
        import fcntl

        if self.handle is None:
            self.handle = open(self.path, "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: Any) -> None:
        import fcntl

        fcntl.flock(self.handle, fcntl.LOCK_UN)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


class _AdvisoryLock:
    """A PostgreSQL advisory lock keyed by the study's name (workers on many machines)."""

    def __init__(self, url: str, name: str) -> None:
        import zlib

        import sqlalchemy

        self.engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
        self.connection = self.engine.connect()
        self.key = zlib.crc32(f"shenjing.search:{name}".encode()) - 2**31
        self.text = sqlalchemy.text

    def __enter__(self) -> None:
        self.connection.execute(self.text("SELECT pg_advisory_lock(:k)"), {"k": self.key})

    def __exit__(self, *exc: Any) -> None:
        self.connection.execute(self.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()


class _NoLock:
    def __enter__(self) -> None: ...

    def __exit__(self, *exc: Any) -> None: ...

    def close(self) -> None: ...


def _study_lock(url: str, name: str) -> Any:
    """What keeps workers from starting more trials than planned: a file lock for SQLite, an advisory lock for
    PostgreSQL; other databases go without (K workers may then start up to K - 1 trials more than planned)."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return _FileLock(url[len("sqlite:///") :] + ".lock")
    if url.startswith(("postgresql", "postgres")):
        return _AdvisoryLock(url, name)
    return _NoLock()


def _advance(bar: Any, study: Any, before: int) -> None:
    bar.n = count_finished(study)
    best = None
    try:
        best = study.best_value
    except ValueError:
        pass
    if best is not None:
        bar.set_postfix(best=f"{best:.4g}", refresh=False)
    bar.refresh()


def count_finished(study: Any) -> int:
    state = _optuna().trial.TrialState
    trials = study.get_trials(deepcopy=False, states=(state.COMPLETE, state.PRUNED, state.FAIL))
    retried = {t.user_attrs["retry_of"] for t in study.get_trials(deepcopy=False) if "retry_of" in t.user_attrs}
    return sum(1 for t in trials if t.number not in retried)


def _worker_main(
    search: SearchConfig,
    storage: str,
    study_name: str,
    direction: str,
    n_trials: int,
    deadline: float | None,
    worker: int,
) -> None:
    _work(search, storage, study_name, direction, n_trials, deadline, worker)


def _bar(total: int, enabled: bool | None, initial: int) -> Any:
    if enabled is False:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    disable = None if enabled is None else False  # None: only on a terminal
    return tqdm(
        total=total if total < 10**9 else None,
        initial=initial,
        desc="trials",
        unit="trial",
        disable=disable,
        file=sys.stderr,
        dynamic_ncols=True,
    )


def search(
    config: Any,
    *,
    trials: int | None = None,
    workers: int = 1,
    storage: str | None = None,
    study_name: str | None = None,
    timeout: float | None = None,
    out_dir: str | None = None,
    progress: bool | None = None,
    save_best: bool = True,
    plots: bool = True,
) -> SearchResult:
    """Run (or resume) the search a ``[search]`` section describes; returns the study and the best trial.

    Args:
        config: a TOML path, a parsed document, or a :class:`SearchConfig`.
        trials: the number of trials in the study (overrides ``search.trials``; trials already in the storage
            count, so a resumed search only runs the rest).
        workers: processes on this machine sharing the study (any number of machines may join the same storage).
        storage: a database URL (default ``search.storage``, else ``sqlite:///<dir>/study.db``).
        study_name: the study's name in the storage (default ``search.study``, else the configuration's name).
        timeout: a time budget in seconds: no trial starts after it (``search.timeout``).
        out_dir: where results go (``search.dir``, else ``<output.dir>/search``).
        progress: a bar over trials (None: on a terminal).
        save_best: retrain the best configuration with ``shenjing train``'s code into ``<dir>/best/``.
        plots: optimization history, parameter importances and parallel coordinates as PNG.

    Writes ``trials.csv``, ``trials.json``, ``best.toml`` (the configuration with the best values, ready for
    ``shenjing train``), ``best/model.safetensors`` and the plots into the search folder.
    """
    optuna = _optuna()
    spec = load_search(config)
    if workers < 1:
        raise ValueError(f"workers: expected at least 1, got {workers}")
    base = _base_config(spec)
    objective = _objective_name(spec, base)
    check_objective(spec, base, objective)
    direction = _direction(spec, objective)
    out = out_dir or _out_dir(spec, base)
    os.makedirs(out, exist_ok=True)
    url = storage or spec.storage or default_storage(out)
    name = study_name or spec.study or base.name
    n_trials = _plan(spec, trials)
    budget = timeout if timeout is not None else spec.timeout
    study = open_study(spec, url, name, direction)
    if url.startswith("sqlite:"):
        recover_stale_trials(study)
    deadline = None if budget is None else time.time() + budget  # counted from the study's opening
    bar = _bar(n_trials, progress, count_finished(study))
    try:
        if workers == 1:
            _work(spec, url, name, direction, n_trials, deadline, 0, bar)
        else:
            _run_workers(spec, url, name, direction, n_trials, deadline, workers, bar, study)
    finally:
        if bar is not None:
            bar.close()
    study = optuna.load_study(study_name=name, storage=_storage(url))
    return _report(spec, study, objective, direction, out, save_best, plots)


def _run_workers(
    spec: SearchConfig,
    url: str,
    name: str,
    direction: str,
    n_trials: int,
    deadline: float | None,
    workers: int,
    bar: Any,
    study: Any,
) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker_main, args=(spec, url, name, direction, n_trials, deadline, k), daemon=False)
        for k in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        while any(p.is_alive() for p in processes):
            for p in processes:
                p.join(timeout=0.5)
            if bar is not None:
                _advance(bar, study, 0)
    except KeyboardInterrupt:
        for p in processes:
            p.terminate()
        raise
    failed = [p.exitcode for p in processes if p.exitcode]
    if failed:
        raise RuntimeError(f"search: {len(failed)} of {workers} workers failed (exit codes {failed})")


def _trial_rows(study: Any) -> list[dict]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = None
        if t.datetime_start and t.datetime_complete:
            duration = (t.datetime_complete - t.datetime_start).total_seconds()
        rows.append(
            {
                "number": t.number,
                "state": t.state.name,
                "value": t.value,
                "params": dict(t.params),
                "seconds": duration,
                "user_attrs": dict(t.user_attrs),
            }
        )
    return rows


def _report(
    spec: SearchConfig, study: Any, objective: str, direction: str, out: str, save_best: bool, plots: bool
) -> SearchResult:
    from .toml_out import dumps

    rows = _trial_rows(study)
    names = [s.name for s in spec.space]
    paths: dict = {"trials_csv": os.path.join(out, "trials.csv"), "trials_json": os.path.join(out, "trials.json")}
    with open(paths["trials_csv"], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["number", "state", objective, *names, "seconds"])
        for row in rows:
            writer.writerow(
                [
                    row["number"],
                    row["state"],
                    "" if row["value"] is None else row["value"],
                    *[row["params"].get(n, "") for n in names],
                    row["seconds"] or "",
                ]
            )
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    best_params: dict = {}
    best_value = None
    best_number = None
    if complete:
        best = study.best_trial
        best_params, best_value, best_number = dict(best.params), best.value, best.number
    with open(paths["trials_json"], "w") as f:
        json.dump(
            {
                "study": study.study_name,
                "objective": objective,
                "direction": direction,
                "sampler": spec.sampler,
                "pruner": spec.pruner,
                "cv": spec.cv,
                "best": {"number": best_number, "value": best_value, "params": best_params},
                "trials": rows,
            },
            f,
            indent=2,
            default=str,
        )
    result = SearchResult(study, best_params, best_value, objective, direction, out, rows, paths)
    if not complete:
        return result
    document = apply_params(spec, best_params, parse=False)
    document.setdefault("output", {})
    document["output"] = dict(document["output"], dir=os.path.join(out, "best"))
    header = (
        f"The best of {len(rows)} trials of study {study.study_name!r}: {objective} = {best_value:.6g} "
        f"(trial {best_number}).\n"
        + "".join(f"{k} = {v!r}\n" for k, v in best_params.items())
        + "Train it with: shenjing train best.toml"
    )
    paths["best_config"] = os.path.join(out, "best.toml")
    with open(paths["best_config"], "w") as f:
        f.write(dumps(document, header))
    if save_best:
        from ..train.run import train_from_config

        config = apply_params(spec, best_params)
        config.output.dir = os.path.join(out, "best")
        trained = train_from_config(config, verbose=0)
        paths["best_model"] = trained["paths"].get("model")
        result.best_test = trained.get("test", {})
    if plots:
        paths.update(write_search_plots(study, out))
    return result


def write_search_plots(study: Any, out: str) -> dict:
    """optimization_history.png, param_importances.png and parallel_coordinate.png (each where it applies:
    importances need two completed trials and at least two parameters that vary)."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    optuna = _optuna()
    from optuna.visualization import matplotlib as vis

    paths = {}
    plots = {
        "optimization_history": vis.plot_optimization_history,
        "param_importances": vis.plot_param_importances,
        "parallel_coordinate": vis.plot_parallel_coordinate,
    }
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    for name, plot in plots.items():
        if name != "optimization_history" and len(complete) < 2:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = plot(study)
        except (ValueError, RuntimeError, ZeroDivisionError):
            continue  # e.g. importances of a space with one parameter, or of parameters that never varied
        figure = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
        figure.set_size_inches(8, 5)
        figure.tight_layout()
        path = os.path.join(out, f"{name}.png")
        figure.savefig(path, dpi=100)
        plt.close(figure)
        paths[name] = path
    return paths
