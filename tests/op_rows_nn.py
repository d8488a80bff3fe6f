"""Op-table rows of issue 17's layer ops (see op_table.py): compositions of existing
kernels (conv3d, 3-d and adaptive pooling, unpooling, fold/unfold, pixel shuffle,
rms/local response norm, embedding_bag, bilinear), checked like the kernels' rows."""

import numpy as np
from op_table import _u, row

import pydl.nn.functional as NF


def unpool_indices(shape, k=2):
    """Valid max_unpool2d indices for pooled `shape`: one place inside each k x k window
    of the (h k, w k) plane."""
    n, c, h, w = shape
    pick = np.random.default_rng(5).integers(0, k, size=(2, n, c, h, w))
    rows = np.arange(h)[:, None] * k + pick[0]
    cols = np.arange(w)[None, :] * k + pick[1]
    return rows * (w * k) + cols


def bags(w, **kwargs):
    """embedding_bag of 1-D bag indices into w (an empty bag among them)."""
    idx = (np.arange(11) * 7 + 3) % w.shape[0]
    return NF.embedding_bag(idx, w, np.array([0, 4, 4, 9]), **kwargs)


row(
    "conv3d",
    lambda x, w, b: NF.conv3d(x, w, b, stride=(2, 1, 1), padding=1, dilation=(1, 1, 2), groups=2),
    [_u((2, 4, 5, 4, 5)), _u((6, 2, 3, 2, 2)), _u((6,))],
)
row(
    "conv3d_same",
    lambda x, w: NF.conv3d(x, w, padding="same"),
    [_u((1, 2, 4, 3, 4)), _u((3, 2, 2, 3, 2))],
)
row(
    "max_pool3d",
    lambda x: NF.max_pool3d(x, 3, stride=2, padding=1, ceil_mode=True),
    [_u((2, 2, 5, 6, 5))],
)
row(
    "avg_pool3d",
    lambda x: NF.avg_pool3d(
        x, (2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0), count_include_pad=False
    ),
    [_u((2, 2, 4, 5, 6))],
)
row(
    "avg_pool2d_divisor",
    lambda x: NF.avg_pool2d(x, 3, 2, 1, divisor_override=5),
    [_u((2, 3, 7, 6))],
)
row(
    "adaptive_max_pool2d",
    lambda x: NF.adaptive_max_pool2d(x, (3, 4)),
    [_u((2, 3, 7, 6))],
    skips={"threads_backward": "the gather's backward is the index kernel's scatter-add"},
)
row("adaptive_avg_pool1d", lambda x: NF.adaptive_avg_pool1d(x, 4), [_u((2, 3, 9))])
row(
    "max_unpool2d",
    lambda x: NF.max_unpool2d(x, unpool_indices(x.shape), 2),
    [_u((2, 3, 3, 4))],
    skips={"threads": "index_put: a NumPy assignment and gather, no kernel"},
)
row(
    "unfold",
    lambda x: NF.unfold(x, (3, 2), dilation=(1, 2), padding=1, stride=(2, 1)),
    [_u((2, 3, 7, 6))],
)
row("fold", lambda x: NF.fold(x, (5, 6), 2, stride=(1, 2)), [_u((2, 12, 12))])
_VIEWS = {"threads": "reshape and permute: no kernel"}
row("pixel_shuffle", lambda x: NF.pixel_shuffle(x, 2), [_u((2, 8, 3, 4))], skips=_VIEWS)
row("pixel_unshuffle", lambda x: NF.pixel_unshuffle(x, 2), [_u((2, 3, 4, 6))], skips=_VIEWS)
row("rms_norm", lambda x, w: NF.rms_norm(x, (3, 4), w, eps=1e-5), [_u((5, 3, 4)), _u((3, 4))])
row("local_response_norm", lambda x: NF.local_response_norm(x, 3, alpha=0.5), [_u((2, 5, 3, 4))])
# the embedding kernels run on one thread (a lookup, and a scatter-add of rows)
_BAG = {"threads": "embedding's gather and scatter-add run on one thread"}
row(
    "embedding_bag_sum",
    lambda w: bags(w, mode="sum"),
    [_u((10, 3))],
    skips=_BAG,
)
row(
    "embedding_bag_mean_padding",
    lambda w: bags(w, mode="mean", padding_idx=3),
    [_u((10, 3))],
    skips=_BAG,
)
row(
    "embedding_bag_max",
    lambda w: bags(w, mode="max"),
    [_u((10, 3))],
    skips=_BAG,
)
row(
    "bilinear",
    lambda x1, x2, w, b: NF.bilinear(x1, x2, w, b),
    [_u((4, 3)), _u((4, 5)), _u((2, 3, 5)), _u((2,))],
)

# interpolate's nearest-exact (upsample_nearest2d's exact rule), 2-D and 1-D, up and down
row(
    "upsample_nearest_exact",
    lambda x: NF.interpolate(x, scale_factor=(1.5, 0.7), mode="nearest-exact"),
    [_u((2, 3, 5, 7))],
)
row(
    "upsample_nearest_exact_1d",
    lambda x: NF.interpolate(x, size=11, mode="nearest-exact"),
    [_u((2, 3, 4))],
)
# interpolate's bicubic (a composition of gathers), both corner conventions
row(
    "upsample_bicubic",
    lambda x: NF.interpolate(x, scale_factor=(1.5, 0.7), mode="bicubic"),
    [_u((2, 3, 5, 7))],
)
row(
    "upsample_bicubic_align",
    lambda x: NF.interpolate(x, size=(4, 9), mode="bicubic", align_corners=True),
    [_u((1, 2, 3, 5))],
)
# trilinear: two bilinear kernel calls
row(
    "upsample_trilinear",
    lambda x: NF.interpolate(x, scale_factor=(1.5, 0.7, 2), mode="trilinear"),
    [_u((1, 2, 3, 5, 2))],
)
row(
    "upsample_trilinear_align",
    lambda x: NF.interpolate(x, size=(4, 2, 3), mode="trilinear", align_corners=True),
    [_u((1, 2, 3, 3, 2))],
)
