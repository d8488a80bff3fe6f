"""Optimizers (each updates all parameters of a group in one kernel call) and schedulers."""

from . import lr_scheduler, swa_utils
from .adam import LAMB, Adam, AdamW, NAdam
from .adaptive import Adadelta, Adafactor, Adagrad, Lion, RMSprop
from .lbfgs import LBFGS
from .lookahead import Lookahead
from .optimizer import Optimizer
from .sgd import SGD, Momentum

__all__ = [
    "LAMB",
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Lion",
    "Lookahead",
    "Momentum",
    "NAdam",
    "Optimizer",
    "RMSprop",
    "lr_scheduler",
    "swa_utils",
]
