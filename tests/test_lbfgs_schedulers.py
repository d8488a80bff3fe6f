"""LBFGS, step(closure), the lr schedulers and swa_utils against PyTorch's."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import pydl
from pydl import nn, optim

# ---------------------------------------------------------------------------- LBFGS


def _problem(lib, name, dtype):
    """(params, loss function) of a deterministic problem in `lib` (pydl or torch)."""
    make = lib.tensor
    if name == "rosenbrock":
        x = make(np.array([-1.5, 2.0, 0.5, -0.7], dtype), requires_grad=True)

        def f():
            return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()

        return [x], f
    rng = np.random.default_rng(0)
    a, b = make(rng.normal(size=(20, 5)).astype(dtype)), make(rng.normal(size=20).astype(dtype))
    w = make(np.zeros(5, dtype), requires_grad=True)
    c = make(np.zeros(1, dtype), requires_grad=True)
    return [w, c], lambda: (((a @ w) + c - b) ** 2).mean()


def _lbfgs_run(lib, name, dtype, steps=4, **kw):
    params, f = _problem(lib, name, dtype)
    opt = lib.optim.LBFGS(params, **kw)

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        loss = opt.step(closure)
        flat = np.concatenate([p.detach().numpy().ravel() for p in params])
        out.append((float(loss.detach()), flat))
    return out, opt.state[params[0]]["func_evals"], opt


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("name", ["rosenbrock", "least_squares"])
def test_lbfgs_iterates_match_torch(torch, name, line_search_fn):
    kw = dict(lr=1, max_iter=15, history_size=5, line_search_fn=line_search_fn)
    ours, our_evals, _ = _lbfgs_run(pydl, name, np.float64, **kw)
    theirs, their_evals, _ = _lbfgs_run(torch, name, np.float64, **kw)
    assert our_evals == their_evals
    for (lo, xo), (lt, xt) in zip(ours, theirs):
        assert lo == pytest.approx(lt, rel=1e-10, abs=1e-14)
        np.testing.assert_allclose(xo, xt, rtol=1e-10, atol=1e-12)
    if name == "least_squares":  # converged to the least-squares solution
        assert ours[-1][0] == pytest.approx(theirs[-1][0], rel=1e-12)


def test_lbfgs_defaults_float32_and_state(torch):
    ours, _, opt = _lbfgs_run(pydl, "least_squares", np.float32, steps=2)
    theirs, _, _ = _lbfgs_run(torch, "least_squares", np.float32, steps=2)
    np.testing.assert_allclose(ours[-1][1], theirs[-1][1], rtol=1e-4, atol=1e-5)
    assert opt.defaults == dict(lr=1, max_iter=20, max_eval=25, tolerance_grad=1e-7,
                                tolerance_change=1e-9, history_size=100,
                                line_search_fn=None)  # fmt: skip
    state = opt.state_dict()["state"][0]
    assert {"d", "t", "old_dirs", "old_stps", "ro", "H_diag", "n_iter", "func_evals"} <= set(state)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [nn.Parameter(np.zeros(1))]},
                     {"params": [nn.Parameter(np.zeros(1))]}])  # fmt: skip
    with pytest.raises(RuntimeError, match="closure"):
        opt.step()
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([nn.Parameter(np.zeros(1))], line_search_fn="armijo")


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_step_with_closure_matches_torch(torch, name):
    """Every optimizer's step(closure) evaluates the closure (gradients on, even under
    no_grad), steps, and returns the closure's loss."""

    def run(lib):
        (w, c), f = _problem(lib, "least_squares", np.float64)
        opt = getattr(lib.optim, name)([w, c], lr=0.05)
        calls = []

        def closure():
            calls.append(1)
            opt.zero_grad()
            loss = f()
            loss.backward()
            return loss

        losses = []
        with lib.no_grad():
            for _ in range(5):
                losses.append(float(opt.step(closure)))
        assert len(calls) == 5 and opt.step() is None
        return losses, w.detach().numpy().copy()

    (lo, wo), (lt, wt) = run(pydl), run(torch)
    np.testing.assert_allclose(lo, lt, rtol=1e-10)
    np.testing.assert_allclose(wo, wt, rtol=1e-10, atol=1e-12)


def test_lookahead_step_returns_closure_loss():
    p = nn.Parameter(np.ones(2))
    opt = optim.Lookahead(optim.SGD([p], lr=0.1), k=2)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == pytest.approx(2.0)


# ------------------------------------------------------------------------- schedulers


