"""The losses and distance functions against PyTorch: values and gradients of every input
PyTorch differentiates, for each reduction, class weights, ignore_index, label smoothing,
K-dimensional and probability targets, CTC on random lengths (zero_infinity, impossible
alignments), float32 and float64, on both backends; zero-size batches; the modules; and the
errors (out-of-range targets name the value and the class count)."""

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import _core, nn


@pytest.fixture(params=["core", "reference"])
def backend(request):
    pydl.set_backend(request.param)
    return request.param


def _u(*shape, lo=-2.0, hi=2.0):
    return ("u", shape, lo, hi)


def _sample(rng, spec):
    _, shape, lo, hi = spec
    return rng.uniform(lo, hi, size=shape)


def _classes(n, c, seed=0):
    return np.random.default_rng(seed).integers(0, c, size=n)


W5 = np.array([0.5, 1.0, 2.0, 0.3, 1.7])
T7 = np.array([0, 4, -100, 3, 1, 2, 4])  # one ignored
T7_PROBS = np.random.default_rng(3).dirichlet(np.ones(5), size=7)
T_KDIM = _classes(12, 5).reshape(2, 3, 2)
P_KDIM = np.random.default_rng(4).dirichlet(np.ones(5), size=(2, 3, 2)).transpose(0, 3, 1, 2)
SIGNS = np.where(_classes(7, 2, 5) == 1, 1.0, -1.0)
SIGNS35 = np.where(_classes(15, 2, 6) == 1, 1.0, -1.0).reshape(3, 5)
MULTI = (np.random.default_rng(7).uniform(size=(7, 5)) > 0.5).astype(float)

REDUCTIONS = ("mean", "sum", "none")

