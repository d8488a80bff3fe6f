"""pydl.models.RBM and its fused contrastive-divergence kernel (Note [RBM contrastive
divergence] in cpp/kernels/rbm.h)."""

import itertools

import numpy as np
import pytest

import pydl
from pydl import optim, reference
from pydl.models.rbm import RBM


def _problem(visible, hidden, batch, seed=0):
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((visible, hidden)) * 0.5).astype(np.float32)
    b = (rng.standard_normal(visible) * 0.2).astype(np.float32)
    c = (rng.standard_normal(hidden) * 0.2).astype(np.float32)
    v = (rng.random((batch, visible)) < 0.4).astype(np.float32)
    chain = (rng.random((batch, visible)) < 0.6).astype(np.float32)
    return w, b, c, v, chain


@pytest.mark.parametrize("shape", [(1, 1, 1), (10, 6, 7), (64, 20, 33), (5, 130, 3)])
@pytest.mark.parametrize("k", [1, 3])
def test_core_matches_reference(shape, k):
    w, b, c, v, chain = _problem(*shape)
    got = pydl._core.rbm_cd(w, b, c, v, chain, k, 7, 1000)
    want = reference.rbm_cd(w, b, c, v, chain, k, 7, 1000)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)
    assert set(np.unique(got[3])) <= {0.0, 1.0}


def test_same_result_on_one_and_two_threads():
    w, b, c, v, chain = _problem(64, 100, 256)  # 25,600 hidden draws: both threads work
    with pydl.threads(1):
        one = pydl._core.rbm_cd(w, b, c, v, chain, 2, 3, 0)
    with pydl.threads(2):
        two = pydl._core.rbm_cd(w, b, c, v, chain, 2, 3, 0)
    for a, z in zip(one, two):
        assert np.array_equal(a, z)


def test_log_partition_and_log_prob_are_exact():
    pydl.manual_seed(0)
    rbm = RBM(5, 3)
    rbm.weight.numpy()[...] = np.random.default_rng(1).standard_normal((5, 3))
    w, b, c = (a.astype(np.float64) for a in rbm._arrays())
    energies = [
        v @ w @ h + b @ v + c @ h
        for v in map(np.array, itertools.product([0, 1], repeat=5))
        for h in map(np.array, itertools.product([0, 1], repeat=3))
    ]  # -E(v, h) over all 2^8 pairs
    assert rbm.log_partition() == pytest.approx(np.log(np.exp(energies).sum()), rel=1e-12)
    all_v = np.array(list(itertools.product([0, 1], repeat=5)), np.float32)
    assert np.exp(rbm.log_prob(all_v)).sum() == pytest.approx(1.0, rel=1e-12)


def test_cd_k_tends_to_the_exact_gradient_as_k_grows():
    """The CD-k direction, averaged over many chains, is biased for small k; as k grows it
    approaches the exact log-likelihood gradient (model expectations over all 2^10 states)."""
    pydl.manual_seed(0)
    rbm = RBM(10, 6)
    rng = np.random.default_rng(2)
    rbm.weight.numpy()[...] = rng.standard_normal((10, 6)) * 1.5
    data = (rng.random((4, 10)) < 0.3).astype(np.float32)
    exact_w = rbm.exact_gradient(data)[0]
    batch = np.repeat(data, 4000, axis=0)  # many chains per data vector
    errors = {}
    for k in (1, 5, 50):
        rbm.contrastive_divergence(batch, k=k)
        errors[k] = np.abs(-rbm.weight.grad.numpy() - exact_w).max()
    assert errors[1] > 2 * errors[50] and errors[50] < 0.02, errors


@pytest.mark.parametrize("persistent", [False, True])
def test_training_raises_the_exact_log_likelihood(persistent):
    pydl.manual_seed(0)
    rng = np.random.default_rng(0)
    prototypes = (rng.random((3, 10)) < 0.5).astype(np.float32)
    flips = rng.random((300, 10)) < 0.05
    data = np.abs(prototypes[rng.integers(0, 3, 300)] - flips).astype(np.float32)
    rbm = RBM(10, 6, k=1, persistent=persistent)
    opt = optim.SGD(rbm.parameters(), lr=0.1)
    before = rbm.log_prob(data).mean()
    for _ in range(30):
        for i in range(0, 300, 20):
            rbm.contrastive_divergence(data[i : i + 20])
            opt.step()
    after = rbm.log_prob(data).mean()
    assert after > before + 1.5, (before, after)  # 10 bits of noise -> 3 prototypes
    assert rbm.sample(200, steps=200).shape == (200, 10)


def test_bad_arguments():
    w, b, c, v, chain = _problem(4, 3, 2)
    for backend in (pydl._core, reference):
        with pytest.raises(ValueError, match="k"):
            backend.rbm_cd(w, b, c, v, chain, 0, 0, 0)
        with pytest.raises(ValueError, match="chain"):
            backend.rbm_cd(w, b, c, v, chain[:1], 1, 0, 0)
    with pytest.raises(ValueError, match="visible bias"):
        pydl._core.rbm_cd(w, b[:2], c, v, chain, 1, 0, 0)
    with pytest.raises(ValueError, match=r"shape \(batch, 4\)"):
        RBM(4, 3).contrastive_divergence(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="hidden=30 > 24"):
        RBM(4, 30).log_partition()
    with pytest.raises(ValueError, match="k"):
        RBM(4, 3, k=0)
