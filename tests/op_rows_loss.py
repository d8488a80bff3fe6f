"""Op-table rows of the loss family, and of cross_entropy / nll_loss's options and
scaled_dot_product_attention's grouped-query heads (see op_table.py). Targets, weights and
lengths are functions of the input shapes, so that the grown and zero-size samples get
matching ones."""

import numpy as np
from op_table import _u, labels, probs, row

import pydl.nn.functional as NF


def class_weights(c):
    return np.linspace(0.5, 2.0, c)


def signs(shape):
    """+1 / -1 targets (the margin losses' labels)."""
    n = int(np.prod(shape))
    return np.where(labels(n, 2) == 1, 1.0, -1.0).reshape(shape)


def some_ignored(n, classes):
    t = labels(n, classes)
    return np.where(np.arange(n) % 4 == 2, -100, t)


# cross_entropy / nll_loss: class weights, ignore_index, label smoothing, K dims, probabilities
row(
    "cross_entropy_weight_ignore",
    lambda x: NF.cross_entropy(x, some_ignored(*x.shape), weight=class_weights(x.shape[1])),
    [_u((7, 5), -5, 5)],
)
row(
    "cross_entropy_smoothing",
    lambda x: NF.cross_entropy(x, some_ignored(*x.shape), label_smoothing=0.2, reduction="sum"),
    [_u((7, 5), -5, 5)],
)
row(
    "cross_entropy_smoothing_weight",
    lambda x: NF.cross_entropy(
        x, labels(*x.shape), weight=class_weights(x.shape[1]), label_smoothing=0.3
    ),
    [_u((6, 4), -5, 5)],
)
row(
    "cross_entropy_kdim_none",
    lambda x: NF.cross_entropy(
        x,
        labels(x.shape[0] * 6, x.shape[1]).reshape(x.shape[0], 3, 2),
        weight=class_weights(x.shape[1]),
        label_smoothing=0.1,
        reduction="none",
    ),
    [_u((2, 4, 3, 2), -5, 5)],
)
row(
    "cross_entropy_probs_weight_smoothing",
    lambda x: NF.cross_entropy(
        x, probs(*x.shape), weight=class_weights(x.shape[1]), label_smoothing=0.25
    ),
    [_u((7, 5), -5, 5)],
)
row(
    "cross_entropy_probs_target_grad",
    lambda x, t: NF.cross_entropy(x, t, weight=class_weights(x.shape[1]), label_smoothing=0.1),
    [_u((2, 3, 4), -3, 3), _u((2, 3, 4), 0, 1)],
    skips={"threads": "composed of other ops' kernels (a target that requires grad)"},
)
row(
    "nll_loss_weight_ignore",
    lambda x: NF.nll_loss(
        NF.log_softmax(x, 1), some_ignored(*x.shape), weight=class_weights(x.shape[1])
    ),
    [_u((7, 5))],
)
row(
    "nll_loss_kdim_none",
    lambda x: NF.nll_loss(
        NF.log_softmax(x, 1),
        labels(x.shape[0] * 3, x.shape[1]).reshape(x.shape[0], 3),
        reduction="none",
    ),
    [_u((4, 5, 3))],
)

# the elementwise losses (one kernel, Note [Elementwise losses]): input and target both
# differentiable where PyTorch's are
row("l1_loss", NF.l1_loss, [_u((4, 6)), _u((4, 6))])
row("l1_loss_sum_bcast", lambda x, y: NF.l1_loss(x, y, reduction="sum"), [_u((4, 6)), _u((6,))])
row("smooth_l1_loss", lambda x, y: NF.smooth_l1_loss(x, y, beta=0.5), [_u((5, 7)), _u((5, 7))])
row(
    "smooth_l1_loss_none",
    lambda x, y: NF.smooth_l1_loss(x, y, reduction="none"),
    [_u((3, 4, 5)), _u((3, 4, 5))],
)
row("huber_loss", lambda x, y: NF.huber_loss(x, y, delta=0.7), [_u((5, 7)), _u((5, 7))])
row(
    "huber_loss_weight",
    lambda x, y: NF.huber_loss(x, y, reduction="sum", weight=class_weights(x.shape[-1])),
    [_u((5, 7)), _u((5, 7))],
)
row("soft_margin_loss", lambda x: NF.soft_margin_loss(x, signs(x.shape)), [_u((6, 5), -4, 4)])
row("poisson_nll_loss", NF.poisson_nll_loss, [_u((4, 5)), _u((4, 5), 0, 4)])
row(
    "poisson_nll_loss_full_linear",
    lambda x, y: NF.poisson_nll_loss(x, y, log_input=False, full=True, reduction="none"),
    [_u((4, 5), 0.5, 3), _u((4, 5), 0.2, 4)],
)
row(
    "hinge_embedding_loss",
    lambda x: NF.hinge_embedding_loss(x, signs(x.shape), margin=0.5),
    [_u((6, 5))],
)