# (id, fn(lib, C, *inputs) -> loss with lib = pydl or torch and C a constant's converter,
# input specs, reductions to run (each passed as reduction=...) or None)
CASES = [
    ("ce", lambda lib, C, x, r: lib.nn.functional.cross_entropy(x, C(T7), reduction=r),
     [_u(7, 5)], REDUCTIONS),
    ("ce_weight_ignore_smoothing", lambda lib, C, x, r: lib.nn.functional.cross_entropy(
        x, C(T7), weight=C(W5), ignore_index=-100, label_smoothing=0.3, reduction=r),
     [_u(7, 5)], REDUCTIONS),
    ("ce_weight", lambda lib, C, x, r: lib.nn.functional.cross_entropy(
        x, C(np.where(T7 < 0, 2, T7)), weight=C(W5), reduction=r), [_u(7, 5)], REDUCTIONS),
    ("ce_ignore_index_3", lambda lib, C, x, r: lib.nn.functional.cross_entropy(
        x, C(np.where(T7 < 0, 3, T7)), ignore_index=3, label_smoothing=0.1, reduction=r),
     [_u(7, 5)], REDUCTIONS),
    ("ce_one_sample", lambda lib, C, x, r: lib.nn.functional.cross_entropy(
        x, C(np.array(2)), weight=C(W5), label_smoothing=0.2, reduction=r), [_u(5)], REDUCTIONS),
    ("ce_kdim", lambda lib, C, x, r: lib.nn.functional.cross_entropy(
        x, C(T_KDIM), weight=C(W5), label_smoothing=0.1, reduction=r), [_u(2, 5, 3, 2)],
     REDUCTIONS),
    ("ce_probs", lambda lib, C, x, r: lib.nn.functional.cross_entropy(
        x, C(T7_PROBS), weight=C(W5), label_smoothing=0.2, reduction=r), [_u(7, 5)], REDUCTIONS),
    ("ce_probs_kdim", lambda lib, C, x, r: lib.nn.functional.cross_entropy(
        x, C(P_KDIM), reduction=r), [_u(2, 5, 3, 2)], REDUCTIONS),
    ("ce_probs_target_grad", lambda lib, C, x, t, r: lib.nn.functional.cross_entropy(
        x, t, weight=C(W5), label_smoothing=0.1, reduction=r), [_u(7, 5), _u(7, 5, lo=0, hi=1)],
     REDUCTIONS),
    ("nll", lambda lib, C, x, r: lib.nn.functional.nll_loss(
        x, C(T7), weight=C(W5), reduction=r), [_u(7, 5)], REDUCTIONS),
    ("nll_kdim", lambda lib, C, x, r: lib.nn.functional.nll_loss(
        x, C(T_KDIM), weight=C(W5), reduction=r), [_u(2, 5, 3, 2)], REDUCTIONS),
    ("l1", lambda lib, C, x, y, r: lib.nn.functional.l1_loss(x, y, reduction=r),
     [_u(3, 5), _u(3, 5)], REDUCTIONS),
    ("mse", lambda lib, C, x, y, r: lib.nn.functional.mse_loss(x, y, reduction=r),
     [_u(3, 5), _u(3, 5)], REDUCTIONS),
    ("smooth_l1", lambda lib, C, x, y, r: lib.nn.functional.smooth_l1_loss(
        x, y, reduction=r, beta=0.6), [_u(3, 5), _u(3, 5)], REDUCTIONS),
    ("smooth_l1_beta0", lambda lib, C, x, y, r: lib.nn.functional.smooth_l1_loss(
        x, y, reduction=r, beta=0.0), [_u(3, 5), _u(3, 5)], REDUCTIONS),
    ("huber", lambda lib, C, x, y, r: lib.nn.functional.huber_loss(x, y, reduction=r, delta=0.8),
     [_u(3, 5), _u(3, 5)], REDUCTIONS),
    ("soft_margin", lambda lib, C, x, r: lib.nn.functional.soft_margin_loss(
        x, C(SIGNS35), reduction=r), [_u(3, 5, lo=-4, hi=4)], REDUCTIONS),
    ("poisson_nll", lambda lib, C, x, y, r: lib.nn.functional.poisson_nll_loss(
        x, y, reduction=r), [_u(3, 5), _u(3, 5, lo=0, hi=4)], REDUCTIONS),
    ("poisson_nll_linear_full", lambda lib, C, x, y, r: lib.nn.functional.poisson_nll_loss(
        x, y, log_input=False, full=True, eps=1e-3, reduction=r),
     [_u(3, 5, lo=0.1, hi=3), _u(3, 5, lo=0, hi=4)], REDUCTIONS),
    ("hinge_embedding", lambda lib, C, x, r: lib.nn.functional.hinge_embedding_loss(
        x, C(SIGNS35), margin=0.5, reduction=r), [_u(3, 5)], REDUCTIONS),
    ("gaussian_nll", lambda lib, C, x, y, v, r: lib.nn.functional.gaussian_nll_loss(
        x, y, v, full=True, reduction=r), [_u(4, 3), _u(4, 3), _u(4, 3, lo=0.2, hi=2)],
     REDUCTIONS),
    ("gaussian_nll_one_var_per_sample", lambda lib, C, x, y, v, r:
        lib.nn.functional.gaussian_nll_loss(x, y, v, reduction=r),
     [_u(4, 3), _u(4, 3), _u(4, lo=0.2, hi=2)], REDUCTIONS),
    ("gaussian_nll_size1_dim", lambda lib, C, x, y, v, r: lib.nn.functional.gaussian_nll_loss(
        x, y, v, eps=0.5, reduction=r), [_u(4, 3), _u(4, 3), _u(4, 1, lo=0.2, hi=2)],
     REDUCTIONS),
    ("margin_ranking", lambda lib, C, a, b, r: lib.nn.functional.margin_ranking_loss(
        a, b, C(SIGNS), margin=0.3, reduction=r), [_u(7), _u(7)], REDUCTIONS),
    ("cosine_embedding", lambda lib, C, a, b, r: lib.nn.functional.cosine_embedding_loss(
        a, b, C(SIGNS), margin=0.1, reduction=r), [_u(7, 4), _u(7, 4)], REDUCTIONS),
    ("triplet", lambda lib, C, a, p, n, r: lib.nn.functional.triplet_margin_loss(
        a, p, n, margin=0.7, reduction=r), [_u(6, 4), _u(6, 4), _u(6, 4)], REDUCTIONS),
    ("triplet_p1_swap", lambda lib, C, a, p, n, r: lib.nn.functional.triplet_margin_loss(
        a, p, n, margin=2.0, p=1, swap=True, reduction=r), [_u(6, 4), _u(6, 4), _u(6, 4)],
     REDUCTIONS),
    ("triplet_p3_1d", lambda lib, C, a, p, n, r: lib.nn.functional.triplet_margin_loss(
        a, p, n, margin=2.0, p=3, reduction=r), [_u(4), _u(4), _u(4)], REDUCTIONS),
    ("multi_margin", lambda lib, C, x, r: lib.nn.functional.multi_margin_loss(
        x, C(_classes(7, 5)), reduction=r), [_u(7, 5)], REDUCTIONS),
    ("multi_margin_p2_weight", lambda lib, C, x, r: lib.nn.functional.multi_margin_loss(
        x, C(_classes(7, 5)), p=2, margin=0.6, weight=C(W5), reduction=r), [_u(7, 5)],
     REDUCTIONS),
    ("multi_margin_one_sample", lambda lib, C, x, r: lib.nn.functional.multi_margin_loss(
        x, C(np.array(3)), margin=2.0, weight=C(W5), reduction=r), [_u(5)], REDUCTIONS),
    # a 0-d input is one sample of one class, as PyTorch's
    ("multi_margin_0d", lambda lib, C, x, r: lib.nn.functional.multi_margin_loss(
        x, C(np.array(0)), reduction=r), [_u()], REDUCTIONS),
    ("multilabel_soft_margin", lambda lib, C, x, r: lib.nn.functional.multilabel_soft_margin_loss(
        x, C(MULTI), weight=C(W5), reduction=r), [_u(7, 5)], REDUCTIONS),
    ("bce_weight", lambda lib, C, x, r: lib.nn.functional.binary_cross_entropy(
        x, C(MULTI), weight=C(W5), reduction=r), [_u(7, 5, lo=0.05, hi=0.95)], REDUCTIONS),
    ("bce_with_logits_weights", lambda lib, C, x, r:
        lib.nn.functional.binary_cross_entropy_with_logits(
            x, C(MULTI), weight=C(W5), pos_weight=C(W5[::-1].copy()), reduction=r),
     [_u(7, 5)], REDUCTIONS),
    ("kl_div_log_target", lambda lib, C, x, r: lib.nn.functional.kl_div(
        x, C(np.log(T7_PROBS)), reduction=r, log_target=True), [_u(7, 5, lo=-3, hi=-0.1)],
     ("mean", "sum", "none", "batchmean")),
    ("kl_div_target_grad", lambda lib, C, x, t, r: lib.nn.functional.kl_div(
        x, t, reduction=r), [_u(4, 5, lo=-3, hi=-0.1), _u(4, 5, lo=0.05, hi=1)],
     ("mean", "sum", "none", "batchmean")),
    ("kl_div_log_target_grad", lambda lib, C, x, t, r: lib.nn.functional.kl_div(
        x, t, reduction=r, log_target=True), [_u(4, 5, lo=-3, hi=-0.1), _u(4, 5, lo=-3, hi=0)],
     ("mean", "batchmean")),
    ("normalize", lambda lib, C, x: lib.nn.functional.normalize(x, p=3.0, dim=0),
     [_u(4, 5)], None),
    ("normalize_default", lambda lib, C, x: lib.nn.functional.normalize(x), [_u(2, 3, 4)], None),
    # PyTorch's p-"norm" for any p: negative, fractional, and 0 (the count of nonzeros)
    ("normalize_p_neg1", lambda lib, C, x: lib.nn.functional.normalize(x, p=-1.0, dim=1),
     [_u(2, 3, 4)], None),
    ("normalize_p_half", lambda lib, C, x: lib.nn.functional.normalize(x, p=0.5, dim=0),
     [_u(3, 4)], None),
    ("normalize_p0", lambda lib, C, x: lib.nn.functional.normalize(x, p=0.0, dim=-1),
     [_u(3, 4)], None),
    ("cosine_similarity", lambda lib, C, a, b: lib.nn.functional.cosine_similarity(a, b, dim=-1),
     [_u(3, 1, 4), _u(5, 4)], None),
    ("pairwise_distance", lambda lib, C, a, b: lib.nn.functional.pairwise_distance(
        a, b, p=1.5, keepdim=True), [_u(6, 4), _u(6, 4)], None),
    ("pairwise_distance_inf", lambda lib, C, a, b: lib.nn.functional.pairwise_distance(
        a, b, p=float("inf")), [_u(6, 4), _u(4)], None),
    ("cdist", lambda lib, C, a, b: lib.cdist(a, b), [_u(2, 4, 3), _u(2, 6, 3)], None),
    ("cdist_p1", lambda lib, C, a, b: lib.cdist(a, b, p=1.0), [_u(4, 3), _u(6, 3)], None),
]  # fmt: skip


