"""pydl.models.GAN: the spec's losses, and its gradient formulas (seed 002's backpropagation
table) checked term by term against autograd."""

import numpy as np
import pytest

import pydl
from pydl import autograd, nn
from pydl.models import GAN


def _model():
    pydl.manual_seed(0)
    gan = GAN(latent=4, width=4)
    gan.eval()  # BatchNorm on running statistics: one sample's D(x) depends on it alone
    return gan


def _d(gan, x):
    return gan.discriminator(x).sigmoid()


def test_losses_are_the_spec_formulas():
    gan = _model()
    x = pydl.rand(5, 64)
    z = gan.noise(5)
    d_real, d_fake = _d(gan, x).numpy(), _d(gan, gan.generator(z)).numpy()
    want_d = -np.log(d_real).mean() - np.log(1 - d_fake).mean()
    assert gan.discriminator_loss(x, z).item() == pytest.approx(want_d, rel=1e-5)
    assert gan.generator_loss(z).item() == pytest.approx(-np.log(d_fake).mean(), rel=1e-5)


def test_discriminator_gradient_is_the_spec_formula():
    """grad L_D = -grad D(x) / D(x) + grad D(G(z)) / (1 - D(G(z))), one real, one fake."""
    gan = _model()
    params = list(gan.discriminator.parameters())
    x, z = pydl.rand(1, 64), gan.noise(1)
    fake = gan.generator(z).detach()
    got = autograd.grad(gan.discriminator_loss(x, z), params)
    d_real, d_fake = _d(gan, x), _d(gan, fake)
    grad_real = autograd.grad(d_real.sum(), params)
    grad_fake = autograd.grad(d_fake.sum(), params)
    for g, gr, gf in zip(got, grad_real, grad_fake):
        want = -gr.numpy() / d_real.item() + gf.numpy() / (1 - d_fake.item())
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-4, atol=1e-6)


def test_generator_gradient_is_the_spec_formula_and_chain_rule():
    """grad L_G = -grad D(G(z)) / D(G(z)), and grad_theta_G D(G(z)) is grad_x D at G(z)
    pushed back through G."""
    gan = _model()
    params = list(gan.generator.parameters())
    z = gan.noise(1)
    got = autograd.grad(gan.generator_loss(z), params)
    d_fake = _d(gan, gan.generator(z))
    grad_d = autograd.grad(d_fake.sum(), params)
    for g, gd in zip(got, grad_d):
        np.testing.assert_allclose(g.numpy(), -gd.numpy() / d_fake.item(), rtol=1e-4, atol=1e-7)
    x = gan.generator(z).detach().requires_grad_(True)
    (grad_x,) = autograd.grad(_d(gan, x).sum(), x)
    pushed = autograd.grad(gan.generator(z), params, grad_outputs=grad_x)
    for p, gd in zip(pushed, grad_d):
        np.testing.assert_allclose(p.numpy(), gd.numpy(), rtol=1e-4, atol=1e-8)


def test_training_a_few_steps_moves_both_players_and_samples_are_digits_shaped():
    pydl.manual_seed(1)
    gan = GAN(latent=8, width=8)
    d_opt = pydl.optim.Adam(gan.discriminator.parameters(), lr=1e-3)
    g_opt = pydl.optim.Adam(gan.generator.parameters(), lr=1e-3)
    real = pydl.tensor(np.random.default_rng(0).random((32, 64)).astype(np.float32) ** 4)
    before = [p.numpy().copy() for p in gan.parameters()]
    for _ in range(5):
        loss = gan.discriminator_loss(real)
        d_opt.zero_grad()
        loss.backward()
        d_opt.step()
        loss = gan.generator_loss(gan.noise(32))
        g_opt.zero_grad()
        loss.backward()
        g_opt.step()
    moved = [not np.array_equal(b, p.numpy()) for b, p in zip(before, gan.parameters())]
    assert all(moved)
    s = gan.sample(7)
    assert s.shape == (7, 64) and (s >= 0).all() and (s <= 1).all()
    assert gan.training  # sample() restores the mode
    with pytest.raises(ValueError, match="latent"):
        GAN(latent=0)
    assert isinstance(gan.generator.up[0], nn.ConvTranspose2d)
