"""Op-table rows of the indexing family and of the layout ops composed from its kernels
(see op_table.py). Indices and masks are functions of the input shapes, so that the grown
threaded samples get matching ones."""

import math

import numpy as np
import pydl
import pydl.nn.functional as NF
from op_table import _u, mask, row


def idx(shape, size):
    """An int64 index tensor of `shape` with values in [0, size), repeats included."""
    flat = (np.arange(math.prod(shape)) * 7 + 3) % max(size, 1)
    return pydl.tensor(flat.reshape(shape))


def distinct(shape, dim, size):
    """An index of `shape` whose entries along dim are distinct (for each position of the
    other dims): no two writes to one place, so that a plain write has a gradient finite
    differences can see."""
    pos = np.indices(shape)
    other = sum(p * (k + 2) for k, p in enumerate(pos) if k != dim)
    return pydl.tensor((pos[dim] + other) % size)


def vector(n, size):
    return pydl.tensor((np.arange(n) * 5 + 1) % max(size, 1))


# One task along the outer dim when the dims after it fit one block: serial by design
# (Note [Scatter determinism]); so is a scatter into a flat vector (index_put,
# masked_scatter, diag_embed write into the flattened tensor).
OUTER_SCATTER = {"threads_backward": "scatters along the outer dim: one task owns every place"}
FLAT_SCATTER = {"threads": "a scatter into a flat vector: one task owns every place"}

# gather: index smaller than the input outside dim, the last dim, a middle dim
row("gather_dim1", lambda x: pydl.gather(x, 1, idx((x.shape[0], 5), 6)), [_u((4, 6))])
row(
    "gather_dim0_smaller_index",
    lambda x: x.gather(0, idx((max(x.shape[0] - 2, 0), 4, 2), x.shape[0])),
    [_u((5, 4, 3))],
    skips=OUTER_SCATTER,
)
row(
    "gather_dim_neg2",
    lambda x: pydl.gather(x, -2, idx((x.shape[0], 6, 3), 4)),
    [_u((3, 4, 5))],
)
row("take_along_dim", lambda x: pydl.take_along_dim(x, idx((1, 3), 5), 1), [_u((4, 5))])

# scatter and its reductions; repeated indices where the reduction combines them
row(
    "scatter_src",
    lambda x, s: pydl.scatter(x, 1, distinct((x.shape[0], 4), 1, 6), s),
    [_u((4, 6)), _u((4, 5))],
)
row(
    "scatter_value",
    lambda x: x.scatter(1, distinct((x.shape[0], 3), 1, 6), value=0.5),
    [_u((4, 6))],
)
row(
    "scatter_add", lambda x, s: pydl.scatter_add(x, 1, idx(s.shape, 6), s), [_u((4, 6)), _u((4, 9))]
)
row(
    "scatter_add_dim0",
    lambda x, s: x.scatter_add(0, idx(s.shape, x.shape[0]), s),
    [_u((3, 5)), _u((7, 5))],
    threaded=[_u((3, 600)), _u((70, 600))],
)
for reduce in ("sum", "prod", "mean", "amax", "amin"):
    for include_self in (True, False):
        row(
            f"scatter_reduce_{reduce}{'' if include_self else '_exclude_self'}",
            lambda x, s, r=reduce, i=include_self: pydl.scatter_reduce(
                x, 1, idx(s.shape, 6), s, r, include_self=i
            ),
            [_u((4, 6), 0.5, 2) if reduce == "prod" else _u((4, 6)), _u((4, 9), 0.5, 2)],
        )
row("scatter_multiply", lambda x, s: x.scatter(1, idx(s.shape, 6), s, reduce="multiply"),
    [_u((4, 6)), _u((4, 3), 0.5, 2)])  # fmt: skip