def _run(lib, fn, arrays, dtype, reduction):
    """fn's value and the gradients of its inputs, on pydl or torch, in dtype."""
    is_torch = lib.__name__ == "torch"

    def const(a):
        a = np.asarray(a)
        a = a.astype(dtype) if a.dtype.kind == "f" else a
        return lib.tensor(a) if is_torch else a

    ins = [lib.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out = fn(lib, const, *ins, *([reduction] if reduction is not None else []))
    g = np.random.default_rng(9).uniform(0.5, 1.5, size=tuple(out.shape)).astype(dtype)
    out.backward(lib.tensor(g) if is_torch else g)
    grads = [None if t.grad is None else np.asarray(t.grad.numpy()) for t in ins]
    return (out.detach() if is_torch else out).numpy(), grads


def _cases():
    for cid, fn, specs, reductions in CASES:
        for r in reductions or (None,):
            yield pytest.param(fn, specs, r, id=f"{cid}-{r}" if r else cid)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn, specs, reduction", list(_cases()))
def test_matches_torch(torch, backend, fn, specs, reduction, dtype):
    rng = np.random.default_rng(abs(hash(str(specs))) % 1000)
    arrays = [_sample(rng, s) for s in specs]
    value, grads = _run(pydl, fn, arrays, dtype, reduction)
    t_value, t_grads = _run(torch, fn, arrays, dtype, reduction)
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    assert value.dtype == dtype and value.shape == t_value.shape
    np.testing.assert_allclose(value, t_value, **tol)
    for g, tg in zip(grads, t_grads):
        if tg is None:  # PyTorch does not differentiate it: pydl's is zero or absent
            assert g is None or not np.any(g)
        else:
            assert g is not None and g.dtype == dtype
            np.testing.assert_allclose(g, tg, **tol)


# ----- CTC ----------------------------------------------------------------------------


def _ctc_problem(seed, t=14, n=5, c=6, s=5, impossible=False):
    r = np.random.default_rng(seed)
    logits = r.normal(size=(t, n, c))
    tl = r.integers(0, s + 1, size=n)
    il = r.integers(max(1, t // 2), t + 1, size=n)
    targets = r.integers(1, c, size=(n, s))
    if impossible:  # too many labels for its steps (repeats need blanks between them)
        il[0], tl[0], targets[0, :3] = 3, 3, [2, 2, 2]
    return logits, targets, il, tl


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("concatenated", [False, True])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss_matches_torch(
    torch, backend, seed, reduction, dtype, concatenated, zero_infinity
):
    logits, targets, il, tl = _ctc_problem(seed, impossible=seed == 2)
    tg = np.concatenate([targets[i, : tl[i]] for i in range(len(tl))]) if concatenated else targets
    x = pydl.tensor(logits.astype(dtype), requires_grad=True)
    loss = F.ctc_loss(F.log_softmax(x, 2), tg, il, tl, 0, reduction, zero_infinity)
    tx = torch.tensor(logits.astype(dtype), requires_grad=True)
    t_loss = torch.nn.functional.ctc_loss(
        torch.log_softmax(tx, 2), torch.tensor(tg), torch.tensor(il), torch.tensor(tl),
        reduction=reduction, zero_infinity=zero_infinity,
    )  # fmt: skip
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(loss.numpy(), t_loss.detach().numpy(), **tol)
    if seed == 2 and not zero_infinity:
        assert np.isinf(loss.numpy()).any()
    g = np.linspace(0.5, 1.5, loss.numel()).reshape(loss.shape).astype(dtype)
    loss.backward(g)
    t_loss.backward(torch.tensor(g))
    # through the log_softmax, PyTorch's gradient and ours agree (Note [CTC])
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), equal_nan=True, **tol)


def test_ctc_loss_unbatched_blank_and_module(torch, backend, rng):
    logits = rng.normal(size=(10, 5))
    x = pydl.tensor(logits, requires_grad=True)
    tx = torch.tensor(logits, requires_grad=True)
    target = np.array([0, 1, 3, 3])  # blank = 4
    loss = nn.CTCLoss(blank=4, reduction="sum")(F.log_softmax(x, 1), target, [10], [4])
    t_loss = torch.nn.CTCLoss(blank=4, reduction="sum")(
        torch.log_softmax(tx, 1), torch.tensor(target), torch.tensor([10]), torch.tensor([4])
    )
    np.testing.assert_allclose(loss.numpy(), t_loss.detach().numpy(), rtol=1e-10)
    loss.backward()
    t_loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_ctc_loss_gradient_is_the_log_probs_own(backend, rng):
    """Finite differences of the loss in the log-probabilities themselves (not through a
    log_softmax): the kernel's gradient is d nll / d log_probs."""
    lp = rng.normal(size=(6, 2, 4)) - 1.5
    targets, il, tl = np.array([[1, 2], [3, 3]]), np.array([6, 5]), np.array([2, 2])
    x = pydl.tensor(lp, requires_grad=True)
    F.ctc_loss(x, targets, il, tl, reduction="sum").backward()
    num = np.zeros_like(lp)
    for idx in np.ndindex(lp.shape):
        d = np.zeros_like(lp)
        d[idx] = 1e-6
        f = [F.ctc_loss(pydl.tensor(lp + s * d), targets, il, tl, reduction="sum").item()
             for s in (1, -1)]  # fmt: skip
        num[idx] = (f[0] - f[1]) / 2e-6
    np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((np.array([[1, 6]]), [4], [2]), IndexError, "target 6 .* 6 classes"),
        ((np.array([[1, 0]]), [4], [2]), IndexError, "blank 0"),
        ((np.array([[1, 2]]), [5], [2]), ValueError, r"input_lengths\[0\] = 5"),
        ((np.array([[1, 2]]), [4], [3]), ValueError, r"target_lengths\[0\] = 3"),
        ((np.array([1, 2]), [4], [3]), ValueError, r"target_lengths\[0\] = 3"),
        ((np.array([[1, 2]]), [4, 4], [2]), ValueError, "input_lengths must hold 1"),
    ],
)
def test_ctc_loss_errors(backend, args, error, match):
    lp = pydl.tensor(np.log(np.full((4, 1, 6), 1 / 6)))
    with pytest.raises(error, match=match):
        F.ctc_loss(lp, *args)


