"""`pydl.nn.functional`: the same functions as `pydl.functional` (one functional layer)."""

from __future__ import annotations

from ..functional import *  # noqa: F403
from ..functional import __all__  # noqa: F401
