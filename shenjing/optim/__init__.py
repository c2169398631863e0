"""``shenjing.optim``: optimizers and learning-rate schedulers (an index only)."""

from . import lr_scheduler
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, AdamW, adam_update
from .optimizer import Optimizer
from .rmsprop import RMSprop, rmsprop_update
from .sgd import SGD, sgd_update

__all__ = [
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "SGD",
    "adagrad_update",
    "adam_update",
    "lr_scheduler",
    "rmsprop_update",
    "sgd_update",
]
