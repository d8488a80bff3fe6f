"""The named tuples that ops with several results return, as torch.return_types:
`pydl.max(x, dim)` is `return_types.max(values=..., indices=...)`, a tuple (it unpacks and
indexes) whose fields are also attributes."""

from __future__ import annotations

from collections import namedtuple
from typing import Any


def _values_indices(name: str) -> Any:
    base = namedtuple(name, ("values", "indices"))  # type: ignore[misc]

    def __repr__(self: Any) -> str:
        return f"pydl.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})
    cls.__doc__ = f"The (values, indices) of pydl.{name}(input, dim)."
    return cls


max = _values_indices("max")
min = _values_indices("min")

__all__ = ["max", "min"]
