"""Loss classes and pydl.nn.functional losses given bad arguments: mismatched input and
target shapes, out-of-range class labels, wrong target dtypes, bad reduction strings, bad
class weights, ignore_index, label_smoothing outside [0, 1], invalid margins / deltas, NaN
where PyTorch raises; and unusual valid input checked against NumPy or PyTorch."""

import numpy as np
from corpus import assert_close as _close
from corpus import bad, ints, works
from corpus import oracle_torch as _torch
from corpus import randn as t
from corpus import randn_array as np_

import pydl
import pydl.nn as nn
import pydl.nn.functional as F

CASES: list = []

R = RuntimeError
V = ValueError
T = TypeError
I = IndexError  # noqa: E741


def u(*shape, seed=0):
    """Uniform samples in (0, 1): probabilities."""
    rng = np.random.default_rng(seed)
    return pydl.tensor(rng.uniform(0.05, 0.95, shape).astype(np.float32))


def case(id, fn, raises, match):
    bad(CASES, "loss." + id, fn, raises, match)


def check(id, fn):
    works(CASES, "loss." + id, fn)


X = lambda: t(4, 3)  # noqa: E731 - logits of 4 samples over 3 classes
Y = lambda: ints(0, 1, 2, 1)  # noqa: E731
RED = r"avg.*not a valid value for reduction|reduction.*avg"

# --- cross entropy ----------------------------------------------------------------------
case(
    "cross_entropy.target_out_of_range",
    lambda: F.cross_entropy(X(), ints(0, 1, 2, 3)),
    I,
    r"Target 3 is out of bounds",
)
case(
    "cross_entropy.target_negative",
    lambda: F.cross_entropy(X(), ints(0, 1, 2, -1)),
    I,
    r"Target -1 is out of bounds",
)
case(
    "cross_entropy.target_huge",
    lambda: F.cross_entropy(X(), ints(0, 1, 2, 2**40)),
    I,
    r"Target 1099511627776 is out of bounds",
)
case(
    "cross_entropy.float_class_target",
    lambda: F.cross_entropy(X(), t(4)),
    (R, V),
    r"target of shape \(4,\).*\(4, 3\)",
)
case(
    "cross_entropy.bool_target",
    lambda: F.cross_entropy(X(), pydl.tensor(np.ones(4, bool))),
    (R, T),
    r"target|bool",
)
case("cross_entropy.reduction_bad", lambda: F.cross_entropy(X(), Y(), reduction="avg"), V, RED)
case(
    "cross_entropy.reduction_none_object",
    lambda: F.cross_entropy(X(), Y(), reduction=None),
    V,
    r"reduction.*None",
)
case(
    "cross_entropy.label_smoothing_above_one",
    lambda: F.cross_entropy(X(), Y(), label_smoothing=1.5),
    (R, V),
    r"label_smoothing.*1\.5",
)
case(
    "cross_entropy.label_smoothing_nan",
    lambda: F.cross_entropy(X(), Y(), label_smoothing=float("nan")),
    (R, V),
    r"label_smoothing.*nan",
)
case(
    "cross_entropy.weight_wrong_size",
    lambda: F.cross_entropy(X(), Y(), weight=t(4)),
    (R, V),
    r"weight.*3 classes|weight.*\(4,\)",
)
case(
    "cross_entropy.weight_2d", lambda: F.cross_entropy(X(), Y(), weight=t(3, 1)), (R, V), r"weight"
)
case(
    "cross_entropy.batch_mismatch",
    lambda: F.cross_entropy(X(), ints(0, 1)),
    (V, R),
    r"batch_size.*4.*2|\(2,\)",
)
case(
    "cross_entropy.prob_target_shape",
    lambda: F.cross_entropy(X(), u(4, 4)),
    (R, V),
    r"target|\(4, 4\)",
)
case(
    "cross_entropy.int_prob_target",
    lambda: F.cross_entropy(X(), pydl.tensor(np.zeros((4, 3), np.int64))),
    R,
    r"floating point type for target.*int64",
)
case(
    "cross_entropy.input_0d",
    lambda: F.cross_entropy(t(), ints(0)),
    (R, V, I),
    r"dim|0-d|\(\)|shape",
)
case("cross_entropy.target_str", lambda: F.cross_entropy(X(), "abcd"), T, r"str|<U4|target")
case(
    "cross_entropy.spatial_target_out_of_range",
    lambda: F.cross_entropy(t(2, 3, 4), pydl.tensor(np.full((2, 4), 3))),
    I,
    r"Target 3 is out of bounds",
)
case(
    "cross_entropy.spatial_target_shape",
    lambda: F.cross_entropy(t(2, 3, 4), pydl.tensor(np.zeros((2, 5), np.int64))),
    (R, V),
    r"\(2, 5\)|target|shape",
)
case(
    "CrossEntropyLoss.label_smoothing_negative",
    lambda: nn.CrossEntropyLoss(label_smoothing=-0.5)(X(), Y()),
    (R, V),
    r"label_smoothing.*-0\.5",
)
case(
    "CrossEntropyLoss.reduction_bad", lambda: nn.CrossEntropyLoss(reduction="avg")(X(), Y()), V, RED
)
case(
    "CrossEntropyLoss.target_out_of_range",
    lambda: nn.CrossEntropyLoss()(X(), ints(5, 0, 0, 0)),
    I,
    r"Target 5 is out of bounds",
)


