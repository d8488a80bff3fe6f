"""Every optimizer: C++ step vs NumPy reference, vs torch.optim, the spec's forms, training,
state_dict resume, bad input; schedulers, clipping and regularization."""

import math

import numpy as np
import pytest

import pydl
from pydl import _core, nn, optim
from pydl.optim import lr_scheduler

SHAPES = [(1,), (7, 5), (2, 3, 4), (40000,)]  # the last spans several parallel chunks

# name -> (pydl factory, torch factory or None); one row per optimizer configuration.
CASES = {
    "sgd": (lambda p: optim.SGD(p, lr=0.1), lambda t, p: t.optim.SGD(p, lr=0.1)),
    "sgd_momentum_wd": (
        lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01),
        lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01),
    ),
    "sgd_nesterov_max": (
        lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, maximize=True),
        lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, maximize=True),
    ),
    "adam": (lambda p: optim.Adam(p, lr=0.01), lambda t, p: t.optim.Adam(p, lr=0.01)),
    "adam_amsgrad_wd": (
        lambda p: optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1),
        lambda t, p: t.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1),
    ),
    "adamw": (
        lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1),
        lambda t, p: t.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    ),
    "nadam": (lambda p: optim.NAdam(p, lr=0.01), lambda t, p: t.optim.NAdam(p, lr=0.01)),
    "nadam_decoupled": (
        lambda p: optim.NAdam(p, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
        lambda t, p: t.optim.NAdam(p, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    ),
    "adagrad": (
        lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
        lambda t, p: t.optim.Adagrad(p, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
    ),
    "rmsprop": (lambda p: optim.RMSprop(p, lr=0.01), lambda t, p: t.optim.RMSprop(p, lr=0.01)),
    "rmsprop_centered_momentum": (
        lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True, weight_decay=0.01),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True, weight_decay=0.01),
    ),
    "adadelta": (lambda p: optim.Adadelta(p, lr=1.0), lambda t, p: t.optim.Adadelta(p, lr=1.0)),
    "adafactor": (
        lambda p: optim.Adafactor(p, lr=0.01, weight_decay=0.01),
        lambda t, p: t.optim.Adafactor(p, lr=0.01, weight_decay=0.01),
    ),
    "lion": (lambda p: optim.Lion(p, lr=1e-3, weight_decay=0.1), None),
    # the spec's forms (not in PyTorch)
    "momentum_spec": (lambda p: optim.Momentum(p, lr=0.05, beta=0.9), None),
    "amsgrad_spec": (lambda p: optim.Adam(p, lr=0.01, amsgrad=True, bias_correction=False), None),
    "rmsprop_spec": (lambda p: optim.RMSprop(p, lr=0.01, eps_in_sqrt=True), None),
    "adafactor_spec": (
        lambda p: optim.Adafactor(p, lr=0.01, d=float("inf"), relative_step=False),
        None,
    ),
    "lamb": (lambda p: optim.LAMB(p, lr=0.01), None),
    "lookahead_adam": (lambda p: optim.Lookahead(optim.Adam(p, lr=0.01), k=3, alpha=0.5), None),
}


def _trajectory(backend, make, steps=30, seed=5, shapes=SHAPES, dtype=np.float32):
    pydl.set_backend(backend)
    rng = np.random.default_rng(seed)
    params = [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in shapes]
    opt = make(params)
    for _ in range(steps):
        for p in params:
            p.grad = pydl.tensor(rng.standard_normal(p.shape).astype(dtype))
        opt.step()
    return [p.numpy().copy() for p in params]


