"""Op-table rows of the sort family (see op_table.py). Random continuous inputs have no ties,
so the selected elements (and their gradients) are well defined."""

import pydl
from op_table import _u, row

ONE_ROW = {"threads": "one row (all elements): one sort, one thread"}

row("sort_values", lambda x: pydl.sort(x).values, [_u((5, 9))])
row("sort_descending_dim0", lambda x: pydl.sort(x, 0, descending=True)[0], [_u((7, 4))])
row("msort", lambda x: pydl.msort(x), [_u((6, 3))])
row("topk", lambda x: pydl.topk(x, 3).values, [_u((5, 8))])
row("topk_smallest_dim0", lambda x: x.topk(2, dim=0, largest=False)[0], [_u((6, 4, 3))])
row("kthvalue", lambda x: pydl.kthvalue(x, 3, 1).values, [_u((4, 7))])
row("kthvalue_keepdim", lambda x: x.kthvalue(2, 0, keepdim=True)[0], [_u((5, 3))])
row("median_dim", lambda x: pydl.median(x, -1).values, [_u((4, 6))])
row("median_all", lambda x: pydl.median(x), [_u((5, 5))], skips=ONE_ROW)
row("nanmedian_dim", lambda x: pydl.nanmedian(x, 1, keepdim=True).values, [_u((4, 7))])
row("mode", lambda x: pydl.mode(x, -1).values, [_u((4, 6))])
row("quantile", lambda x: pydl.quantile(x, 0.3, dim=1), [_u((4, 7))])
row("nanquantile_qs", lambda x: x.nanquantile(pydl.tensor([0.2, 0.9]), dim=0), [_u((6, 3))])