def _params(lib):
    """Two parameter groups with zero gradients (steps leave them unchanged)."""
    if lib is pydl:
        ps = [nn.Parameter(np.zeros(2, np.float32)) for _ in range(2)]
        for p in ps:
            p.grad = pydl.tensor(np.zeros(2, np.float32))
    else:
        ps = [lib.nn.Parameter(lib.zeros(2)) for _ in range(2)]
        for p in ps:
            p.grad = lib.zeros(2)
    return [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.05}]


SGD = lambda m, g: m.SGD(g, lr=0.1, momentum=0.9)  # noqa: E731
ADAM = lambda m, g: m.Adam(g, lr=0.1)  # noqa: E731

SCHEDULERS = {
    "step": (SGD, lambda m, o: m.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    "multistep": (SGD, lambda m, o: m.lr_scheduler.MultiStepLR(o, [5, 12, 12, 30], gamma=0.3)),
    "constant": (SGD, lambda m, o: m.lr_scheduler.ConstantLR(o, factor=0.25, total_iters=9)),
    "linear": (SGD, lambda m, o: m.lr_scheduler.LinearLR(o, 0.1, 0.8, total_iters=17)),
    "exponential": (SGD, lambda m, o: m.lr_scheduler.ExponentialLR(o, gamma=0.93)),
    "lambda": (
        SGD,
        lambda m, o: m.lr_scheduler.LambdaLR(o, [lambda e: 0.97**e, lambda e: 1 / (1 + e)]),
    ),  # fmt: skip
    "multiplicative": (SGD, lambda m, o: m.lr_scheduler.MultiplicativeLR(o, lambda e: 0.95)),
    "polynomial": (SGD, lambda m, o: m.lr_scheduler.PolynomialLR(o, total_iters=40, power=2.0)),
    "cosine": (SGD, lambda m, o: m.lr_scheduler.CosineAnnealingLR(o, T_max=13, eta_min=0.001)),
    "warm_restarts": (
        SGD,
        lambda m, o: m.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, eta_min=1e-3),
    ),  # fmt: skip
    "onecycle_cos": (
        SGD,
        lambda m, o: m.lr_scheduler.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=70),
    ),  # fmt: skip
    "onecycle_linear_three_phase_adam": (
        ADAM,
        lambda m, o: m.lr_scheduler.OneCycleLR(
            o,
            max_lr=0.3,
            epochs=7,
            steps_per_epoch=10,
            pct_start=0.25,
            anneal_strategy="linear",
            three_phase=True,
            base_momentum=0.8,
            max_momentum=0.92,
            div_factor=10.0,
            final_div_factor=100.0,
        ),
    ),  # fmt: skip
    "onecycle_no_momentum": (
        SGD,
        lambda m, o: m.lr_scheduler.OneCycleLR(o, max_lr=0.2, total_steps=70, cycle_momentum=False),
    ),  # fmt: skip
    "cyclic_triangular2": (
        SGD,
        lambda m, o: m.lr_scheduler.CyclicLR(
            o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=6, step_size_down=4, mode="triangular2"
        ),
    ),  # fmt: skip
    "cyclic_exp_range_adam": (
        ADAM,
        lambda m, o: m.lr_scheduler.CyclicLR(
            o, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.97
        ),
    ),  # fmt: skip
    "cyclic_scale_fn": (
        SGD,
        lambda m, o: m.lr_scheduler.CyclicLR(
            o,
            0.01,
            0.1,
            step_size_up=3,
            scale_fn=lambda x: 0.9**x,
            scale_mode="iterations",
            cycle_momentum=False,
        ),
    ),  # fmt: skip
    "sequential": (
        SGD,
        lambda m, o: m.lr_scheduler.SequentialLR(
            o,
            [
                m.lr_scheduler.LinearLR(o, 0.1, total_iters=5),
                m.lr_scheduler.CosineAnnealingLR(o, T_max=20),
                m.lr_scheduler.ExponentialLR(o, 0.9),
            ],
            milestones=[5, 25],
        ),
    ),  # fmt: skip
    "chained": (
        SGD,
        lambda m, o: m.lr_scheduler.ChainedScheduler(
            [
                m.lr_scheduler.ConstantLR(o, factor=0.1, total_iters=4),
                m.lr_scheduler.ExponentialLR(o, gamma=0.95),
                m.lr_scheduler.MultiStepLR(o, [10, 20]),
            ]
        ),
    ),  # fmt: skip
    "swalr_cos": (SGD, lambda m, o: m.swa_utils.SWALR(o, swa_lr=0.02, anneal_epochs=7)),
    "swalr_linear": (
        SGD,
        lambda m, o: m.swa_utils.SWALR(
            o, swa_lr=[0.02, 0.01], anneal_epochs=3, anneal_strategy="linear"
        ),
    ),  # fmt: skip
}