@pytest.mark.parametrize("name", CASES)
def test_core_step_matches_reference(name):
    core = _trajectory("core", CASES[name][0])
    ref = _trajectory("reference", CASES[name][0])
    for c, r in zip(core, ref):
        np.testing.assert_allclose(c, r, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", [n for n, (_, t) in CASES.items() if t is not None])
def test_matches_pytorch_over_50_steps(torch, name):
    make, make_torch = CASES[name]
    mine = _trajectory("core", make, steps=50, shapes=SHAPES[:3])
    rng = np.random.default_rng(5)
    params = [
        torch.nn.Parameter(torch.tensor(rng.standard_normal(s).astype(np.float32)))
        for s in SHAPES[:3]
    ]
    opt = make_torch(torch, params)
    for _ in range(50):
        for p in params:
            p.grad = torch.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32))
        opt.step()
    for m, p in zip(mine, params):
        np.testing.assert_allclose(m, p.detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", CASES)
def test_one_and_two_threads_bit_identical(name):
    """With a tensor large enough to be cut into one part per thread (kSplitElements), so
    the step really runs on two threads."""
    shapes = [*SHAPES, (300, 301)]
    pydl.set_num_threads(1)
    a = _trajectory("core", CASES[name][0], steps=5, shapes=shapes)
    pydl.set_num_threads(2)
    regions = _core._testing.parallel_regions()
    b = _trajectory("core", CASES[name][0], steps=5, shapes=shapes)
    assert _core._testing.parallel_regions() > regions
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("name", CASES)
def test_trains_digits_mlp_to_falling_loss(name):
    (x, y), _ = pydl.data.load_digits()
    x = x[:256].reshape(256, 64)
    y = y[:256]
    model = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    rates = {
        "adadelta": 1.0,
        "lion": 1e-3,
        "adafactor": 1e-2,
        "adagrad": 0.05,
        "momentum_spec": 0.5,
    }
    lr = rates.get(name, None if "sgd" in name else 0.01)  # None: the case's own rate
    make = CASES[name][0]
    opt = make(list(model.parameters()))
    for g in opt.param_groups if lr is not None else ():
        g["lr"] = lr
    losses = []
    for _ in range(40):
        loss = nn.functional.cross_entropy(model(pydl.tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        if "max" in name:  # the maximizing case climbs -loss
            for p in model.parameters():
                p.grad.numpy()[...] *= -1
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.9 * np.mean(losses[:5]), losses


@pytest.mark.parametrize("name", CASES)
def test_state_dict_resume_is_bit_identical(name):
    make = CASES[name][0]
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((5, 3)).astype(np.float32) for _ in range(6)]

    def run(opt, p, gs):
        for g in gs:
            p.grad = pydl.tensor(g)
            opt.step()

    p1 = nn.Parameter(np.ones((5, 3), np.float32))
    o1 = make([p1])
    run(o1, p1, grads[:3])
    saved_param, saved_state = p1.numpy().copy(), o1.state_dict()
    run(o1, p1, grads[3:])
    p2 = nn.Parameter(saved_param)
    o2 = make([p2])
    o2.load_state_dict(saved_state)
    run(o2, p2, grads[3:])
    np.testing.assert_array_equal(p1.numpy(), p2.numpy())


def test_parameter_without_grad_is_skipped():
    a, b = nn.Parameter(np.ones(3, np.float32)), nn.Parameter(np.ones(3, np.float32))
    for make, _ in CASES.values():
        a._array[...] = 1
        b._array[...] = 1
        opt = make([a, b])
        a.grad, b.grad = pydl.tensor(np.ones(3, np.float32)), None
        opt.step()
        np.testing.assert_array_equal(b.numpy(), 1.0)
        assert not np.array_equal(a.numpy(), np.ones(3))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.Adam(p, lr=-1), "learning rate"),
        (lambda p: optim.AdamW(p, betas=(1.0, 0.9)), "beta parameter at index 0"),
        (lambda p: optim.NAdam(p, betas=(0.9, -0.1)), "beta parameter at index 1"),
        (lambda p: optim.RMSprop(p, eps=-1), "epsilon"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), "lr_decay"),
        (lambda p: optim.Adadelta(p, rho=2), "rho"),
        (lambda p: optim.Lion(p, weight_decay=-1), "weight_decay"),
        (lambda p: optim.LAMB(p, lr=-0.1), "learning rate"),
        (lambda p: optim.Adafactor(p, d=0.5), "Clipping threshold"),
        (lambda p: optim.Lookahead(optim.SGD(p, lr=0.1), k=0), "lookahead steps"),
        (lambda p: optim.SGD(p + p, lr=0.1), "more than one"),
        (lambda p: optim.Adam([]), "empty"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(np.zeros(2, np.float32))])


# ----- the spec's forms ---------------------------------------------------------------


def _grads(n, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(4) for _ in range(n)]