def _ce_ignore_index():
    torch = _torch()

    x, y = np_(4, 3), np.array([0, -100, 2, 1])
    got = F.cross_entropy(pydl.tensor(x), pydl.tensor(y))
    if torch is None:
        return
    _close(got, torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(y)).item())


def _ce_custom_ignore_out_of_range_value():
    torch = _torch()

    x, y = np_(4, 3), np.array([0, 7, 2, 1])
    got = F.cross_entropy(pydl.tensor(x), pydl.tensor(y), ignore_index=7)
    if torch is None:
        return
    ref = torch.nn.functional.cross_entropy(
        torch.from_numpy(x), torch.from_numpy(y), ignore_index=7
    )
    _close(got, ref.item())


def _ce_all_ignored_is_nan():
    got = F.cross_entropy(X(), ints(-100, -100, -100, -100))
    assert np.isnan(got.item())


def _ce_label_smoothing_torch():
    torch = _torch()

    x, y = np_(5, 4)[::-1], np.array([3, 0, 1, 2, 2])
    got = F.cross_entropy(pydl.tensor(x), pydl.tensor(y), label_smoothing=0.2)
    if torch is None:
        return
    ref = torch.nn.functional.cross_entropy(
        torch.from_numpy(x.copy()), torch.from_numpy(y), label_smoothing=0.2
    )
    _close(got, ref.item())


def _ce_unbatched():
    torch = _torch()

    x = np_(3)
    got = F.cross_entropy(pydl.tensor(x), pydl.tensor(np.array(1)))
    if torch is None:
        return
    _close(got, torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.tensor(1)).item())


def _ce_prob_targets_transposed():
    torch = _torch()

    x = np_(3, 4).T
    p = np.random.default_rng(1).dirichlet(np.ones(3), 4).astype(np.float32)
    got = F.cross_entropy(pydl.tensor(x), pydl.tensor(p))
    if torch is None:
        return
    ref = torch.nn.functional.cross_entropy(torch.from_numpy(x.copy()), torch.from_numpy(p))
    _close(got, ref.item())


def _ce_empty_batch_sum():
    got = F.cross_entropy(t(0, 3), pydl.tensor(np.zeros((0,), np.int64)), reduction="sum")
    _close(got, 0.0)


def _ce_int32_target():
    x = np_(2, 3)
    got = F.cross_entropy(pydl.tensor(x), pydl.tensor(np.array([2, 0], np.int32)), reduction="none")
    ls = x - np.log(np.exp(x).sum(1, keepdims=True))
    _close(got, -ls[[0, 1], [2, 0]])


