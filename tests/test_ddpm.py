"""pydl.models.DDPM: seed 002's forward process, its loss and its gradient, the schedules and
ancestral sampling (Note [DDPM steps])."""

import numpy as np
import pytest

import pydl
from pydl import nn
from pydl.models import DDPM, beta_schedule, train_ddpm
from pydl.nn import functional as NF


@pytest.fixture(autouse=True)
def _one_thread():
    """These models' layers are small: a second kernel thread adds only synchronization,
    which on a busy machine made these tests several times slower (results are the same)."""
    with pydl.threads(1):
        yield


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_the_forward_chain_step_by_step_matches_the_closed_form(schedule, rng):
    model = DDPM(dim=3, timesteps=100, schedule=schedule, hidden=8, depth=0, bounds=(-1, 1))
    n = 40_000
    x0 = np.array([0.9, -0.4, 0.0], np.float32)
    x = np.repeat(x0[None], n, axis=0)
    for k in range(100):
        x = model.q_step(x, np.full(n, k), rng.standard_normal(x.shape))
        if k in (0, 9, 49, 99):
            ab = model.alpha_bar[k]
            mean, var = np.sqrt(ab) * x0, 1.0 - ab
            # five standard errors of the sample mean and of the sample variance
            np.testing.assert_allclose(x.mean(axis=0), mean, atol=5 * np.sqrt(var / n))
            np.testing.assert_allclose(x.var(axis=0), var, atol=5 * var * np.sqrt(2 / n))
            # and the closed form's own draws have those moments
            direct = model.q_sample(
                np.repeat(x0[None], n, 0), np.full(n, k), rng.standard_normal(x.shape)
            )
            np.testing.assert_allclose(direct.mean(axis=0), mean, atol=5 * np.sqrt(var / n))


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("timesteps", [10, 200, 1000])
def test_alpha_bar_decreases_inside_the_unit_interval(schedule, timesteps):
    betas = beta_schedule(schedule, timesteps)
    alpha_bar = np.cumprod(1.0 - betas)
    assert betas.shape == (timesteps,) and (betas > 0).all() and (betas < 1).all()
    assert (alpha_bar > 0).all() and (alpha_bar < 1).all()
    assert (np.diff(alpha_bar) < 0).all()
    assert alpha_bar[-1] < 1e-3  # x_T is (nearly) pure noise


def test_the_linear_schedule_is_ho_et_al_s_at_1000_steps():
    betas = beta_schedule("linear", 1000)
    assert betas[0] == pytest.approx(1e-4) and betas[-1] == pytest.approx(0.02)


def _with_random_output(model):
    nn.init.normal_(model.net.out.weight, 0.0, 0.1)  # the zero start would hide gradients
    return model


def test_the_loss_gradient_is_the_spec_s_2_eps_theta_minus_eps(rng):
    model = _with_random_output(DDPM(dim=4, timesteps=20, hidden=16, depth=1))
    x = rng.random((6, 4)).astype(np.float32)
    t = rng.integers(0, 20, 6)
    eps = rng.standard_normal((6, 4)).astype(np.float32)
    x_t = pydl.tensor(model.q_sample(model.to_model_scale(x), t, eps), requires_grad=True)
    eps_theta = model.net(x_t, t)
    loss = NF.mse_loss(eps_theta, pydl.tensor(eps))
    spec = 2 * (eps_theta.numpy() - eps) / eps.size  # the mean over B * dim elements
    (by_pred, by_x_t) = pydl.autograd.grad(loss, [eps_theta, x_t], retain_graph=True)
    np.testing.assert_allclose(by_pred.numpy(), spec, rtol=1e-5, atol=1e-7)
    # dL/dx_t = 2 (eps_theta - eps) d eps_theta / dx_t
    (chain,) = pydl.autograd.grad(eps_theta, x_t, grad_outputs=spec)
    np.testing.assert_allclose(by_x_t.numpy(), chain.numpy(), rtol=1e-5, atol=1e-7)

    # grad_theta L = E[2 (eps_theta - eps) grad_theta eps_theta], through model.loss
    params = list(model.parameters())
    model.zero_grad()
    model.loss(x, t=t, noise=eps).backward()
    got = [p.grad.numpy().copy() for p in params]
    model.zero_grad()
    model.net(pydl.tensor(x_t.numpy()), t).backward(pydl.tensor(spec))
    for g, p in zip(got, params):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-4, atol=1e-7)