def _run(opt_factory, grads, backend="reference"):
    pydl.set_backend(backend)
    p = nn.Parameter(np.linspace(-1, 1, 4))  # float64 on the reference backend
    opt = opt_factory([p])
    for g in grads:
        p.grad = pydl.tensor(g)
        opt.step()
    return p.numpy()


def test_spec_nadam_form():
    gs, lr, b1, b2, eps = _grads(10), 0.01, 0.9, 0.999, 1e-8
    theta, m, v = np.linspace(-1, 1, 4), np.zeros(4), np.zeros(4)
    for t, g in enumerate(gs, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        theta = theta - lr * (b1 * m_hat + (1 - b1) * g / (1 - b1**t)) / (np.sqrt(v_hat) + eps)
    got = _run(lambda p: optim.NAdam(p, lr=lr, momentum_decay=None), gs)
    np.testing.assert_allclose(got, theta, rtol=1e-12)


def test_spec_lamb_form():
    gs, lr, b1, b2, eps = _grads(10), 0.01, 0.9, 0.999, 1e-6
    theta, m, v = np.linspace(-1, 1, 4), np.zeros(4), np.zeros(4)
    for g in gs:
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        u = m / (np.sqrt(v) + eps)
        theta = theta - lr * np.linalg.norm(theta) / np.linalg.norm(u) * u
    got = _run(lambda p: optim.LAMB(p, lr=lr, eps=eps, weight_decay=0, bias_correction=False), gs)
    np.testing.assert_allclose(got, theta, rtol=1e-12)


def test_spec_lion_form():
    gs, lr, beta = _grads(10), 0.01, 0.9
    theta, m = np.linspace(-1, 1, 4), np.zeros(4)
    for g in gs:
        m = beta * m + (1 - beta) * g
        theta = theta - lr * np.sign(m)
    np.testing.assert_allclose(
        _run(lambda p: optim.Lion(p, lr=lr, betas=(beta, beta)), gs), theta, rtol=1e-12
    )


def test_spec_adadelta_and_rmsprop_forms():
    gs, rho, eps = _grads(10), 0.9, 1e-6
    theta, eg, ed = np.linspace(-1, 1, 4), np.zeros(4), np.zeros(4)
    for g in gs:
        eg = rho * eg + (1 - rho) * g * g
        d = -np.sqrt(ed + eps) / np.sqrt(eg + eps) * g
        ed = rho * ed + (1 - rho) * d * d
        theta = theta + d
    np.testing.assert_allclose(
        _run(lambda p: optim.Adadelta(p, rho=rho, eps=eps), gs), theta, rtol=1e-12
    )
    theta, eg, lr = np.linspace(-1, 1, 4), np.zeros(4), 0.01
    for g in gs:  # the spec's RMSProp: eps under the root
        eg = rho * eg + (1 - rho) * g * g
        theta = theta - lr * g / np.sqrt(eg + eps)
    got = _run(lambda p: optim.RMSprop(p, lr=lr, alpha=rho, eps=eps, eps_in_sqrt=True), gs)
    np.testing.assert_allclose(got, theta, rtol=1e-12)
    theta, eg = np.linspace(-1, 1, 4), np.zeros(4)
    for g in gs:  # PyTorch's placement, outside the root
        eg = rho * eg + (1 - rho) * g * g
        theta = theta - lr * g / (np.sqrt(eg) + eps)
    got = _run(lambda p: optim.RMSprop(p, lr=lr, alpha=rho, eps=eps), gs)
    np.testing.assert_allclose(got, theta, rtol=1e-12)


def test_spec_amsgrad_form():
    """The spec's AMSGrad row: no bias correction, p -= lr m / (sqrt(max v) + eps)."""
    gs, lr, b1, b2, eps = _grads(10), 0.01, 0.9, 0.999, 1e-8
    theta, m, v, v_max = np.linspace(-1, 1, 4), np.zeros(4), np.zeros(4), np.zeros(4)
    for g in gs:
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v)
        theta = theta - lr * m / (np.sqrt(v_max) + eps)
    make = lambda p: optim.Adam(p, lr=lr, amsgrad=True, bias_correction=False)  # noqa: E731
    np.testing.assert_allclose(_run(make, gs), theta, rtol=1e-12)