check("cross_entropy.ignore_index_default", _ce_ignore_index)
check("cross_entropy.ignore_index_outside_classes", _ce_custom_ignore_out_of_range_value)
check("cross_entropy.all_ignored_is_nan", _ce_all_ignored_is_nan)
check("cross_entropy.label_smoothing_negative_stride", _ce_label_smoothing_torch)
check("cross_entropy.unbatched_0d_target", _ce_unbatched)
check("cross_entropy.prob_targets_transposed", _ce_prob_targets_transposed)
check("cross_entropy.empty_batch_sum", _ce_empty_batch_sum)
check("cross_entropy.int32_target", _ce_int32_target)

# --- nll --------------------------------------------------------------------------------
case(
    "nll_loss.target_out_of_range",
    lambda: F.nll_loss(X(), ints(0, 1, 2, 5)),
    I,
    r"Target 5 is out of bounds",
)
case(
    "nll_loss.target_negative",
    lambda: F.nll_loss(X(), ints(-3, 1, 2, 0)),
    I,
    r"Target -3 is out of bounds",
)
case(
    "nll_loss.float_target",
    lambda: F.nll_loss(X(), t(4)),
    (R, T, V),
    r"target of shape \(4,\).*\(4, 3\)",
)
case("nll_loss.reduction_bad", lambda: F.nll_loss(X(), Y(), reduction="avg"), V, RED)
case("nll_loss.weight_wrong_size", lambda: F.nll_loss(X(), Y(), weight=t(2)), (R, V), r"weight")
case(
    "nll_loss.batch_mismatch",
    lambda: F.nll_loss(X(), ints(0, 1, 2)),
    (V, R),
    r"batch_size.*4.*3|\(3,\)",
)
case(
    "nll_loss.spatial_out_of_range",
    lambda: F.nll_loss(t(2, 3, 4), pydl.tensor(np.full((2, 4), 3))),
    I,
    r"Target 3 is out of bounds",
)
case("NLLLoss.reduction_bad", lambda: nn.NLLLoss(reduction="avg")(X(), Y()), V, RED)
case("NLLLoss.weight_str", lambda: nn.NLLLoss(weight="abc")(X(), Y()), (T, V), r"weight|str|<U3")


def _nll_weighted_torch():
    torch = _torch()

    x, y, w = np_(4, 3), np.array([0, 1, 2, 1]), np.array([1.0, 2.0, 0.5], np.float32)
    got = F.nll_loss(pydl.tensor(x), pydl.tensor(y), weight=pydl.tensor(w))
    if torch is None:
        return
    ref = torch.nn.functional.nll_loss(
        torch.from_numpy(x), torch.from_numpy(y), weight=torch.from_numpy(w)
    )
    _close(got, ref.item())


check("nll_loss.weighted_against_torch", _nll_weighted_torch)

# --- binary cross entropy ---------------------------------------------------------------
case(
    "binary_cross_entropy.input_above_one",
    lambda: F.binary_cross_entropy(pydl.tensor(np.array([1.5], np.float32)), u(1)),
    R,
    r"between 0 and 1",
)
case(
    "binary_cross_entropy.input_negative",
    lambda: F.binary_cross_entropy(pydl.tensor(np.array([-0.1], np.float32)), u(1)),
    R,
    r"between 0 and 1",
)
case(
    "binary_cross_entropy.input_nan",
    lambda: F.binary_cross_entropy(pydl.tensor(np.array([np.nan], np.float32)), u(1)),
    R,
    r"between 0 and 1",
)
case(
    "binary_cross_entropy.shape",
    lambda: F.binary_cross_entropy(u(3), u(4)),
    V,
    r"input of shape \(3,\) and target of shape \(4,\)",
)
case(
    "binary_cross_entropy.reduction_bad",
    lambda: F.binary_cross_entropy(u(3), u(3), reduction="avg"),
    V,
    RED,
)
case(
    "binary_cross_entropy.weight_shape",
    lambda: F.binary_cross_entropy(u(2, 3), u(2, 3), weight=u(4)),
    (R, V),
    r"weight|4|broadcast",
)
case("BCELoss.shape", lambda: nn.BCELoss()(u(2, 3), u(3, 2)), V, r"\(2, 3\).*\(3, 2\)")
case(
    "binary_cross_entropy_with_logits.shape",
    lambda: F.binary_cross_entropy_with_logits(t(3), u(4)),
    V,
    r"input of shape \(3,\) and target of shape \(4,\)",
)
case(
    "binary_cross_entropy_with_logits.pos_weight_shape",
    lambda: F.binary_cross_entropy_with_logits(t(2, 3), u(2, 3), pos_weight=u(4)),
    (R, V),
    r"pos_weight|4.*3|broadcast",
)
case(
    "binary_cross_entropy_with_logits.reduction_bad",
    lambda: F.binary_cross_entropy_with_logits(t(3), u(3), reduction="avg"),
    V,
    RED,
)
case(
    "BCEWithLogitsLoss.reduction_bad",
    lambda: nn.BCEWithLogitsLoss(reduction="avg")(t(3), u(3)),
    V,
    RED,
)