def test_ctc_kernel_checks_its_arguments():
    lp = np.zeros((4, 1, 6), np.float32)
    with pytest.raises(IndexError, match="target -1"):
        _core.ctc_loss_forward(lp, np.array([[-1]]), np.array([4]), np.array([1]), 0)
    with pytest.raises(IndexError, match="blank 6"):
        _core.ctc_loss_forward(lp, np.array([[1]]), np.array([4]), np.array([1]), 6)
    with pytest.raises(ValueError, match="target_lengths"):
        _core.ctc_loss_backward(
            np.ones(1, np.float32), lp, np.array([1, 2]), np.array([4]), np.array([3]), 0, False
        )


def test_multi_margin_kernel_checks_its_targets():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        _core.multi_margin_loss_forward(x, np.array([0, 3]), 1, 1.0)
    with pytest.raises(IndexError, match="target -1"):
        _core.multi_margin_loss_backward(np.ones(2, np.float32), x, np.array([-1, 0]), 2, 1.0)


# ----- zero-size batches, edge values, errors --------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_zero_size_batches_match_torch(torch, backend, reduction):
    cases = [
        (F.cross_entropy, torch.nn.functional.cross_entropy, (0, 5), np.zeros(0, np.int64)),
        (F.cross_entropy, torch.nn.functional.cross_entropy, (0, 5), np.zeros((0, 5))),
        (F.nll_loss, torch.nn.functional.nll_loss, (0, 5), np.zeros(0, np.int64)),
        (F.l1_loss, torch.nn.functional.l1_loss, (0, 3), np.zeros((0, 3))),
        (F.smooth_l1_loss, torch.nn.functional.smooth_l1_loss, (0, 3), np.zeros((0, 3))),
    ]
    for fn, tfn, shape, target in cases:
        x = pydl.zeros(*shape, requires_grad=True)
        out = fn(x, target, reduction=reduction)
        t_out = tfn(torch.zeros(*shape), torch.tensor(target), reduction=reduction)
        assert out.shape == tuple(t_out.shape)
        np.testing.assert_array_equal(out.numpy(), t_out.numpy())
        out.sum().backward()
        assert x.grad.shape == shape