def test_spec_adafactor_fixed_step():
    """relative_step=False with no clipping: p -= lr g / sqrt(v) with v ~ r c / mean(r)
    from the running row and column means of g^2 (beta2_t = 1 - t^-0.8)."""
    rng = np.random.default_rng(3)
    gs, lr, eps1 = [rng.standard_normal((3, 4)) for _ in range(6)], 0.01, 1e-30
    theta, r, c = np.linspace(-1, 1, 12).reshape(3, 4), np.zeros(3), np.zeros(4)
    for t, g in enumerate(gs, 1):
        w = t**-0.8  # 1 - beta2_t
        r = r + w * ((g * g).mean(axis=1) - r)
        c = c + w * ((g * g).mean(axis=0) - c)
        v = np.outer(r, c) / r.mean()
        theta = theta - lr * g / np.sqrt(v)
    pydl.set_backend("reference")
    p = nn.Parameter(np.linspace(-1, 1, 12).reshape(3, 4))
    opt = optim.Adafactor([p], lr=lr, eps=(eps1, 1e-3), d=float("inf"), relative_step=False)
    for g in gs:
        p.grad = pydl.tensor(g)
        opt.step()
    np.testing.assert_allclose(p.numpy(), theta, rtol=1e-12)


def test_spec_momentum_and_nag_forms():
    gs, lr, beta = _grads(6), 0.1, 0.9
    # seed 002's momentum v = beta v + (1 - beta) g, v_0 = 0
    theta, v = np.linspace(-1, 1, 4), np.zeros(4)
    for g in gs:
        v = beta * v + (1 - beta) * g
        theta = theta - lr * v
    np.testing.assert_allclose(
        _run(lambda p: optim.Momentum(p, lr=lr, beta=beta), gs), theta, rtol=1e-12
    )
    # the worked numbers: from 1 with g = 1, two steps give 0.99 and 0.971
    p = nn.Parameter(np.ones(1))
    opt = optim.Momentum([p], lr=0.1, beta=0.9)
    for want in (0.99, 0.971):
        p.grad = pydl.tensor(np.ones(1))
        opt.step()
        np.testing.assert_allclose(p.numpy(), [want], rtol=1e-12)
    # seed 000's momentum v = mu v + g is PyTorch's SGD(momentum=mu)
    theta, v = np.linspace(-1, 1, 4), np.zeros(4)
    for g in gs:
        v = beta * v + g
        theta = theta - lr * v
    np.testing.assert_allclose(
        _run(lambda p: optim.SGD(p, lr=lr, momentum=beta), gs), theta, rtol=1e-12
    )
    # PyTorch's nesterov: p -= lr (g + mu v) with v = mu v + g
    theta, v = np.linspace(-1, 1, 4), np.zeros(4)
    for g in gs:
        v = beta * v + g
        theta = theta - lr * (g + beta * v)
    np.testing.assert_allclose(
        _run(lambda p: optim.SGD(p, lr=lr, momentum=beta, nesterov=True), gs), theta, rtol=1e-12
    )


def test_lookahead_matches_its_definition():
    gs, lr = _grads(7), 0.1
    fast = np.linspace(-1, 1, 4)
    slow = fast.copy()
    for t, g in enumerate(gs, 1):
        fast = fast - lr * g
        if t % 3 == 0:
            slow = slow + 0.5 * (fast - slow)
            fast = slow.copy()
    got = _run(lambda p: optim.Lookahead(optim.SGD(p, lr=lr), k=3, alpha=0.5), gs)
    np.testing.assert_allclose(got, fast, rtol=1e-12)


# ----- schedulers, clipping, regularization ------------------------------------------------

SCHEDULERS = {
    "step": (
        lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
        lambda t, o: t.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    ),
    "exponential": (
        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
        lambda t, o: t.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
    ),
    "cosine": (
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
        lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
    ),
    "linear": (
        lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4),
        lambda t, o: t.optim.lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4),
    ),
    "lambda": (
        lambda o: lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + e)),
        lambda t, o: t.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + e)),
    ),
}


