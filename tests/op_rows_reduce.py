"""Op-table rows of the reduce family's row kernels: var, prod, logsumexp, norm (see
op_table.py; the other reductions' rows are there)."""

import pydl
import pydl.functional as F
from op_table import _u, row

# A reduction of everything (or over the leading dims) is one row (Note [Row kernels]): one
# thread by design.
ONE_ROW = {"threads": "one row (all elements, or the leading dims): one fixed order, one thread"}

row("var_last", lambda x: pydl.var(x, -1), [_u((6, 9))])
row("var_dims_keepdim", lambda x: pydl.var(x, (0, 2), keepdim=True), [_u((3, 4, 5))])
row("var_all_unbiased_false", lambda x: pydl.var(x, unbiased=False), [_u((4, 5))], skips=ONE_ROW)
row("std_dim0_correction0", lambda x: pydl.std(x, 0, correction=0), [_u((5, 6))])
row("var_mean", lambda x: sum(pydl.var_mean(x, 1, correction=2)), [_u((4, 7))])
row("std_mean", lambda x: sum(pydl.std_mean(x, -1, keepdim=True)), [_u((4, 7))])
row("prod_last", lambda x: pydl.prod(x, -1), [_u((5, 6), 0.5, 1.5)])
row("prod_dim0_keepdim", lambda x: pydl.prod(x, 0, keepdim=True), [_u((4, 3, 2))])
row("prod_all", lambda x: pydl.prod(x), [_u((3, 4), 0.5, 1.5)], skips=ONE_ROW)
row("logsumexp_last", lambda x: pydl.logsumexp(x, -1), [_u((5, 8), -4, 4)])
row("logsumexp_dims", lambda x: pydl.logsumexp(x, (0, 2), keepdim=True), [_u((3, 4, 5))])
for name, p in (
    ("2", 2),
    ("1", 1),
    ("3", 3.0),
    ("inf", float("inf")),
    ("neginf", -float("inf")),
    ("0", 0),
):
    row(f"norm_p{name}", lambda x, p=p: pydl.norm(x, p, dim=-1), [_u((5, 7))])
row("norm_fro_all", lambda x: pydl.norm(x), [_u((4, 6))], skips=ONE_ROW)
row("norm_half", lambda x: pydl.norm(x, 0.5, dim=1, keepdim=True), [_u((4, 6), 0.5, 2)])
row("vector_norm_dims", lambda x: F.vector_norm(x, 2, dim=(0, 2)), [_u((3, 4, 5))])
