"""Op-table rows of the pointwise family (see op_table.py)."""

from op_table import _u, row  # noqa: F401