class _Oracle(nn.Module):
    """The exact E[eps | x_t] when x_0 ~ N(m, s^2) per dimension."""

    def __init__(self, alpha_bar, m, s):
        super().__init__()
        self.alpha_bar, self.m, self.s = alpha_bar, m, s

    def forward(self, x, level):
        ab = self.alpha_bar[np.asarray(level)][:, None]
        x = x.numpy().astype(np.float64)
        eps = np.sqrt(1 - ab) * (x - np.sqrt(ab) * self.m) / (ab * self.s**2 + 1 - ab)
        return pydl.tensor(eps.astype(np.float32))


def _sampler_std(model, s):
    """The std of ancestral sampling's output with the exact predictor, by the sampler's
    own linear-Gaussian recursion: Var_{t-1} = A_t^2 Var_t + sigma_t^2 from Var_T = 1."""
    b, a, ab = model.betas, model.alphas, model.alpha_bar
    var = np.ones_like(s)
    for k in range(model.timesteps - 1, -1, -1):
        ab_prev = ab[k - 1] if k else 1.0
        c = np.sqrt(1 - ab[k]) / (ab[k] * s**2 + 1 - ab[k])  # eps_hat = c (x - sqrt(ab) m)
        x0_slope = (1 - np.sqrt(1 - ab[k]) * c) / np.sqrt(ab[k])
        A = b[k] * np.sqrt(ab_prev) / (1 - ab[k]) * x0_slope
        A += (1 - ab_prev) * np.sqrt(a[k]) / (1 - ab[k])
        var = A * A * var + (b[k] * (1 - ab_prev) / (1 - ab[k]) if k else 0.0)
    return np.sqrt(var)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_ancestral_sampling_with_the_exact_noise_predictor_recovers_the_data(schedule):
    model = DDPM(dim=2, timesteps=200, schedule=schedule, hidden=8, depth=0, bounds=(-1, 1))
    m, s = np.array([0.1, -0.2]), np.array([0.2, 0.1])
    model.net = _Oracle(model.alpha_bar, m, s)
    x = model.sample(20_000, clip_denoised=False)
    np.testing.assert_allclose(x.mean(axis=0), m, atol=5 * s.max() / np.sqrt(20_000))
    # The posterior variance beta_tilde leaves out Var[x_0 | x_t]'s share, so the draws
    # are a little narrower than the data (5-13% here, less with more steps); the
    # sampler matches its own law to sampling error.
    want = _sampler_std(model, s)
    np.testing.assert_allclose(x.std(axis=0), want, rtol=5 / np.sqrt(2 * 20_000))
    assert (want < s).all() and (want > 0.85 * s).all()
    longer = DDPM(dim=2, timesteps=1000, schedule=schedule, hidden=8, depth=0, bounds=(-1, 1))
    assert (np.abs(_sampler_std(longer, s) - s) < np.abs(want - s) / 3).all()


def test_sampling_is_seeded_and_stays_in_bounds():
    model = _with_random_output(DDPM(dim=5, timesteps=15, hidden=8, depth=1))
    pydl.manual_seed(4)
    a = model.sample(7)
    pydl.manual_seed(4)
    b = model.sample(7)
    assert a.shape == (7, 5) and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert model.training  # sample switches to eval and back


def test_a_short_training_lowers_the_loss():
    pydl.manual_seed(0)
    model = DDPM(dim=2, timesteps=50, hidden=32, depth=1, bounds=(-2, 2))
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((256, 2)) * 0.2 + [0.5, -0.5]).astype(np.float32)
    opt = pydl.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        loss = model.loss(data)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-20:]) < 0.6 * np.mean(losses[:5])
    x = model.sample(500)
    np.testing.assert_allclose(x.mean(axis=0), [0.5, -0.5], atol=0.15)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="schedule"):
        DDPM(schedule="quadratic")
    with pytest.raises(ValueError, match="timesteps"):
        DDPM(timesteps=0)
    with pytest.raises(ValueError, match="bounds"):
        DDPM(bounds=(1, 0))
    with pytest.raises(ValueError, match="bounds"):
        DDPM(bounds=None)
    with pytest.raises(ValueError, match="hidden"):
        DDPM(hidden=0)
    model = DDPM(dim=4, timesteps=10, hidden=8, depth=0)
    with pytest.raises(ValueError, match="x must be a"):
        model.loss(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="t must be"):
        model.loss(np.zeros((3, 4)), t=[0, 1, 10])
    with pytest.raises(ValueError, match="t must hold"):
        model.loss(np.zeros((3, 4)), t=[0, 1])
    with pytest.raises(ValueError, match="noise"):
        model.loss(np.zeros((3, 4)), noise=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="n must be"):
        model.sample(0)


def test_the_digits_recipe_runs():
    metrics = train_ddpm(epochs=1, samples=0)
    assert set(metrics) == {"train_loss", "train_seconds"} and np.isfinite(metrics["train_loss"])
    with pytest.raises(ValueError, match="epochs"):
        train_ddpm(epochs=0)