def _bce_logits_int_target():
    torch = _torch()

    x, y = np_(3), np.array([1.0, 0.0, 1.0], np.float32)
    got = F.binary_cross_entropy_with_logits(pydl.tensor(x[::-1]), pydl.tensor(y))
    if torch is None:
        return
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.from_numpy(x[::-1].copy()), torch.from_numpy(y)
    )
    _close(got, ref.item())


def _bce_extremes():
    got = F.binary_cross_entropy(
        pydl.tensor(np.array([0.0, 1.0], np.float32)), pydl.tensor(np.array([0.0, 1.0], np.float32))
    )
    _close(got, 0.0)


check("binary_cross_entropy_with_logits.negative_stride", _bce_logits_int_target)
check("binary_cross_entropy.exact_zero_and_one", _bce_extremes)

# --- regression losses ------------------------------------------------------------------
case("mse_loss.shape", lambda: F.mse_loss(t(2, 3), t(2, 4)), (R, V), r"3.*4|4.*3")
case("mse_loss.reduction_bad", lambda: F.mse_loss(t(3), t(3), reduction="avg"), V, RED)
case(
    "mse_loss.reduction_int",
    lambda: F.mse_loss(t(3), t(3), reduction=1),
    V,
    r"1.*reduction|reduction.*1",
)
case("MSELoss.reduction_bad", lambda: nn.MSELoss(reduction="avg")(t(3), t(3)), V, RED)
case("MSELoss.shape", lambda: nn.MSELoss()(t(5), t(4)), (R, V), r"5.*4|4.*5")
case("l1_loss.shape", lambda: F.l1_loss(t(2, 3), t(3, 2)), (R, V), r"3.*2|2.*3")
case("l1_loss.reduction_bad", lambda: F.l1_loss(t(3), t(3), reduction="avg"), V, RED)
case("L1Loss.reduction_bad", lambda: nn.L1Loss(reduction="avg")(t(3), t(3)), V, RED)
case(
    "smooth_l1_loss.beta_negative",
    lambda: F.smooth_l1_loss(t(3), t(3), beta=-1.0),
    (R, V),
    r"beta.*-1|negative values for beta",
)
case("smooth_l1_loss.shape", lambda: F.smooth_l1_loss(t(3), t(4)), (R, V), r"3.*4|4.*3")
case(
    "SmoothL1Loss.beta_negative",
    lambda: nn.SmoothL1Loss(beta=-0.5)(t(3), t(3)),
    (R, V),
    r"beta.*-0\.5|negative values for beta",
)
case(
    "huber_loss.delta_zero",
    lambda: F.huber_loss(t(3), t(3), delta=0.0),
    (R, V),
    r"delta.*0|non-positive values for delta",
)
case(
    "huber_loss.delta_negative",
    lambda: F.huber_loss(t(3), t(3), delta=-1.0),
    (R, V),
    r"delta.*-1|non-positive values for delta",
)
case(
    "HuberLoss.delta_zero",
    lambda: nn.HuberLoss(delta=0.0)(t(3), t(3)),
    (R, V),
    r"delta.*0|non-positive values for delta",
)
case("HuberLoss.reduction_bad", lambda: nn.HuberLoss(reduction="avg")(t(3), t(3)), V, RED)
case("soft_margin_loss.shape", lambda: F.soft_margin_loss(t(2, 3), t(2, 4)), (R, V), r"3.*4|4.*3")
case("SoftMarginLoss.reduction_bad", lambda: nn.SoftMarginLoss(reduction="avg")(t(3), t(3)), V, RED)


