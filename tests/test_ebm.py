"""pydl.models.EBM: seed 002's likelihood gradient, its Langevin negatives from a replay
buffer (Note [EBM sampling]), and a 2-D ring learned from samples."""

import numpy as np
import pytest

import pydl
from pydl.models import EBM, langevin_dynamics, train_ebm


@pytest.fixture(autouse=True)
def _one_thread():
    """These models' layers are small: a second kernel thread adds only synchronization,
    which on a busy machine made these tests several times slower (results are the same)."""
    with pydl.threads(1):
        yield


def _grads(model):
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    return grads


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_the_loss_gradient_is_the_spec_s_likelihood_gradient(alpha, rng):
    model = EBM(dim=3, hidden=8, depth=2, bounds=(-1, 1), alpha=alpha, temperature=0.5)
    x = rng.uniform(-1, 1, (5, 3)).astype(np.float32)
    x_model = rng.uniform(-1, 1, (7, 3)).astype(np.float32)
    model.zero_grad()
    model.loss(x, negatives=x_model).backward()
    got = _grads(model)
    model.energy(x).mean().backward()
    on_data = _grads(model)
    model.energy(x_model).mean().backward()
    on_model = _grads(model)
    # -grad log p = grad E(x_data) - E_{p_theta}[grad E(x)], the expectation over the negatives
    want = [d - m for d, m in zip(on_data, on_model)]
    if alpha:  # and the regularizer's own gradient
        (alpha * ((model.f(x) ** 2).mean() + (model.f(x_model) ** 2).mean())).backward()
        want = [w + r for w, r in zip(want, _grads(model))]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)


def test_the_score_is_minus_the_energy_gradient(rng):
    model = EBM(dim=4, hidden=16, depth=2, temperature=0.1)
    x = rng.random((3, 4))
    h = 1e-2
    fd = np.empty_like(x)
    for j in range(4):
        step = np.zeros(4)
        step[j] = h
        up, down = model.energy(x + step).numpy(), model.energy(x - step).numpy()
        fd[:, j] = (up.astype(np.float64) - down) / (2 * h)
    np.testing.assert_allclose(model.score(x), -fd, rtol=2e-2, atol=1e-3)
    assert all(p.grad is None for p in model.parameters())  # autograd.grad leaves .grad alone


def test_negatives_come_from_the_buffer_and_go_back_to_it():
    model = EBM(dim=2, hidden=8, depth=1, bounds=(-1, 1), buffer_size=50, n_steps=0, restart=0.0)
    before = model.replay_buffer.numpy().copy()
    assert before.min() >= -1 and before.max() <= 1 and before.std() > 0.3  # uniform noise
    drawn = model.negatives(20)
    assert all((before == row).all(axis=1).any() for row in drawn)  # states of the buffer
    model.n_steps, model.restart = 3, 1.0  # fresh noise, then three Langevin steps
    drawn = model.negatives(30)
    assert all(
        (model.replay_buffer.numpy() == row).all(axis=1).any() for row in drawn
    )  # written back
    assert drawn.min() >= -1 and drawn.max() <= 1
    kept = model.replay_buffer.numpy().copy()
    pydl.manual_seed(1)
    a = model.sample(10)
    pydl.manual_seed(1)
    b = model.sample(10)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        model.replay_buffer.numpy(), kept
    )  # sample leaves the chains alone
    assert (model.state_dict()["replay_buffer"] == kept).all()  # saved with the weights


def _ring(rng, n, radius=2.0):
    angle = rng.uniform(0, 2 * np.pi, n)
    r = radius + 0.1 * rng.standard_normal(n)
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1).astype(np.float32)


def test_a_trained_ebm_puts_its_samples_on_a_ring():
    pydl.manual_seed(0)
    rng = np.random.default_rng(0)
    model = EBM(
        dim=2, hidden=64, depth=2, bounds=(-3, 3), step_size=0.01, n_steps=10,
        buffer_size=5000, temperature=1.0,
    )  # fmt: skip
    opt = pydl.optim.Adam(model.parameters(), lr=3e-3, betas=(0.0, 0.999))
    for _ in range(300):
        loss = model.loss(_ring(rng, 256))
        opt.zero_grad()
        loss.backward()
        opt.step()
    samples = model.sample(2000)
    # the energy itself, not only the buffer: long chains from uniform noise
    fresh = langevin_dynamics(
        model.score, rng.uniform(-3, 3, (2000, 2)), model.step_size, 200, model.bounds
    )
    for x in (samples, fresh):
        off = np.abs(np.linalg.norm(x, axis=1) - 2.0)
        # uniform noise on the box: mean distance 0.76, 21% within 0.3; the data 0.08, 99.6%
        assert off.mean() < 0.25 and (off < 0.3).mean() > 0.75, (off.mean(), (off < 0.3).mean())
        angle = np.arctan2(x[:, 1], x[:, 0])
        share = np.histogram(angle, 8, (-np.pi, np.pi))[0] / len(x)
        assert share.min() > 0.08  # all the way round, not a collapsed arc


def test_bad_arguments_name_themselves():
    for kwargs, name in [
        ({"bounds": None}, "bounds"),
        ({"step_size": 0.0}, "step_size"),
        ({"n_steps": -1}, "n_steps"),
        ({"restart": 1.5}, "restart"),
        ({"alpha": -1.0}, "alpha"),
        ({"temperature": 0.0}, "temperature"),
        ({"buffer_size": 0}, "buffer_size"),
        ({"hidden": 0}, "hidden"),
    ]:
        with pytest.raises(ValueError, match=name):
            EBM(dim=2, **kwargs)
    model = EBM(dim=2, hidden=4, depth=1, buffer_size=10)
    with pytest.raises(ValueError, match="negatives must be"):
        model.loss(np.zeros((3, 2)), negatives=np.zeros((3, 5)))
    with pytest.raises(ValueError, match="n must be"):
        model.sample(0)


def test_the_digits_recipe_runs():
    metrics = train_ebm(epochs=1, samples=0)
    assert set(metrics) == {"train_loss", "train_seconds"} and np.isfinite(metrics["train_loss"])
    with pytest.raises(ValueError, match="epochs"):
        train_ebm(epochs=0)
