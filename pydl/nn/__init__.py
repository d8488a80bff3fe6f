"""Layers (PyTorch's names), initializers, and `pydl.nn.functional`."""

from . import functional, init, utils
from .conv import Conv1d, Conv2d
from .layers import (ELU, GELU, SELU, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Flatten,
                     HardSigmoid, Hardsigmoid, HardTanh, Hardtanh, Identity, KLDivLoss,
                     LeakyReLU, Linear, LogSoftmax, Maxout, Mish, MSELoss, NLLLoss, PReLU,
                     ReLU, Sigmoid, SiLU, Softmax, Softplus, Softsign, Swish, Tanh)
from .module import Module, ModuleList, Parameter, Sequential
from .norm import (BatchNorm1d, BatchNorm2d, Dropout, Dropout2d, GroupNorm, InstanceNorm2d,
                   LayerNorm)
from .pool import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "Linear", "Flatten", "Identity",
    "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm2d", "Dropout",
    "Dropout2d",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU", "Swish",
    "Mish", "Softplus", "Softsign", "HardSigmoid", "Hardsigmoid", "Hardtanh", "HardTanh",
    "Softmax", "LogSoftmax", "Maxout", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss", "KLDivLoss", "functional", "init", "utils",
]