def _mse_broadcast_free_noncontig():
    a, b = np_(3, 4).T, np_(4, 3, seed=1)[::-1]
    _close(F.mse_loss(pydl.tensor(a), pydl.tensor(b)), ((a - b) ** 2).mean())


def _mse_zero_size_sum():
    _close(F.mse_loss(t(0, 3), t(0, 3), reduction="sum"), 0.0)


def _mse_zero_size_mean_nan():
    assert np.isnan(F.mse_loss(t(0), t(0)).item())


def _l1_0d():
    _close(F.l1_loss(pydl.tensor(np.float32(2.0)), pydl.tensor(np.float32(-1.0))), 3.0)


def _huber_torch():
    torch = _torch()

    a, b = np_(6), np_(6, seed=2) * 3
    got = F.huber_loss(pydl.tensor(a), pydl.tensor(b), delta=0.5)
    if torch is None:
        return
    _close(
        got,
        torch.nn.functional.huber_loss(torch.from_numpy(a), torch.from_numpy(b), delta=0.5).item(),
    )


def _smooth_l1_beta_zero():
    a, b = np_(5), np_(5, seed=3)
    _close(F.smooth_l1_loss(pydl.tensor(a), pydl.tensor(b), beta=0.0), np.abs(a - b).mean())


check("mse_loss.non_contiguous", _mse_broadcast_free_noncontig)
check("mse_loss.zero_size_sum", _mse_zero_size_sum)
check("mse_loss.zero_size_mean_is_nan", _mse_zero_size_mean_nan)
check("l1_loss.0d", _l1_0d)
check("huber_loss.against_torch", _huber_torch)
check("smooth_l1_loss.beta_zero_is_l1", _smooth_l1_beta_zero)

# --- KL, Poisson, Gaussian --------------------------------------------------------------
case("kl_div.shape", lambda: F.kl_div(t(2, 3), u(2, 4)), (R, V), r"3.*4|4.*3")
case(
    "kl_div.reduction_bad",
    lambda: F.kl_div(t(3), u(3), reduction="bogus"),
    V,
    r"bogus.*reduction|reduction.*bogus",
)
case("KLDivLoss.reduction_bad", lambda: nn.KLDivLoss(reduction="bogus")(t(3), u(3)), V, r"bogus")
case("poisson_nll_loss.shape", lambda: F.poisson_nll_loss(t(3), u(4)), (R, V), r"3.*4|4.*3")
case(
    "poisson_nll_loss.reduction_bad",
    lambda: F.poisson_nll_loss(t(3), u(3), reduction="x"),
    V,
    r"'?x'? is not a valid value for reduction|reduction.*x",
)
case("PoissonNLLLoss.reduction_bad", lambda: nn.PoissonNLLLoss(reduction="avg")(t(3), u(3)), V, RED)
case(
    "gaussian_nll_loss.var_negative",
    lambda: F.gaussian_nll_loss(t(3), t(3), pydl.tensor(-np.ones(3, np.float32))),
    V,
    r"var has negative",
)
case(
    "gaussian_nll_loss.var_shape",
    lambda: F.gaussian_nll_loss(t(3, 2), t(3, 2), u(4)),
    V,
    r"var of shape \(4,\) is of incorrect size",
)
case(
    "gaussian_nll_loss.reduction_bad",
    lambda: F.gaussian_nll_loss(t(3), t(3), u(3), reduction="avg"),
    V,
    RED,
)
case("gaussian_nll_loss.shape", lambda: F.gaussian_nll_loss(t(3), t(4), u(3)), (R, V), r"3.*4|4.*3")
case(
    "GaussianNLLLoss.var_negative",
    lambda: nn.GaussianNLLLoss()(t(3), t(3), pydl.tensor(-np.ones(3, np.float32))),
    V,
    r"var has negative",
)


