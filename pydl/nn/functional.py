"""`pydl.nn.functional`: the same functions as `pydl.functional` (one functional layer),
except where PyTorch's two namespaces give one name two meanings (`OVERRIDES`): `unfold`
here is torch.nn.functional.unfold (im2col, declared as the op `im2col`), while
`pydl.functional.unfold` and `Tensor.unfold` are the sliding windows of one dim."""

from __future__ import annotations

from .._ops.conv import im2col
from ..functional import *  # noqa: F403
from ..functional import __all__  # noqa: F401

#: Names whose pydl.nn.functional meaning is not pydl.functional's, as in PyTorch.
OVERRIDES = {"unfold": im2col}
globals().update(OVERRIDES)
