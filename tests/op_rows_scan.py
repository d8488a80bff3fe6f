"""Op-table rows of the scan family (see op_table.py)."""

import pydl
from op_table import _u, row

row("cumsum_last", lambda x: pydl.cumsum(x, -1), [_u((5, 9))])
row("cumsum_dim0", lambda x: pydl.cumsum(x, 0), [_u((6, 4, 3))])
row("cumprod_last", lambda x: pydl.cumprod(x, 1), [_u((4, 7), 0.5, 1.5)])
row("cumprod_dim0", lambda x: x.cumprod(0), [_u((5, 3))])
row("cummax_values", lambda x: pydl.cummax(x, -1).values, [_u((4, 9))])
row("cummin_values_dim0", lambda x: pydl.cummin(x, 0)[0], [_u((6, 5))])
row("logcumsumexp_last", lambda x: pydl.logcumsumexp(x, -1), [_u((4, 9), -4, 4)])
row("logcumsumexp_dim1", lambda x: x.logcumsumexp(1), [_u((3, 6, 2), -4, 4)])
