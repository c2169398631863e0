"""``shenjing.optim``: optimizers and learning-rate schedulers (an index only)."""

from . import lr_scheduler, swa_utils
from .adadelta import Adadelta, adadelta_update
from .adafactor import Adafactor, adafactor_update
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, AdamW, adam_update
from .adamax import Adamax, adamax_update
from .asgd import ASGD, asgd_update
from .lbfgs import LBFGS
from .nadam import NAdam, nadam_update
from .optimizer import Optimizer
from .radam import RAdam, radam_update
from .rmsprop import RMSprop, rmsprop_update
from .rprop import Rprop, rprop_update
from .sgd import SGD, sgd_update

__all__ = [
    "ASGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "LBFGS",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "Rprop",
    "SGD",
    "adadelta_update",
    "adafactor_update",
    "adagrad_update",
    "adam_update",
    "adamax_update",
    "asgd_update",
    "lr_scheduler",
    "swa_utils",
    "nadam_update",
    "radam_update",
    "rmsprop_update",
    "rprop_update",
    "sgd_update",
]