def _kl_batchmean_torch():
    torch = _torch()

    a = np.log(np.random.default_rng(0).dirichlet(np.ones(3), 4)).astype(np.float32)
    b = np.random.default_rng(1).dirichlet(np.ones(3), 4).astype(np.float32)
    got = F.kl_div(pydl.tensor(a), pydl.tensor(b), reduction="batchmean")
    if torch is None:
        return
    ref = torch.nn.functional.kl_div(
        torch.from_numpy(a), torch.from_numpy(b), reduction="batchmean"
    )
    _close(got, ref.item())


def _gaussian_var_broadcast():
    torch = _torch()

    a, b, v = np_(3, 2), np_(3, 2, seed=1), np.full((3, 1), 0.5, np.float32)
    got = F.gaussian_nll_loss(pydl.tensor(a), pydl.tensor(b), pydl.tensor(v))
    if torch is None:
        return
    ref = torch.nn.functional.gaussian_nll_loss(
        torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(v)
    )
    _close(got, ref.item())


check("kl_div.batchmean_against_torch", _kl_batchmean_torch)
check("gaussian_nll_loss.var_broadcast_against_torch", _gaussian_var_broadcast)

# --- margin and embedding losses --------------------------------------------------------
case(
    "margin_ranking_loss.shape",
    lambda: F.margin_ranking_loss(t(3), t(4), t(3)),
    (R, V),
    r"3.*4|4.*3",
)
case(
    "margin_ranking_loss.reduction_bad",
    lambda: F.margin_ranking_loss(t(3), t(3), t(3), reduction="avg"),
    V,
    RED,
)
case(
    "MarginRankingLoss.target_shape",
    lambda: nn.MarginRankingLoss()(t(3), t(3), t(5)),
    (R, V),
    r"3.*5|5.*3",
)
case("hinge_embedding_loss.shape", lambda: F.hinge_embedding_loss(t(3), t(4)), (R, V), r"3.*4|4.*3")
case(
    "HingeEmbeddingLoss.reduction_bad",
    lambda: nn.HingeEmbeddingLoss(reduction="avg")(t(3), t(3)),
    V,
    RED,
)
case(
    "cosine_embedding_loss.target_shape",
    lambda: F.cosine_embedding_loss(t(3, 2), t(3, 2), t(4)),
    (R, V),
    r"3.*4|4.*3",
)
case(
    "cosine_embedding_loss.input_shape",
    lambda: F.cosine_embedding_loss(t(3, 2), t(3, 5), t(3)),
    (R, V),
    r"2.*5|5.*2",
)
case(
    "CosineEmbeddingLoss.reduction_bad",
    lambda: nn.CosineEmbeddingLoss(reduction="avg")(t(3, 2), t(3, 2), t(3)),
    V,
    RED,
)
case(
    "triplet_margin_loss.margin_negative",
    lambda: F.triplet_margin_loss(t(2, 3), t(2, 3), t(2, 3), margin=-1.0),
    V,
    r"margin must be greater than 0.*-1",
)
case(
    "triplet_margin_loss.margin_zero",
    lambda: F.triplet_margin_loss(t(2, 3), t(2, 3), t(2, 3), margin=0.0),
    V,
    r"margin must be greater than 0.*0",
)
case(
    "triplet_margin_loss.shape",
    lambda: F.triplet_margin_loss(t(2, 3), t(2, 4), t(2, 3)),
    (R, V),
    r"3.*4|4.*3",
)
case(
    "TripletMarginLoss.margin_negative",
    lambda: nn.TripletMarginLoss(margin=-2.0)(t(2, 3), t(2, 3), t(2, 3)),
    V,
    r"margin.*-2",
)
case(
    "multi_margin_loss.p_three",
    lambda: F.multi_margin_loss(X(), Y(), p=3),
    V,
    r"p == 1 and p == 2|p.*3",
)
case(
    "multi_margin_loss.target_out_of_range",
    lambda: F.multi_margin_loss(X(), ints(0, 1, 2, 3)),
    (R, I),
    r"target.*range|3",
)
case(
    "multi_margin_loss.weight_size",
    lambda: F.multi_margin_loss(X(), Y(), weight=u(5)),
    (R, V),
    r"weight",
)
case(
    "MultiMarginLoss.p_zero",
    lambda: nn.MultiMarginLoss(p=0)(X(), Y()),
    V,
    r"p == 1 and p == 2|p.*0",
)
case(
    "multilabel_soft_margin_loss.shape",
    lambda: F.multilabel_soft_margin_loss(t(2, 3), u(2, 4)),
    (R, V),
    r"3.*4|4.*3",
)
case(
    "MultiLabelSoftMarginLoss.reduction_bad",
    lambda: nn.MultiLabelSoftMarginLoss(reduction="avg")(t(2, 3), u(2, 3)),
    V,
    RED,
)


