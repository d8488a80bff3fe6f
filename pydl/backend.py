"""Which kernel backend is active: ``"core"`` (C++) or ``"reference"`` (NumPy).

Both backends expose the same functions with the same signatures (``<op>_forward``,
``<op>_backward``, optimizer steps, random fills); the autograd engine calls whichever
is active, so the same model code runs on both. The initial choice comes from the
environment variable ``PYDL_BACKEND`` (default ``"core"``).
"""

from __future__ import annotations

import os
from types import ModuleType

from . import _core, reference

_BACKENDS: dict[str, ModuleType] = {"core": _core, "reference": reference}

#: The active backend module. Read as ``backend.active`` on every op (one lookup).
active: ModuleType = _core
_active_name = "core"


def set_backend(name: str) -> None:
    """Select the kernel backend: ``"core"`` (C++) or ``"reference"`` (NumPy).

    Process-wide, for every Python thread: each op reads ``backend.active`` on every call,
    and a module attribute is the cheapest read there (a thread-local one would be paid by
    every op of every step, for a switch meant for tests and debugging).
    """
    global active, _active_name
    if name not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {sorted(_BACKENDS)}")
    active, _active_name = _BACKENDS[name], name


def get_backend() -> str:
    """The name of the active backend."""
    return _active_name


set_backend(os.environ.get("PYDL_BACKEND", "core"))