# composed of other ops
COMPOSED = {"threads": "composed of other ops' kernels, which their own rows thread"}
row(
    "gaussian_nll_loss",
    lambda x, y, v: NF.gaussian_nll_loss(x, y, v, full=True),
    [_u((4, 3)), _u((4, 3)), _u((4, 3), 0.3, 2)],
    skips=COMPOSED,
)
row(
    "gaussian_nll_loss_homoscedastic",
    lambda x, y, v: NF.gaussian_nll_loss(x, y, v, reduction="sum"),
    [_u((4, 3)), _u((4, 3)), _u((4,), 0.3, 2)],
    skips=COMPOSED,
)
row(
    "margin_ranking_loss",
    lambda a, b: NF.margin_ranking_loss(a, b, signs(a.shape), margin=0.3),
    [_u((9,)), _u((9,))],
    skips=COMPOSED,
)
row(
    "cosine_embedding_loss",
    lambda a, b: NF.cosine_embedding_loss(a, b, signs(a.shape[:1]), margin=0.2),
    [_u((6, 4)), _u((6, 4))],
    skips=COMPOSED,
)
row(
    "triplet_margin_loss",
    lambda a, p, n: NF.triplet_margin_loss(a, p, n, margin=0.5),
    [_u((5, 4)), _u((5, 4)), _u((5, 4))],
    skips=COMPOSED,
)
row(
    "triplet_margin_loss_p1_swap",
    lambda a, p, n: NF.triplet_margin_loss(a, p, n, margin=2.0, p=1, swap=True, reduction="none"),
    [_u((5, 4)), _u((5, 4)), _u((5, 4))],
    skips=COMPOSED,
)
row("multi_margin_loss", lambda x: NF.multi_margin_loss(x, labels(*x.shape)), [_u((6, 4))])
row(
    "multi_margin_loss_p2_weight",
    lambda x: NF.multi_margin_loss(
        x, labels(*x.shape), p=2, margin=0.5, weight=class_weights(x.shape[1]), reduction="none"
    ),
    [_u((6, 4))],
)
row(
    "multilabel_soft_margin_loss",
    lambda x: NF.multilabel_soft_margin_loss(
        x, (probs(*x.shape) > 0.25).astype(float), weight=class_weights(x.shape[1])
    ),
    [_u((6, 4))],
    skips=COMPOSED,
)
row(
    "kl_div_target_grad",
    lambda x, t: NF.kl_div(x, t, reduction="batchmean"),
    [_u((4, 5), -3, -0.1), _u((4, 5), 0.05, 1)],
    skips=COMPOSED,
)
row(
    "kl_div_log_target_grad",
    lambda x, t: NF.kl_div(x, t, log_target=True),
    [_u((4, 5), -3, -0.1), _u((4, 5), -3, 0)],
    skips=COMPOSED,
)
row("normalize", lambda x: NF.normalize(x, dim=-1), [_u((4, 5))], skips=COMPOSED)
row("normalize_p3_dim0", lambda x: NF.normalize(x, p=3, dim=0), [_u((4, 5))], skips=COMPOSED)
row(
    "cosine_similarity",
    lambda a, b: NF.cosine_similarity(a, b),
    [_u((3, 5, 2)), _u((1, 5, 2))],
    skips=COMPOSED,
)
row(
    "pairwise_distance",
    lambda a, b: NF.pairwise_distance(a, b, keepdim=True),
    [_u((6, 4)), _u((6, 4))],
    skips=COMPOSED,
)
row("cdist", lambda a, b: NF.cdist(a, b), [_u((2, 4, 3)), _u((2, 5, 3))], skips=COMPOSED)
row(
    "cdist_p1_self",
    lambda a: NF.cdist(a, a, p=1.5),
    [_u((5, 3))],
    skips=COMPOSED,  # zero distances on the diagonal: a zero gradient there, not NaN
)


# CTC (Note [CTC]): log-probabilities (T, N, C) from logits, per-sample lengths and labels
# (never the blank 0) derived from the shapes; some samples shorter than T.
def ctc_targets(n, classes, s=3):
    return 1 + labels(n * s, classes - 1).reshape(n, s)


def ctc_row_fn(reduction="mean", concatenated=False, zero_infinity=False):
    def fn(x):
        t, n, c = x.shape
        tl = 1 + np.arange(n) % 3
        il = np.maximum(t - np.arange(n) % 2, 0)
        targets = ctc_targets(n, c)
        if concatenated:
            targets = np.concatenate([targets[i, : tl[i]] for i in range(n)] + [targets[:0, 0]])
        if zero_infinity and n > 1:
            il[1] = 1  # too short for its labels: an impossible alignment
        lp = NF.log_softmax(x, 2)
        return NF.ctc_loss(lp, targets, il, tl, reduction=reduction, zero_infinity=zero_infinity)

    return fn


CTC_THREADED = [_u((9, 64, 5), -3, 3)]
row("ctc_loss", ctc_row_fn(), [_u((9, 4, 5), -3, 3)], threaded=CTC_THREADED)
row(
    "ctc_loss_sum_concatenated",
    ctc_row_fn("sum", concatenated=True),
    [_u((8, 3, 4), -3, 3)],
    threaded=CTC_THREADED,
)
row(
    "ctc_loss_none_zero_infinity",
    ctc_row_fn("none", zero_infinity=True),
    [_u((7, 3, 6), -3, 3)],
    threaded=CTC_THREADED,
)

# scaled_dot_product_attention with grouped-query heads: 4 query heads on 2 key/value heads
row(
    "sdpa_gqa",
    lambda q, k, v: NF.scaled_dot_product_attention(q, k, v, enable_gqa=True, scale=0.4),
    [_u((2, 4, 5, 3)), _u((2, 2, 7, 3)), _u((2, 2, 7, 2))],
)
row(
    "sdpa_gqa_causal_bool_mask_bcast",
    lambda q, k, v: NF.scaled_dot_product_attention(
        q, k, v, np.tril(np.ones((q.shape[-2], k.shape[-2]), bool)), enable_gqa=True
    ),
    [_u((1, 6, 4, 3)), _u((1, 3, 4, 3)), _u((1, 3, 4, 2))],
)
