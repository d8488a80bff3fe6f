"""Op-table rows of the linalg family (see op_table.py)."""

from op_table import _u, row  # noqa: F401