# a 1-d index along a dim
row("index_select", lambda x: pydl.index_select(x, 1, vector(7, 5)), [_u((4, 5, 3))])
row(
    "index_select_dim0",
    lambda x: x.index_select(0, vector(2 * x.shape[0], x.shape[0])),
    [_u((4, 300))],
    threaded=[_u((64, 600))],
)
row(
    "index_add",
    lambda x, s: pydl.index_add(x, 1, vector(s.shape[1], 5), s, alpha=-1.5),
    [_u((4, 5, 3)), _u((4, 7, 3))],
)
row(
    "index_copy",
    lambda x, s: x.index_copy(-1, pydl.tensor([4, 0, 2]), s),
    [_u((4, 6, 5)), _u((4, 6, 3))],
)
row("index_fill", lambda x: x.index_fill(1, pydl.tensor([1, 3]), -2.0), [_u((5, 4))])
row(
    "index_put_accumulate",
    lambda x, v: x.index_put((idx((9,), x.shape[0]), pydl.tensor([1] * 9)), v, accumulate=True),
    [_u((4, 3)), _u((9,))],
    skips=FLAT_SCATTER,
)
row(
    "index_put",
    lambda x, v: pydl.index_put(x, (pydl.tensor([2, 0]),), v),
    [_u((4, 3)), _u((3,))],
    skips=FLAT_SCATTER,
)
row("masked_fill", lambda x: x.masked_fill(mask(x.shape), 0.25), [_u((4, 5))])
row("masked_select", lambda x: x.masked_select(mask(x.shape[-1:])), [_u((4, 5))],
    skips={"threads_backward": "the index kernels' serial scatter-add"})  # fmt: skip
row(
    "masked_scatter",
    lambda x, s: x.masked_scatter(mask(x.shape), s),
    [_u((4, 5)), _u((25,))],
    threaded=[_u((4000, 50)), _u((200000,))],
    skips=FLAT_SCATTER,
)
row("take", lambda x: pydl.take(x, idx((x.shape[0], 4), x.numel()) - 2), [_u((4, 5))],
    skips={"threads_backward": "an index_add into a flat vector: one task"})  # fmt: skip

# layout ops composed from the index kernels (and views)
VIEW = {"threads": "a view (Note [Views]): no kernel runs"}
for mode in ("constant", "reflect", "replicate", "circular"):
    row(f"pad_{mode}", lambda x, m=mode: NF.pad(x, (2, 1, -1, 2), mode=m), [_u((2, 3, 4, 5))],
        skips={"threads": "a small sample; index_select threads its rows"})  # fmt: skip
row("flip", lambda x: pydl.flip(x, (0, -1)), [_u((3, 4, 5))],
    skips={"threads_backward": "a reversed view's backward: a NumPy assignment"})  # fmt: skip
row("roll", lambda x: x.roll((1, -2), (0, 2)), [_u((3, 4, 5))])
row("repeat", lambda x: x.repeat(2, 1, 3), [_u((3, 4))],
    skips={"threads_backward": "sums the copies with NumPy (expand's backward)"})  # fmt: skip
row("repeat_interleave", lambda x: x.repeat_interleave(pydl.tensor([2, 0, 1, 3]), dim=1),
    [_u((3, 4))])  # fmt: skip
row("diagonal", lambda x: pydl.diagonal(x, 1, 0, 2), [_u((4, 3, 5))], skips=VIEW)
row("diag_embed", lambda x: pydl.diag_embed(x, -1), [_u((3, 4))],
    skips=FLAT_SCATTER)  # fmt: skip
row("tril", lambda x: pydl.tril(x, -1), [_u((2, 4, 5))])
row("triu", lambda x: x.triu(1), [_u((4, 5))])
row("unfold_windows", lambda x: x.unfold(1, 3, 2), [_u((3, 8))], skips=VIEW)
row("split", lambda x: pydl.split(x, [1, 3], 1)[1], [_u((3, 4))], skips=VIEW)
row("movedim", lambda x: pydl.movedim(x, 0, -1), [_u((2, 3, 4))], skips=VIEW)
