"""RealNVP of pydl.models (Note [RealNVP directions]): invertibility, the log-det against
the autograd Jacobian, a normalized density, sampling through the inverse, training."""

import math

import numpy as np
import pytest

import pydl
from pydl.models import RealNVP, train_realnvp
from pydl.models.evaluation import dequantize, digit_levels


def _random_flow(dims, couplings=4, hidden=(16,), std=0.3):
    """A flow far from the identity: every parameter moved by N(0, std^2)."""
    pydl.manual_seed(0)
    flow = RealNVP(couplings, hidden, dims=dims)
    with pydl.no_grad():
        for p in flow.parameters():
            p.add_(pydl.randn(*p.shape) * std)
    return flow.eval()


def test_inverse_of_forward_is_the_identity():
    flow = _random_flow(64, couplings=6, hidden=(32, 32), std=0.05)
    y = dequantize(digit_levels("test")[0][:32], np.random.default_rng(0))
    z0, log_det = flow(y)
    back, log_det_back = flow.inverse(z0)
    np.testing.assert_allclose(back.numpy(), y, atol=1e-5)
    np.testing.assert_allclose(log_det_back.numpy(), log_det.numpy(), rtol=1e-5)
    s = 0.05 + 0.9 * y  # the couplings and linear maps do move z0 off the logit map's
    assert np.abs(z0.numpy() - np.log(s / (1 - s))).mean() > 0.5


@pytest.mark.parametrize("dims", [4, 6])
def test_summed_log_det_is_that_of_the_autograd_jacobian(dims):
    """S = sum_k log|det df_k/dz_{k-1}| against log|det dx/dz0| of x = f_K o ... o f_1(z0),
    the Jacobian built row by row with pydl.autograd.grad (4 features: a 2x2 checkerboard;
    6: alternating indices)."""
    flow = _random_flow(dims)
    z0 = pydl.tensor(np.random.default_rng(1).normal(size=(5, dims)), requires_grad=True)
    x, log_det = flow.inverse(z0)
    rows = []
    for i in range(dims):  # row i of each point's Jacobian: d x_i / d z0 (rows independent)
        (g,) = pydl.autograd.grad(x[:, i].sum(), z0, retain_graph=True)
        rows.append(g.numpy().astype(np.float64))
    jac = np.stack(rows, axis=1)  # (points, dims, dims)
    want = np.linalg.slogdet(jac)[1]
    np.testing.assert_allclose(log_det.detach().numpy(), want, rtol=1e-4, atol=1e-4)
    # and the data-to-noise pass gives the same sum at x: log p(x) is the spec's line
    _, from_x = flow(x.detach())
    np.testing.assert_allclose(from_x.numpy(), want, rtol=1e-4, atol=1e-4)


def test_density_integrates_to_one():
    """In two dimensions the density over the cube the logit map reaches sums to 1."""
    flow = _random_flow(2, couplings=4, hidden=(16,), std=0.5)
    edge = 0.05 / 0.9  # the logit map reaches (-a/(1-2a), 1 + a/(1-2a))
    n = 400
    ticks = np.linspace(-edge, 1 + edge, n + 1)
    mid = (ticks[:-1] + ticks[1:]) / 2
    grid = np.stack(np.meshgrid(mid, mid), -1).reshape(-1, 2)
    with pydl.no_grad():
        p = np.exp(flow.log_prob(grid).numpy().astype(np.float64))
    assert (p * (ticks[1] - ticks[0]) ** 2).sum() == pytest.approx(1.0, abs=0.02)


def test_sampling_runs_the_inverse():
    flow = _random_flow(64, hidden=(16,), std=0.1)
    pydl.manual_seed(3)
    samples = flow.sample(16)
    pydl.manual_seed(3)
    x, _ = flow.inverse(pydl.randn(16, 64))
    np.testing.assert_array_equal(samples, np.clip(x.numpy(), 0, 1))
    assert samples.shape == (16, 64) and 0 <= samples.min() and samples.max() <= 1


def test_loss_is_the_dequantized_bound_and_training_lowers_it():
    pydl.manual_seed(0)
    flow = RealNVP(4, (32,))
    x = digit_levels("train")[0][:256]
    # untrained, the flow is the logit map alone: its loss is exact
    pydl.manual_seed(5)
    loss = flow.loss(x[:64]).item()
    pydl.manual_seed(5)
    seed = pydl._random.uniform_(np.empty(4, np.float32)).view(np.uint32)
    y = dequantize(x[:64], np.random.default_rng(seed))
    with pydl.no_grad():
        log_p = flow.log_prob(y).numpy().astype(np.float64)
    assert loss == pytest.approx(-(log_p.mean() - 64 * math.log(17)), rel=1e-5)
    opt = pydl.optim.Adam(flow.parameters(), lr=3e-3)
    losses = []
    for i in range(30):
        step = flow.loss(x[(i % 4) * 64 : (i % 4 + 1) * 64])
        opt.zero_grad()
        step.backward()
        opt.step()
        losses.append(step.item())
    assert np.mean(losses[-4:]) < losses[0] - 20  # nats per digit


def test_bits_per_dim_is_the_dequantized_bound_without_dropout():
    pydl.manual_seed(0)
    flow = RealNVP(2, (16,), dropout=0.5)
    with pydl.no_grad():
        for p in flow.parameters():
            p.add_(pydl.randn(*p.shape) * 0.1)
    x = digit_levels("test")[0][:16]
    bits = flow.bits_per_dim(x, draws=3, seed=7)
    assert flow.training
    rng = np.random.default_rng(7)
    with pydl.no_grad():
        flow.eval()
        log_p = np.mean([flow.log_prob(dequantize(x, rng)).numpy() for _ in range(3)], axis=0)
    assert bits == pytest.approx(-(log_p.mean() / 64 - math.log(17)) / math.log(2), rel=1e-6)


def test_train_realnvp_reports_the_table_metrics():
    m = train_realnvp(epochs=1, samples=0)
    assert 2.0 < m["test_bits_per_dim"] < math.log2(17)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="couplings"):
        RealNVP(couplings=0)
    with pytest.raises(ValueError, match="hidden"):
        RealNVP(hidden=())
    with pytest.raises(ValueError, match="dropout"):
        RealNVP(dropout=-0.1)
    with pytest.raises(ValueError, match="dims"):
        RealNVP(dims=1)
    flow = RealNVP(2, (8,))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 64\)"):
        flow.log_prob(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"z0 must have shape \(B, 64\)"):
        flow.inverse(np.zeros(64, np.float32))
    with pytest.raises(ValueError, match="levels in 0..16"):
        flow.loss(np.full((2, 64), 20))
    with pytest.raises(ValueError, match="loss takes digits"):
        RealNVP(2, (8,), dims=4).loss(np.zeros((2, 64), np.int64))
    with pytest.raises(ValueError, match="temperature"):
        flow.sample(2, temperature=-1.0)