def test_all_targets_ignored_is_nan_as_torch(torch, backend):
    x = np.random.default_rng(0).normal(size=(3, 4))
    t = np.full(3, -100)
    for fn, tfn in [
        (F.cross_entropy, torch.nn.functional.cross_entropy),
        (F.nll_loss, torch.nn.functional.nll_loss),
    ]:
        assert np.isnan(fn(pydl.tensor(x), t).item())
        assert np.isnan(tfn(torch.tensor(x), torch.tensor(t)).item())
        assert fn(pydl.tensor(x), t, reduction="sum").item() == 0.0


@pytest.mark.parametrize("label", [5, -1, 1 << 40])
@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_out_of_range_targets_name_value_and_classes(backend, fn, label):
    with pytest.raises(IndexError, match=f"target {label} is out of bounds for 5 classes"):
        fn(pydl.zeros(2, 5), np.array([1, label]))
    with pytest.raises(IndexError, match=f"target {label} is out of bounds for 5 classes"):
        fn(pydl.zeros(2, 5, 3), np.array([[1, 2, 3], [0, label, 1]]))


def test_argument_errors(backend):
    x = pydl.zeros(3, 5)
    t = np.array([0, 1, 2])
    with pytest.raises(RuntimeError, match="weight tensor should be defined"):
        F.cross_entropy(x, t, weight=np.ones(4))
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction"):
        F.l1_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="batch_size"):
        F.cross_entropy(x, np.array([0, 1]))
    with pytest.raises(ValueError, match="probability target"):
        F.cross_entropy(x, np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"\(3, 5\).*\(4,\)"):
        F.l1_loss(x, pydl.zeros(4))
    with pytest.raises(RuntimeError, match="beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(RuntimeError, match="delta"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match="p == 1 and p == 2"):
        F.multi_margin_loss(x, t, p=3)
    with pytest.raises(IndexError, match="target 7 is out of bounds for 5 classes"):
        F.multi_margin_loss(x, np.array([0, 7, 1]))
    with pytest.raises(ValueError, match="var has negative"):
        F.gaussian_nll_loss(x, x, -pydl.ones(3, 5))
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(x, x, pydl.ones(2))
    with pytest.raises(ValueError, match="multiple"):
        F.scaled_dot_product_attention(
            pydl.zeros(1, 3, 2, 4), pydl.zeros(1, 2, 2, 4), pydl.zeros(1, 2, 2, 4), enable_gqa=True
        )


def test_broadcast_targets_warn_as_torch(backend):
    with pytest.warns(UserWarning, match="target size"):
        out = F.l1_loss(pydl.ones(3, 4), pydl.zeros(4), reduction="none")
    assert out.shape == (3, 4)


def test_legacy_size_average_and_reduce(torch, backend):
    x, y = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    for kw in [dict(size_average=False), dict(reduce=False), dict(size_average=True)]:
        ours = F.l1_loss(pydl.tensor(x), y, **kw).numpy()
        theirs = torch.nn.functional.l1_loss(torch.tensor(x), torch.tensor(y), **kw).numpy()
        np.testing.assert_allclose(ours, theirs)
        assert nn.MSELoss(**kw).reduction == torch.nn.MSELoss(**kw).reduction


def test_elementwise_kernel_runs_on_the_core(monkeypatch):
    """The elementwise losses are one core kernel each way (a test that can fail: the
    reference is never called for float32)."""
    from pydl import reference

    def refuse(*args, **kwargs):
        raise AssertionError("the reference ran")

    monkeypatch.setattr(reference, "elementwise_loss_forward", refuse)
    monkeypatch.setattr(reference, "elementwise_loss_backward", refuse)
    monkeypatch.setattr(reference, "ctc_loss_forward", refuse)
    monkeypatch.setattr(reference, "ctc_loss_backward", refuse)
    monkeypatch.setattr(reference, "cross_entropy_forward", refuse)
    monkeypatch.setattr(reference, "cross_entropy_backward", refuse)
    x = pydl.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    F.huber_loss(x, pydl.zeros(4, 3)).backward()
    F.cross_entropy(x, np.array([0, 1, 2, 0]), weight=np.ones(3), label_smoothing=0.1).backward()
    lp = F.log_softmax(pydl.tensor(np.zeros((5, 2, 4), np.float32), requires_grad=True), 2)
    F.ctc_loss(lp, np.array([[1, 2], [3, 0]]), [5, 4], [2, 1]).backward()


# ----- modules ------------------------------------------------------------------------

MODULES = [  # (name, constructor kwargs, inputs maker(rng) -> list of arrays)
    ("CrossEntropyLoss", dict(weight=W5, ignore_index=1, label_smoothing=0.2),
     lambda r: [r.normal(size=(7, 5)), _classes(7, 5)]),
    ("NLLLoss", dict(weight=W5, reduction="sum"),
     lambda r: [r.normal(size=(7, 5)), _classes(7, 5)]),
    ("L1Loss", dict(), lambda r: [r.normal(size=(3, 4)), r.normal(size=(3, 4))]),
    ("SmoothL1Loss", dict(beta=0.5), lambda r: [r.normal(size=(3, 4)), r.normal(size=(3, 4))]),
    ("HuberLoss", dict(delta=0.5), lambda r: [r.normal(size=(3, 4)), r.normal(size=(3, 4))]),
    ("PoissonNLLLoss", dict(full=True), lambda r: [r.normal(size=(3, 4)), r.uniform(0, 3, (3, 4))]),
    ("GaussianNLLLoss", dict(full=True),
     lambda r: [r.normal(size=(3, 4)), r.normal(size=(3, 4)), r.uniform(0.5, 1, (3, 4))]),
    ("MarginRankingLoss", dict(margin=0.2),
     lambda r: [r.normal(size=7), r.normal(size=7), SIGNS]),
    ("HingeEmbeddingLoss", dict(margin=0.5), lambda r: [r.normal(size=(3, 5)), SIGNS35]),
    ("CosineEmbeddingLoss", dict(margin=0.1),
     lambda r: [r.normal(size=(7, 3)), r.normal(size=(7, 3)), SIGNS]),
    ("TripletMarginLoss", dict(margin=0.5, p=1.0, swap=True),
     lambda r: [r.normal(size=(4, 3)), r.normal(size=(4, 3)), r.normal(size=(4, 3))]),
    ("MultiMarginLoss", dict(p=2, weight=W5), lambda r: [r.normal(size=(7, 5)), _classes(7, 5)]),
    ("SoftMarginLoss", dict(), lambda r: [r.normal(size=(3, 5)), SIGNS35]),
    ("MultiLabelSoftMarginLoss", dict(weight=W5), lambda r: [r.normal(size=(7, 5)), MULTI]),
    ("BCEWithLogitsLoss", dict(weight=W5, pos_weight=W5), lambda r: [r.normal(size=(7, 5)), MULTI]),
    ("CosineSimilarity", dict(dim=0), lambda r: [r.normal(size=(3, 4)), r.normal(size=(3, 4))]),
    ("PairwiseDistance", dict(p=3.0, keepdim=True),
     lambda r: [r.normal(size=(3, 4)), r.normal(size=(3, 4))]),
]  # fmt: skip


@pytest.mark.parametrize("name, kwargs, make", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(torch, name, kwargs, make):
    arrays = make(np.random.default_rng(2))
    t_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    ours = getattr(nn, name)(**kwargs)(*[pydl.tensor(a) for a in arrays])
    theirs = getattr(torch.nn, name)(**t_kwargs)(*[torch.tensor(a) for a in arrays])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_weighted_loss_modules_keep_weight_as_a_buffer():
    m = nn.CrossEntropyLoss(weight=W5, label_smoothing=0.1)
    assert list(m.state_dict()) == ["weight"] and m.label_smoothing == 0.1
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert nn.CTCLoss(blank=3).blank == 3 and nn.CTCLoss().zero_infinity is False


def test_constant_targets_keep_the_input_dtype(backend):
    """Float64 NumPy targets, weights and variances of a float32 input do not promote it
    (its float32 kernels run, its gradient is float32)."""
    x = pydl.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    y = np.zeros((3, 4))
    for loss in [
        F.l1_loss(x, y),
        F.mse_loss(x, y, weight=np.ones(4)),
        F.huber_loss(x, y, weight=np.ones(4)),
        F.soft_margin_loss(x, np.ones((3, 4))),
        F.binary_cross_entropy_with_logits(x, y, pos_weight=np.ones(4)),
        F.gaussian_nll_loss(x, y, np.ones((3, 4))),
        F.multilabel_soft_margin_loss(x, y, weight=np.ones(4)),
        F.cross_entropy(x, np.full((3, 4), 0.25), weight=np.ones(4)),
    ]:
        assert loss.dtype == np.float32
        loss.backward()
        assert x.grad.dtype == np.float32


# ----- scaled_dot_product_attention's options ----------------------------------------

SDPA = [  # (query, key, value shapes, attention mask maker or None, keyword arguments)
    ((2, 4, 5, 3), (2, 2, 7, 3), (2, 2, 7, 2), None, dict(enable_gqa=True, scale=0.4)),
    ((2, 6, 5, 3), (2, 2, 5, 3), (2, 2, 5, 4), None, dict(enable_gqa=True, is_causal=True)),
    ((1, 4, 5, 3), (1, 1, 6, 3), (1, 1, 6, 3), lambda r: r.uniform(size=(5, 6)) > 0.3,
     dict(enable_gqa=True)),
    ((2, 4, 5, 3), (2, 2, 6, 3), (2, 2, 6, 3), lambda r: r.normal(size=(4, 1, 6)),
     dict(enable_gqa=True)),
    ((2, 3, 5, 3), (2, 3, 6, 3), (2, 3, 6, 2), lambda r: r.uniform(size=(2, 1, 5, 6)) > 0.5,
     dict(scale=1.3)),
    # a query row that may attend to nothing: zeros, as PyTorch's
    ((1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4),
     lambda r: np.array([[0, 0, 0], [1, 0, 1], [1, 1, 1]], bool), {}),
]  # fmt: skip


@pytest.mark.parametrize("case", range(len(SDPA)))
def test_sdpa_options_match_torch(torch, backend, case):
    qs, ks, vs, make_mask, kwargs = SDPA[case]
    r = np.random.default_rng(case)
    arrays = [r.normal(size=s) for s in (qs, ks, vs)]
    mask = make_mask(r) if make_mask else None
    ours = [pydl.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.scaled_dot_product_attention(*ours, mask, **kwargs)
    t_out = torch.nn.functional.scaled_dot_product_attention(
        *theirs, None if mask is None else torch.tensor(mask), **kwargs
    )
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-9, atol=1e-12)
    g = r.normal(size=out.shape)
    out.backward(g)
    t_out.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-11)
