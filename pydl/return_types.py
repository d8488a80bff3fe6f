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


# The linear algebra results (pydl/_ops/linalg.py, pydl.linalg), torch.return_types' names.
def _named(name: str, fields: tuple[str, ...], doc: str) -> Any:
    base = namedtuple(name, fields)  # type: ignore[misc]

    def __repr__(self: Any) -> str:
        parts = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"pydl.return_types.{name}(\n{parts})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})
    cls.__doc__ = doc
    return cls


slogdet = _named("slogdet", ("sign", "logabsdet"), "The (sign, logabsdet) of pydl.slogdet(A).")
linalg_slogdet = _named(
    "linalg_slogdet", ("sign", "logabsdet"), "The (sign, logabsdet) of pydl.linalg.slogdet(A)."
)
linalg_cholesky_ex = _named(
    "linalg_cholesky_ex", ("L", "info"), "The (L, info) of pydl.linalg.cholesky_ex(A)."
)
linalg_inv_ex = _named(
    "linalg_inv_ex", ("inverse", "info"), "The (inverse, info) of pydl.linalg.inv_ex(A)."
)
linalg_solve_ex = _named(
    "linalg_solve_ex", ("result", "info"), "The (result, info) of pydl.linalg.solve_ex(A, B)."
)
linalg_qr = _named("linalg_qr", ("Q", "R"), "The (Q, R) of pydl.linalg.qr(A).")
linalg_svd = _named("linalg_svd", ("U", "S", "Vh"), "The (U, S, Vh) of pydl.linalg.svd(A).")
linalg_eigh = _named(
    "linalg_eigh",
    ("eigenvalues", "eigenvectors"),
    "The (eigenvalues, eigenvectors) of pydl.linalg.eigh(A).",
)
__all__ += [
    "linalg_cholesky_ex",
    "linalg_eigh",
    "linalg_inv_ex",
    "linalg_qr",
    "linalg_slogdet",
    "linalg_solve_ex",
    "linalg_svd",
    "slogdet",
]