def _lrs(make, optimizer, steps=12):
    sched = make(optimizer)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(steps):
        optimizer.step()
        sched.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_values(name):
    p = nn.Parameter(np.zeros(2, np.float32))
    p.grad = pydl.tensor(np.zeros(2, np.float32))
    lrs = _lrs(SCHEDULERS[name][0], optim.SGD([p], lr=0.1))
    expected = {
        "step": [0.1 * 0.5 ** (e // 3) for e in range(13)],
        "exponential": [0.1 * 0.9**e for e in range(13)],
        "cosine": [0.01 + 0.09 * (1 + math.cos(math.pi * e / 10)) / 2 for e in range(13)],
        "linear": [0.1 * (0.25 + 0.75 * min(e, 4) / 4) for e in range(13)],
        "lambda": [0.1 / (1 + e) for e in range(13)],
    }[name]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_matches_pytorch(torch, name):
    tp = torch.nn.Parameter(torch.zeros(2))
    tp.grad = torch.zeros(2)
    topt = torch.optim.SGD([tp], lr=0.1)
    tsched = SCHEDULERS[name][1](torch, topt)
    want = [topt.param_groups[0]["lr"]]
    for _ in range(12):
        topt.step()
        tsched.step()
        want.append(topt.param_groups[0]["lr"])
    p = nn.Parameter(np.zeros(2, np.float32))
    p.grad = pydl.tensor(np.zeros(2, np.float32))
    np.testing.assert_allclose(_lrs(SCHEDULERS[name][0], optim.SGD([p], lr=0.1)), want, rtol=1e-9)


def test_clip_grad_norm_and_value():
    a = nn.Parameter(np.zeros(3, np.float32))
    b = nn.Parameter(np.zeros(4, np.float32))
    a.grad = pydl.tensor(np.array([3.0, 0.0, 0.0], np.float32))
    b.grad = pydl.tensor(np.array([0.0, 4.0, 0.0, 0.0], np.float32))
    total = nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.numpy(), [3 / 5, 0, 0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy()[1], 4 / 5, rtol=1e-5)
    total = nn.utils.clip_grad_norm_([a, b], max_norm=10.0)  # below the limit: unchanged
    assert total.item() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(a.grad.numpy(), [3 / 5, 0, 0], rtol=1e-5)
    assert nn.utils.clip_grad_norm_([a, b], 1.0, norm_type=math.inf).item() == pytest.approx(0.8)
    nn.utils.clip_grad_value_([a, b], 0.5)
    np.testing.assert_allclose(b.grad.numpy(), [0, 0.5, 0, 0])
    a.grad = pydl.tensor(np.array([np.nan, 1, 1], np.float32))
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_matches_pytorch(torch):
    rng = np.random.default_rng(0)
    gs = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,)]]
    ps = [nn.Parameter(np.zeros_like(g)) for g in gs]
    ts = [torch.nn.Parameter(torch.zeros(g.shape)) for g in gs]
    for p, t, g in zip(ps, ts, gs):
        p.grad, t.grad = pydl.tensor(g), torch.tensor(g)
    for norm_type in (2.0, 1.0, math.inf):
        mine = nn.utils.clip_grad_norm_(ps, 0.5, norm_type=norm_type).item()
        theirs = torch.nn.utils.clip_grad_norm_(ts, 0.5, norm_type=norm_type).item()
        assert mine == pytest.approx(theirs, rel=1e-5)
        for p, t in zip(ps, ts):
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("backend", ["core", "reference"])
def test_l1_and_l2_penalties(backend):
    pydl.set_backend(backend)
    w = nn.Parameter(np.array([[0.5, -2.0], [1.5, 0.25]], np.float32))
    l2 = nn.utils.l2_penalty([w], 0.1)  # lambda/2 sum W^2; gradient lambda W
    assert l2.item() == pytest.approx(0.05 * np.sum(w.numpy() ** 2))
    l2.backward()
    np.testing.assert_allclose(w.grad.numpy(), 0.1 * w.numpy(), rtol=1e-6)
    w.grad = None
    l1 = nn.utils.l1_penalty([w], 0.1)  # lambda sum |W|; gradient lambda sign(W)
    assert l1.item() == pytest.approx(0.1 * np.sum(np.abs(w.numpy())))
    l1.backward()
    np.testing.assert_allclose(w.grad.numpy(), 0.1 * np.sign(w.numpy()), rtol=1e-6)
