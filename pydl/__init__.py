"""pydl: a CPU deep-learning runtime. C++17 kernels under a PyTorch-like API.

Every kernel has a NumPy twin in `pydl.reference`; `pydl.set_backend` picks which one runs.
"""

from __future__ import annotations

from . import _pure_python

if _pure_python.requested():
    _pure_python.install()

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
from ._device import device
from ._dtypes import (
    bool,
    double,
    float,
    float32,
    float64,
    int,
    int8,
    int16,
    int32,
    channels_last,
    channels_last_3d,
    contiguous_format,
    int64,
    long,
    memory_format,
    preserve_format,
    promote_types,
    result_type,
    short,
    uint8,
)
from ._factories import (
    arange,
    bernoulli,
    eye,
    logspace,
    multinomial,
    normal,
    randint,
    randint_like,
    randperm,
    tril_indices,
    triu_indices,
    as_tensor,
    from_dlpack,
    from_numpy,
    empty,
    empty_like,
    full,
    full_like,
    get_default_dtype,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    zeros,
    zeros_like,
)
from ._random import get_rng_state, initial_seed, manual_seed, set_rng_state
from .serialization import load, save
from ._runtime import empty_cache, get_num_threads, set_num_threads, threads
from ._runtime import _register_with_threadpoolctl
from .backend import get_backend, set_backend
from .amp import autocast, get_autocast_dtype, is_autocast_enabled
from ._capture import CaptureError, compile  # noqa: A004 - torch.compile's name
from ._ops import OPS as _OPS
from .tensor import (
    Tensor,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
    tensor,
)

_tensor_methods.install()
# The ops PyTorch also has at torch. level (declared `toplevel` in pydl/_ops).
_TOPLEVEL_OPS = {name: d.fn for d in _OPS.values() if d.toplevel for name in d.names}
globals().update(_TOPLEVEL_OPS)

# Imported after the Tensor methods are installed: they use them at import time.
from . import (  # noqa: E402
    autograd,
    backends,
    cuda,
    data,
    distributed,
    linalg,
    models,
    nn,
    onnx,
    optim,
    return_types,
    utils,
)

_register_with_threadpoolctl()
__version__ = _core.build_info()["version"]


def build_info() -> dict:
    """Version, compiler, SIMD level detected at run time, thread count, how idle kernel
    threads wait (`wait_policy`: Note [Wait policy]), and which engine runs: `engine` is
    "cython" when the hot path is the compiled one, "python" otherwise (PYDL_PURE_PYTHON=1,
    or built without Cython), with the compiled modules imported so far in `cython_modules`
    (`import pydl` imports them all)."""
    import sys
    from importlib.machinery import EXTENSION_SUFFIXES

    compiled = sorted(
        name
        for name, module in list(sys.modules.items())
        if name.startswith("pydl.")
        and not name.startswith("pydl._core")
        and str(getattr(module, "__file__", "")).endswith(tuple(EXTENSION_SUFFIXES))
    )
    info = dict(_core.build_info())
    info["engine"] = "cython" if "pydl.tensor" in compiled else "python"
    info["cython_modules"] = compiled
    return info


def __getattr__(name: str) -> object:
    """pydl.bfloat16, imported on first use (_dtypes.__getattr__ says why)."""
    if name == "bfloat16":
        from . import _dtypes

        return _dtypes.bfloat16
    raise AttributeError(f"module 'pydl' has no attribute {name!r}")


__all__ = [
    "CaptureError",
    "compile",
    "Tensor",
    "autocast",
    "bfloat16",
    "get_autocast_dtype",
    "is_autocast_enabled",
    "bernoulli",
    "eye",
    "logspace",
    "multinomial",
    "normal",
    "randint",
    "randint_like",
    "randperm",
    "tril_indices",
    "triu_indices",
    "arange",
    "as_tensor",
    "from_dlpack",
    "from_numpy",
    "autograd",
    "backends",
    "bool",
    "build_info",
    "cuda",
    "data",
    "distributed",
    "device",
    "double",
    "empty",
    "empty_cache",
    "empty_like",
    "enable_grad",
    "float",
    "float32",
    "float64",
    "full",
    "full_like",
    "get_backend",
    "get_default_dtype",
    "get_num_threads",
    "get_rng_state",
    "inference_mode",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "is_grad_enabled",
    "linalg",
    "linspace",
    "load",
    "long",
    "memory_format",
    "preserve_format",
    "contiguous_format",
    "channels_last",
    "channels_last_3d",
    "initial_seed",
    "manual_seed",
    "models",
    "nn",
    "no_grad",
    "onnx",
    "ones",
    "ones_like",
    "optim",
    "promote_types",
    "rand",
    "rand_like",
    "randn",
    "save",
    "randn_like",
    "result_type",
    "return_types",
    "set_backend",
    "set_grad_enabled",
    "set_num_threads",
    "set_rng_state",
    "short",
    "tensor",
    "threads",
    "uint8",
    "utils",
    "zeros",
    "zeros_like",
]
__all__ += sorted(_TOPLEVEL_OPS)
