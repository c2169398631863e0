"""``shenjing.train``: the training loop (Trainer, fit), callbacks, metrics and plots (an index only)."""

from . import callbacks, metrics
from .callbacks import Callback, CSVLogger, EarlyStopping, JSONLogger, LRSchedulerCallback, ModelCheckpoint, ProgressBar
from .crossval import cross_validate
from .summary import count_parameters, summary
from .trainer import History, Trainer, fit, predict

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "History",
    "JSONLogger",
    "LRSchedulerCallback",
    "ModelCheckpoint",
    "ProgressBar",
    "Trainer",
    "callbacks",
    "count_parameters",
    "cross_validate",
    "fit",
    "metrics",
    "predict",
    "summary",
]