def _trace(lib, name, steps=69, resume_at=None):
    make_opt, make_sched = SCHEDULERS[name]
    opt = make_opt(lib.optim, _params(lib))
    sched = make_sched(lib.optim, opt)

    def record():
        g = opt.param_groups
        return ([x["lr"] for x in g], [x.get("momentum", x.get("betas", (None,))[0]) for x in g],
                list(sched.get_last_lr()))  # fmt: skip

    out = [record()]
    for i in range(steps):
        if i == resume_at:  # a fresh optimizer and scheduler from their state dicts
            state, opt_state = copy.deepcopy(sched.state_dict()), opt.state_dict()
            opt = make_opt(lib.optim, _params(lib))
            sched = make_sched(lib.optim, opt)  # before loading (its init sets the lrs)
            opt.load_state_dict(opt_state)
            sched.load_state_dict(state)
        opt.step()
        sched.step()
        out.append(record())
    return out


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_sequence_matches_torch(torch, name):
    ours, theirs = _trace(pydl, name), _trace(torch, name)
    for step, (o, t) in enumerate(zip(ours, theirs)):
        for a, b in zip(o, t):
            np.testing.assert_allclose(np.array(a, float), np.array(b, float), rtol=1e-12,
                                       err_msg=f"{name} step {step}")  # fmt: skip
    assert len({tuple(r[0]) for r in ours}) > 1  # the schedule moved


RESUMABLE = ["multistep", "onecycle_cos", "cyclic_triangular2", "sequential", "chained",
             "warm_restarts", "swalr_cos"]  # fmt: skip


@pytest.mark.parametrize("name", RESUMABLE)
def test_scheduler_state_dict_resume(name):
    straight = _trace(pydl, name, steps=40)
    resumed = _trace(pydl, name, steps=40, resume_at=17)
    assert straight == resumed


def test_warm_restarts_fractional_epochs_match_torch(torch):
    def run(lib):
        opt = lib.optim.SGD(_params(lib), lr=0.1)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2,
                                                                   eta_min=0.01)  # fmt: skip
        lrs = []
        for epoch in range(12):
            for i in range(5):
                sched.step(epoch + i / 5)
                lrs.append(sched.get_last_lr())
        sched.step(2)  # back in time: the first cycle
        lrs.append(sched.get_last_lr())
        return lrs

    np.testing.assert_allclose(run(pydl), run(torch), rtol=1e-12)


def test_step_with_epoch_uses_closed_form(torch):
    def run(lib):
        opt = lib.optim.SGD(_params(lib), lr=0.1)
        sched = lib.optim.lr_scheduler.MultiStepLR(opt, [3, 6], gamma=0.5)
        opt.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(7)
        return sched.get_last_lr()

    assert run(pydl) == pytest.approx(run(torch), rel=1e-12)


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.01, threshold_mode="abs"),
    dict(patience=1, cooldown=3, min_lr=[0.02, 0.001], factor=0.3),
    dict(patience=0, threshold=0.1, eps=0.02, factor=0.5),
]


@pytest.mark.parametrize("kw", PLATEAU, ids=range(len(PLATEAU)))
def test_reduce_on_plateau_matches_torch(torch, kw):
    metrics = np.random.default_rng(3).normal(size=80).cumsum() * 0.1 + 5

    def run(lib):
        opt = lib.optim.SGD(_params(lib), lr=0.1)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        out = []
        for m in metrics:
            opt.step()
            sched.step(m)
            out.append((sched.get_last_lr(), sched.num_bad_epochs, sched.cooldown_counter))
        return out

    ours, theirs = run(pydl), run(torch)
    assert [o[1:] for o in ours] == [t[1:] for t in theirs]
    np.testing.assert_allclose([o[0] for o in ours], [t[0] for t in theirs], rtol=1e-12)
    assert len({tuple(o[0]) for o in ours}) > 1


