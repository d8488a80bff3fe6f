"""pydl: a CPU deep-learning runtime. C++17/OpenMP kernels under a PyTorch-like API.

Every kernel has a NumPy twin in `pydl.reference`; `pydl.set_backend` picks which one runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from . import _core
except ImportError:  # exercised in a subprocess by tests/test_cli.py
    import os as _os

    if any(name.startswith("_core.") for name in _os.listdir(_os.path.dirname(__file__))):
        raise  # the core is there but does not load: its own error says why
    raise ImportError(
        f"pydl's compiled core (pydl._core) is missing from {_os.path.dirname(__file__)}. "
        "This is usually pydl's source tree shadowing the installed package, because Python "
        "was started in the repository root (`python -m pydl` or `python -m pytest` there). "
        "Run the installed command `pydl train` instead, start Python from another folder, "
        "or build in place with an editable install: "
        "pip install --no-build-isolation -e .  (see README, Developing)"
    ) from None  # Python's own message here blames a circular import, which misleads

from . import _tensor_methods
from ._random import manual_seed
from ._runtime import empty_cache, get_num_threads, set_num_threads, threads
from .backend import get_backend, set_backend
from ._ops import OPS as _OPS
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad, tensor

_tensor_methods.install()
# The ops PyTorch also has at torch. level (declared `toplevel` in pydl/_ops).
_TOPLEVEL_OPS = {name: d.fn for d in _OPS.values() if d.toplevel for name in d.names}
globals().update(_TOPLEVEL_OPS)

# Imported after the Tensor methods are installed: they use them at import time.
from . import data, models, nn, optim  # noqa: E402

__version__ = _core.build_info()["version"]
# dtypes under PyTorch's names (NumPy's scalar types, which pydl's storage uses).
float32 = float = np.float32
float64 = double = np.float64
int64 = long = np.int64
int32 = int = np.int32
uint8 = np.uint8
bool = np.bool_


def build_info() -> dict:
    """Version, compiler, OpenMP on/off, SIMD level detected at run time, thread count."""
    return dict(_core.build_info())


def zeros(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def randn(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Standard normal draws from pydl's seeded generator."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    t = zeros(shape, dtype=dtype)
    nn.init.normal_(t)
    return t.requires_grad_(requires_grad) if requires_grad else t


def rand(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """U[0, 1) draws from pydl's seeded generator."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    t = zeros(shape, dtype=dtype)
    nn.init.uniform_(t)
    return t.requires_grad_(requires_grad) if requires_grad else t


__all__ = [
    "Tensor",
    "build_info",
    "data",
    "empty_cache",
    "enable_grad",
    "bool",
    "double",
    "float",
    "float32",
    "float64",
    "get_backend",
    "get_num_threads",
    "int",
    "int32",
    "int64",
    "long",
    "is_grad_enabled",
    "manual_seed",
    "models",
    "nn",
    "no_grad",
    "ones",
    "optim",
    "rand",
    "randn",
    "set_backend",
    "set_num_threads",
    "tensor",
    "uint8",
    "threads",
    "zeros",
]
__all__ += sorted(_TOPLEVEL_OPS)
