"""The named tuples that ops with several results return, as torch.return_types:
`pydl.max(x, dim)` is `return_types.max(values=..., indices=...)`, a tuple (it unpacks and
indexes) whose fields are also attributes."""

from __future__ import annotations

from collections import namedtuple
from typing import Any


def _named(name: str, fields: tuple[str, ...] = ("values", "indices")) -> Any:
    base = namedtuple(name, fields)  # type: ignore[misc]

    def __repr__(self: Any) -> str:
        parts = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"pydl.return_types.{name}(\n{parts})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})
    cls.__doc__ = f"The ({', '.join(fields)}) of pydl.{name}."
    return cls


max = _named("max")
min = _named("min")
aminmax = _named("aminmax", ("min", "max"))
cummax = _named("cummax")
cummin = _named("cummin")
sort = _named("sort")
topk = _named("topk")
kthvalue = _named("kthvalue")
median = _named("median")
nanmedian = _named("nanmedian")
mode = _named("mode")

__all__ = ["aminmax", "cummax", "cummin", "kthvalue", "max", "median", "min", "mode"]
__all__ += ["nanmedian", "sort", "topk"]
