"""The named tuples that ops with several results return, as torch.return_types:
`pydl.max(x, dim)` is `return_types.max(values=..., indices=...)`, a tuple (it unpacks and
indexes) whose fields are also attributes."""

from __future__ import annotations

from collections import namedtuple
from typing import Any


def _named(name: str, fields: tuple[str, ...] = ("values", "indices"), of: str = "") -> Any:
    """The named tuple `name` with `fields`, the result of the function `of` (pydl.<name>)."""
    base = namedtuple(name, fields)  # type: ignore[misc]

    def __repr__(self: Any) -> str:
        parts = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"pydl.return_types.{name}(\n{parts})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})
    cls.__doc__ = f"The ({', '.join(fields)}) of {of or 'pydl.' + name}."
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

# The linear algebra results (pydl/_ops/linalg.py, pydl.linalg), torch.return_types' names.
slogdet = _named("slogdet", ("sign", "logabsdet"))
linalg_slogdet = _named("linalg_slogdet", ("sign", "logabsdet"), "pydl.linalg.slogdet")
linalg_cholesky_ex = _named("linalg_cholesky_ex", ("L", "info"), "pydl.linalg.cholesky_ex")
linalg_inv_ex = _named("linalg_inv_ex", ("inverse", "info"), "pydl.linalg.inv_ex")
linalg_solve_ex = _named("linalg_solve_ex", ("result", "info"), "pydl.linalg.solve_ex")
linalg_qr = _named("linalg_qr", ("Q", "R"), "pydl.linalg.qr")
linalg_svd = _named("linalg_svd", ("U", "S", "Vh"), "pydl.linalg.svd")
linalg_eigh = _named("linalg_eigh", ("eigenvalues", "eigenvectors"), "pydl.linalg.eigh")

__all__ = ["aminmax", "cummax", "cummin", "kthvalue", "max", "median", "min", "mode"]
__all__ += ["nanmedian", "sort", "topk", "slogdet"]
__all__ += ["linalg_cholesky_ex", "linalg_eigh", "linalg_inv_ex", "linalg_qr"]
__all__ += ["linalg_slogdet", "linalg_solve_ex", "linalg_svd"]
