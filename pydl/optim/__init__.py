"""Optimizers (each updates all parameters of a group in one kernel call) and schedulers."""

from . import lr_scheduler
from .adam import LAMB, Adam, AdamW, NAdam
from .adaptive import Adadelta, Adafactor, Adagrad, Lion, RMSprop
from .lookahead import Lookahead
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "NAdam", "LAMB", "Adagrad", "RMSprop",
           "Adadelta", "Adafactor", "Lion", "Lookahead", "lr_scheduler"]