def test_scheduler_errors_match_torch(torch):
    cases = [
        lambda m, o: m.lr_scheduler.ReduceLROnPlateau(o, factor=1.0),
        lambda m, o: m.lr_scheduler.ReduceLROnPlateau(o, mode="avg"),
        lambda m, o: m.lr_scheduler.OneCycleLR(o, max_lr=0.1),
        lambda m, o: m.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5),
        lambda m, o: m.lr_scheduler.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="x"),
        lambda m, o: m.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0),
        lambda m, o: m.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
        lambda m, o: m.lr_scheduler.CyclicLR(o, 0.01, 0.1, mode="wave"),
        lambda m, o: m.lr_scheduler.ConstantLR(o, factor=2.0),
        lambda m, o: m.lr_scheduler.LambdaLR(o, [lambda e: 1.0]),
        lambda m, o: m.lr_scheduler.SequentialLR(o, [m.lr_scheduler.ConstantLR(o)], [3]),
        lambda m, o: m.swa_utils.SWALR(o, 0.1, anneal_strategy="step"),
        lambda m, o: m.swa_utils.SWALR(o, 0.1, anneal_epochs=-1),
    ]
    for make in cases:
        with pytest.raises(ValueError) as ours:
            make(optim, optim.SGD(_params(pydl), lr=0.1, momentum=0.9))
        with pytest.raises(ValueError) as theirs:
            make(torch.optim, torch.optim.SGD(_params(torch), lr=0.1, momentum=0.9))
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="momentum"):
        optim.lr_scheduler.OneCycleLR(optim.Adagrad(_params(pydl)), 0.1, total_steps=5)
    opt = optim.SGD(_params(pydl), lr=0.1)
    sched = optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()


# ------------------------------------------------------------------------- swa_utils


def _net(lib, seed):
    rng = np.random.default_rng(seed)
    net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Linear(4, 2))
    with lib.no_grad():
        for p in net.parameters():
            p.copy_(lib.tensor(rng.normal(size=tuple(p.shape)).astype(np.float32)))
    return net


def _copy_into(dst, src):
    """src's (torch) parameters and buffers into dst (pydl)."""
    for d, s in zip(list(dst.parameters()) + list(dst.buffers()),
                    list(src.parameters()) + list(src.buffers())):  # fmt: skip
        d._array[...] = s.detach().numpy()


@pytest.mark.parametrize(
    "kind", ["swa", "ema_multi", "ema_avg_fn", "swa_use_buffers", "ema_use_buffers"]
)
def test_averaged_model_matches_torch(torch, kind):
    def build(lib):
        u = lib.optim.swa_utils
        kw = {
            "swa": {},
            "ema_multi": dict(multi_avg_fn=u.get_ema_multi_avg_fn(0.9)),
            "ema_avg_fn": dict(avg_fn=u.get_ema_avg_fn(0.8)),
            "swa_use_buffers": dict(use_buffers=True),
            "ema_use_buffers": dict(multi_avg_fn=u.get_ema_multi_avg_fn(0.7), use_buffers=True),
        }[kind]
        return kw

    tnet, pnet = _net(torch, 0), _net(pydl, 0)
    _copy_into(pnet, tnet)
    tavg = torch.optim.swa_utils.AveragedModel(tnet, **build(torch))
    pavg = optim.swa_utils.AveragedModel(pnet, **build(pydl))
    rng = np.random.default_rng(1)
    for step in range(5):
        x = rng.normal(size=(6, 3)).astype(np.float32)
        tnet.train(), pnet.train()
        tnet(torch.tensor(x)), pnet(pydl.tensor(x))  # moves the BatchNorm buffers
        with torch.no_grad():
            for p in tnet.parameters():
                p.add_(torch.tensor(rng.normal(size=tuple(p.shape)).astype(np.float32)))
        _copy_into(pnet, tnet)
        tavg.update_parameters(tnet)
        pavg.update_parameters(pnet)
        ours = dict(pavg.state_dict())
        for k, v in tavg.state_dict().items():
            got, want = np.asarray(ours[k], float), v.numpy().astype(float)
            msg = f"{kind} {k} step {step}"
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=msg)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    tavg.eval(), pavg.eval()
    ours, theirs = pavg(pydl.tensor(x)).detach().numpy(), tavg(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_update_bn_matches_torch(torch):
    tnet, pnet = _net(torch, 2), _net(pydl, 2)
    _copy_into(pnet, tnet)
    x = np.random.default_rng(4).normal(size=(30, 3)).astype(np.float32)
    tloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x)),
                                          batch_size=7)  # fmt: skip
    ploader = pydl.utils.data.DataLoader(pydl.utils.data.TensorDataset(x), batch_size=7)
    tnet.eval(), pnet.eval()
    torch.optim.swa_utils.update_bn(tloader, tnet)
    optim.swa_utils.update_bn(ploader, pnet)
    assert not pnet.training and pnet[1].momentum == 0.1
    np.testing.assert_allclose(pnet[1].running_mean.numpy(), tnet[1].running_mean.numpy(),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(pnet[1].running_var.numpy(), tnet[1].running_var.numpy(),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    assert int(pnet[1].num_batches_tracked.item()) == int(tnet[1].num_batches_tracked)
