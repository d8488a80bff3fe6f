"""pydl's functional API: every op of pydl/_ops, under its name and its aliases.

`pydl.nn.functional` is this same namespace (as PyTorch's `torch.nn.functional` holds the
layers' functions); the ops that PyTorch also has at `torch.` level are exported from
`pydl` too, and those with a Tensor method are methods of Tensor.
"""

from __future__ import annotations

from ._ops import OPS

globals().update({alias: decl.fn for decl in OPS.values() for alias in decl.names})

__all__ = sorted(alias for decl in OPS.values() for alias in decl.names)