def _triplet_torch():
    torch = _torch()

    a, p, n = np_(3, 4), np_(3, 4, seed=1)[:, ::-1], np_(3, 4, seed=2)
    got = F.triplet_margin_loss(pydl.tensor(a), pydl.tensor(p), pydl.tensor(n), margin=0.5)
    if torch is None:
        return
    ref = torch.nn.functional.triplet_margin_loss(
        *(torch.from_numpy(v.copy()) for v in (a, p, n)), margin=0.5
    )
    _close(got, ref.item())


def _hinge_torch():
    torch = _torch()

    x, y = np_(4), np.array([1.0, -1.0, 1.0, -1.0], np.float32)
    got = F.hinge_embedding_loss(pydl.tensor(x), pydl.tensor(y))
    if torch is None:
        return
    _close(
        got,
        torch.nn.functional.hinge_embedding_loss(torch.from_numpy(x), torch.from_numpy(y)).item(),
    )


check("triplet_margin_loss.negative_stride_against_torch", _triplet_torch)
check("hinge_embedding_loss.against_torch", _hinge_torch)


# --- CTC --------------------------------------------------------------------------------
def _ctc(blank=0, input_lengths=(5,), target_lengths=(2,), targets=((1, 1),), log_probs=None):
    lp = log_probs if log_probs is not None else F.log_softmax(t(5, 1, 3), dim=2)
    return F.ctc_loss(
        lp,
        pydl.tensor(np.array(targets, np.int64)),
        pydl.tensor(np.array(input_lengths, np.int64)),
        pydl.tensor(np.array(target_lengths, np.int64)),
        blank=blank,
    )


case("ctc_loss.blank_out_of_range", lambda: _ctc(blank=3), (R, V, I), r"blank")
case(
    "ctc_loss.input_length_too_long",
    lambda: _ctc(input_lengths=(6,)),
    (R, V),
    r"input_lengths.*6|6",
)
case("ctc_loss.target_length_too_long", lambda: _ctc(target_lengths=(3,)), (R, V), r"target")
case(
    "ctc_loss.target_label_out_of_range",
    lambda: _ctc(targets=((1, 7),)),
    (R, V, I),
    r"7|target|label",
)
case(
    "ctc_loss.log_probs_rank",
    lambda: _ctc(log_probs=t(5, 1, 3, 1)),
    (R, V),
    r"log_probs.*\(5, 1, 3, 1\)",
)
case(
    "ctc_loss.reduction_bad",
    lambda: F.ctc_loss(
        F.log_softmax(t(5, 1, 3), dim=2),
        ints(1, 1).reshape(1, 2),
        ints(5),
        ints(2),
        reduction="avg",
    ),
    V,
    RED,
)
case(
    "CTCLoss.blank_negative",
    lambda: nn.CTCLoss(blank=-1)(
        F.log_softmax(t(5, 1, 3), dim=2), ints(1, 1).reshape(1, 2), ints(5), ints(2)
    ),
    (R, V, I),
    r"blank",
)

