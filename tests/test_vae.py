"""The VAE of pydl.models (Note [VAE on digit levels]): the spec's KL gradients, the ELBO
below the importance-weighted bound, sampling, training."""

import math

import numpy as np
import pytest

import pydl
from pydl.models import VAE, train_vae
from pydl.models.evaluation import digit_levels

from helpers import train_on_digits


def _trained(steps=40):
    pydl.manual_seed(0)
    return train_on_digits(VAE(latent=8, hidden=(64,), features=8), steps)


def test_kl_gradients_are_the_specs():
    """dKL/dmu_i = mu_i and dKL/dsigma_i = sigma_i - 1/sigma_i (seed 002), with KL written
    in sigma through log sigma^2 = 2 log sigma, as the VAE's encoder head gives it."""
    rng = np.random.default_rng(0)
    mu = pydl.tensor(rng.normal(size=(5, 3)), dtype=pydl.float64, requires_grad=True)
    sigma = pydl.tensor(rng.uniform(0.2, 3.0, (5, 3)), dtype=pydl.float64, requires_grad=True)
    kl = pydl.nn.functional.gaussian_kl_divergence(mu, 2 * sigma.log(), reduction="sum")
    d_mu, d_sigma = pydl.autograd.grad(kl, [mu, sigma])
    m, s = mu.numpy(), sigma.numpy()
    np.testing.assert_allclose(d_mu.numpy(), m, rtol=1e-12)
    np.testing.assert_allclose(d_sigma.numpy(), s - 1 / s, rtol=1e-12)
    want = 0.5 * (s**2 + m**2 - 1 - 2 * np.log(s)).sum()  # the closed form
    assert kl.item() == pytest.approx(want, rel=1e-12)


def test_elbo_is_below_the_importance_weighted_bound_which_rises_with_k():
    model, _ = _trained(150)  # trained enough for q(z|x) to carry information (KL ~ 2)
    x = digit_levels("test")[0][:64]
    with pydl.no_grad():  # the ELBO's expectation over eps, by 200 draws per digit
        elbo = np.mean([model.elbo(x).numpy().astype(np.float64) for _ in range(200)], axis=0)
    # k = 1 is an unbiased estimate of the ELBO (the KL sampled instead of closed form)
    k1 = np.mean([model.log_prob(x, k=1) for _ in range(200)], axis=0)
    assert abs(k1.mean() - elbo.mean()) < 0.2
    iwae = {k: model.log_prob(x, k=k).mean() for k in (10, 100, 1000)}
    assert elbo.mean() + 0.5 < iwae[10] < iwae[100] - 0.05  # gaps of 1 and 0.2 nats
    assert iwae[1000] > iwae[100] - 0.02  # still rising, by less than its noise
    assert (elbo < model.log_prob(x, k=100)).all()  # digit by digit, too


def test_loss_is_the_negative_elbo_and_training_lowers_it():
    model, losses = _trained()
    assert np.mean(losses[-4:]) < 0.75 * losses[0]
    x = digit_levels("test")[0][:16]
    pydl.manual_seed(1)
    loss = model.loss(x).item()
    pydl.manual_seed(1)
    assert loss == pytest.approx(-model.elbo(x).numpy().mean(), rel=1e-5)


def test_samples_are_digits_on_the_level_grid():
    model, _ = _trained()
    pydl.manual_seed(2)
    a = model.sample(50)
    pydl.manual_seed(2)
    assert np.array_equal(a, model.sample(50))
    assert a.shape == (50, 64) and np.allclose(a * 16, np.rint(a * 16))
    assert 0 <= a.min() and a.max() <= 1
    mean = model.sample(50, mean=True)
    assert mean.shape == (50, 64) and 0 <= mean.min() and mean.max() <= 1
    assert model.decode(np.zeros((3, 8), np.float32)).shape == (3, 64, 17)


def test_train_vae_reports_the_table_metrics():
    m = train_vae(epochs=1, samples=0)
    assert m["test_iwae100_bits_per_dim"] < m["test_elbo_bits_per_dim"] < math.log2(17)
    assert m["test_neg_elbo_nats"] == pytest.approx(m["test_elbo_bits_per_dim"] * 64 * math.log(2))


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="latent"):
        VAE(latent=0)
    with pytest.raises(ValueError, match="hidden"):
        VAE(hidden=())
    with pytest.raises(ValueError, match="features"):
        VAE(features=-1)
    model = VAE(latent=2, hidden=(8,), features=2)
    with pytest.raises(ValueError, match=r"x must be digits of shape \(B, 64\)"):
        model.loss(np.zeros((3, 63), np.int64))
    with pytest.raises(ValueError, match="levels in 0..16"):
        model.elbo(np.full((1, 64), -1))
    with pytest.raises(ValueError, match="k must be a positive int"):
        model.log_prob(np.zeros((1, 64), np.int64), k=0)
    with pytest.raises(ValueError, match=r"z must have shape \(B, 2\)"):
        model.decode(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="n must be a positive int"):
        model.sample(-1)