# --- distance modules -------------------------------------------------------------------
case(
    "CosineSimilarity.shape", lambda: nn.CosineSimilarity()(t(2, 3), t(2, 4)), (R, V), r"3.*4|4.*3"
)
case(
    "PairwiseDistance.shape", lambda: nn.PairwiseDistance()(t(2, 3), t(3, 3)), (R, V), r"2.*3|3.*2"
)
case(
    "CosineSimilarity.dim_out_of_range",
    lambda: nn.CosineSimilarity(dim=3)(t(2, 3), t(2, 3)),
    I,
    r"dim|3|range",
)

# --- wrong dtypes -----------------------------------------------------------------------
_XI = lambda: pydl.tensor(np.arange(12, dtype=np.int64).reshape(4, 3))  # noqa: E731
case(
    "cross_entropy.int_input",
    lambda: F.cross_entropy(_XI(), Y()),
    NotImplementedError,
    r"cross_entropy.*int64",
)
case("nll_loss.int_input", lambda: F.nll_loss(_XI(), Y()), NotImplementedError, r"nll_loss.*int64")
case(
    "kl_div.int_input",
    lambda: F.kl_div(ints(0, 1), ints(1, 1), reduction="sum"),
    R,
    r"kl_div.*int64",
)
case(
    "CrossEntropyLoss.bool_input",
    lambda: nn.CrossEntropyLoss()(pydl.tensor(np.ones((4, 3), bool)), Y()),
    NotImplementedError,
    r"bool",
)
case(
    "cross_entropy.bool_class_target",
    lambda: F.cross_entropy(X(), pydl.tensor(np.array([True, False, True, True]))),
    (R, T),
    r"class indices.*bool",
)
case(
    "multi_margin_loss.float_target",
    lambda: F.multi_margin_loss(X(), t(4)),
    (R, T),
    r"class indices.*float32",
)
case(
    "cross_entropy.complex_input",
    lambda: F.cross_entropy(np.ones((4, 3), np.complex64), Y()),
    T,
    r"complex",
)
case("mse_loss.object_target", lambda: F.mse_loss(t(3), np.array([None] * 3, object)), T, r"object")


def _ce_uint8_target():
    torch = _torch()

    x, y = np_(3, 4), np.array([0, 3, 2], np.uint8)
    got = F.cross_entropy(pydl.tensor(x), pydl.tensor(y))
    if torch is None:
        return
    ref = torch.nn.functional.cross_entropy(
        torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    )
    _close(got, ref.item())


def _mse_int_target_promotes():
    a, y = np_(3), np.array([0, 1, 1])
    _close(F.mse_loss(pydl.tensor(a), pydl.tensor(y)), ((a - y) ** 2).mean())


def _soft_margin_int_target():
    a, y = np_(3), np.array([1, -1, 1])
    _close(F.soft_margin_loss(pydl.tensor(a), pydl.tensor(y)), np.log1p(np.exp(-y * a)).mean())


def _mse_float64():
    a, b = np.arange(3.0), np.ones(3)
    got = F.mse_loss(pydl.tensor(a), pydl.tensor(b))
    assert got.dtype == np.float64
    _close(got, ((a - b) ** 2).mean())


check("cross_entropy.uint8_target", _ce_uint8_target)
check("mse_loss.int_target_promotes", _mse_int_target_promotes)
check("soft_margin_loss.int_target", _soft_margin_int_target)
check("mse_loss.float64", _mse_float64)

case("mse_loss.str_target", lambda: F.mse_loss(t(3), "abc"), T, r"str.*<U3")
case("l1_loss.str_list_target", lambda: F.l1_loss(t(2), ["1.5", "2"]), T, r"list.*<U3")
case(
    "binary_cross_entropy.object_weight",
    lambda: F.binary_cross_entropy(u(2), u(2), weight=np.array([None, 1], object)),
    T,
    r"object",
)


def _mse_list_target():
    a = np_(3)
    _close(F.mse_loss(pydl.tensor(a), [1.0, 2.0, 3.0]), ((a - [1, 2, 3]) ** 2).mean())


check("mse_loss.list_target", _mse_list_target)
