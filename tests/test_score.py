"""pydl.models.ScoreModel and the Langevin samplers (Note [Langevin dynamics]) on 2-D
Gaussian mixtures, whose (noise-convolved) score is known in closed form."""

import numpy as np
import pytest

import pydl
from pydl.models import ScoreModel, annealed_langevin_dynamics, langevin_dynamics, train_score

# overlapping components: plain Langevin mixes between them
WEIGHTS = np.array([0.3, 0.7])
MEANS = np.array([[-1.0, 0.0], [1.0, 0.5]])
COVS = np.array([[[0.5, 0.2], [0.2, 0.4]], 0.3 * np.eye(2)])


@pytest.fixture(autouse=True)
def _one_thread():
    """These models' layers are small: a second kernel thread adds only synchronization,
    which on a busy machine made these tests several times slower (results are the same)."""
    with pydl.threads(1):
        yield


def mixture_score(x, weights, means, covs, sigma=0.0):
    """grad_x log sum_k w_k N(x; mu_k, C_k + sigma^2 I) and the responsibilities (n, k)."""
    x = np.asarray(x, np.float64)
    log_terms, grads = [], []
    for w, mu, c in zip(weights, means, covs):
        c = c + sigma**2 * np.eye(x.shape[1])
        inv, diff = np.linalg.inv(c), x - mu
        grad = -diff @ inv
        log_terms.append(
            np.log(w) + 0.5 * (grad * diff).sum(axis=1) - 0.5 * np.linalg.slogdet(c)[1]
        )
        grads.append(grad)
    log_terms = np.stack(log_terms, axis=1)
    resp = np.exp(log_terms - log_terms.max(axis=1, keepdims=True))
    resp /= resp.sum(axis=1, keepdims=True)
    score = sum(resp[:, k, None] * g for k, g in enumerate(grads))
    return score.astype(np.float32), resp


def draw(rng, n, weights=WEIGHTS, means=MEANS, covs=COVS):
    k = rng.choice(len(weights), n, p=weights)
    chol = np.linalg.cholesky(covs)[k]
    return (means[k] + np.einsum("nij,nj->ni", chol, rng.standard_normal((n, 2)))).astype(
        np.float32
    )


def test_langevin_with_the_true_score_reproduces_the_mixture():
    mean = WEIGHTS @ MEANS
    cov = sum(w * (c + np.outer(m, m)) for w, m, c in zip(WEIGHTS, MEANS, COVS))
    cov = cov - np.outer(mean, mean)
    pydl.manual_seed(0)
    x = langevin_dynamics(
        lambda y: mixture_score(y, WEIGHTS, MEANS, COVS)[0], np.zeros((4000, 2)), 0.01, 1000
    )
    # 4,000 chains: the mean's standard error is ~0.02; the step adds an O(eps) bias
    np.testing.assert_allclose(x.mean(axis=0), mean, atol=0.07)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.1)
    # E_p[gamma_k(x)] = w_k: the component weights
    np.testing.assert_allclose(
        mixture_score(x, WEIGHTS, MEANS, COVS)[1].mean(axis=0), WEIGHTS, atol=0.03
    )


def test_annealing_finds_the_weights_of_separated_modes_where_plain_langevin_cannot():
    weights = np.array([0.2, 0.3, 0.5])
    means = np.array([[-4.0, -4.0], [4.0, 4.0], [-4.0, 4.0]])
    covs = np.array([0.3 * np.eye(2)] * 3)
    sigmas = np.geomspace(10.0, 0.1, 10)
    pydl.manual_seed(0)
    start = pydl.randn(3000, 2).numpy() * 10
    x = annealed_langevin_dynamics(
        lambda y, i: mixture_score(y, weights, means, covs, sigmas[i])[0], start, sigmas, 50, 2e-3
    )
    resp = mixture_score(x, weights, means, covs)[1]
    np.testing.assert_allclose(resp.mean(axis=0), weights, atol=0.05)
    for k in range(3):  # and each mode's draws sit on it
        np.testing.assert_allclose(x[resp.argmax(axis=1) == k].mean(axis=0), means[k], atol=0.1)
    plain = langevin_dynamics(lambda y: mixture_score(y, weights, means, covs)[0], start, 2e-3, 300)
    plain_weights = mixture_score(plain, weights, means, covs)[1].mean(axis=0)
    assert np.abs(plain_weights - weights).max() > 0.1  # stuck where it started


def test_the_trained_score_approaches_the_true_noise_convolved_score():
    pydl.manual_seed(0)
    rng = np.random.default_rng(0)
    model = ScoreModel(
        dim=2, sigma_max=1.0, sigma_min=0.1, n_levels=4, hidden=128, depth=1, bounds=None
    )
    opt = pydl.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        loss = model.loss(draw(rng, 256))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for i, sigma in enumerate(model.sigmas):
        x = draw(rng, 2000) + sigma * rng.standard_normal((2000, 2)).astype(np.float32)
        true = mixture_score(x, WEIGHTS, MEANS, COVS, sigma)[0]
        rel = ((model.score(x, i) - true) ** 2).sum(axis=1).mean() / (true**2).sum(axis=1).mean()
        assert rel < 0.15, (sigma, rel)  # 1 at the start: the network's output starts at 0


def test_the_loss_is_sigma_weighted_denoising_score_matching(rng):
    model = ScoreModel(dim=3, sigma_max=2.0, sigma_min=0.5, n_levels=3, hidden=8, depth=1)
    pydl.nn.init.normal_(model.net.out.weight, 0.0, 0.5)
    x = rng.random((5, 3)).astype(np.float32)
    levels, z = rng.integers(0, 3, 5), rng.standard_normal((5, 3)).astype(np.float32)
    sigma = model.sigmas[levels][:, None]
    s = model.score(x + sigma * z, levels)
    # sigma^2 / 2 |s_theta(x~) - grad log N(x~; x, sigma^2)|^2, grad = -(x~ - x) / sigma^2
    want = (sigma**2 / 2 * (s + z / sigma) ** 2).sum(axis=1).mean()
    assert model.loss(x, levels=levels, noise=z).item() == pytest.approx(want, rel=1e-5)


def test_sampling_is_seeded_and_clipped_into_bounds():
    model = ScoreModel(dim=4, n_levels=3, hidden=8, depth=1)
    pydl.manual_seed(2)
    a = model.sample(6, n_steps_each=3)
    pydl.manual_seed(2)
    b = model.sample(6, n_steps_each=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (6, 4) and a.min() >= 0 and a.max() <= 1


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="sigma_min"):
        ScoreModel(sigma_min=1.0, sigma_max=0.5)
    with pytest.raises(ValueError, match="n_levels"):
        ScoreModel(n_levels=0)
    model = ScoreModel(dim=2, n_levels=3, hidden=8, depth=0, bounds=None)
    with pytest.raises(ValueError, match="levels must lie"):
        model.loss(np.zeros((2, 2)), levels=[0, 3])
    with pytest.raises(ValueError, match="x must be"):
        model.loss(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="step_size"):
        langevin_dynamics(lambda y: y, np.zeros((2, 2)), 0.0, 3)
    with pytest.raises(ValueError, match="n_steps"):
        langevin_dynamics(lambda y: y, np.zeros((2, 2)), 0.1, -1)
    with pytest.raises(ValueError, match="step_lr"):
        model.sample(2, step_lr=0.0)
    with pytest.raises(ValueError, match="n_steps_each"):
        model.sample(2, n_steps_each=1.5)
    with pytest.raises(ValueError, match="sigmas"):
        annealed_langevin_dynamics(lambda y, i: y, np.zeros((2, 2)), [], 3, 0.1)
    with pytest.raises(FloatingPointError, match="smaller step"):
        langevin_dynamics(lambda y: np.full_like(y, np.inf), np.ones((2, 2)), 10.0, 5)


def test_the_digits_recipe_runs():
    metrics = train_score(epochs=1, samples=0)
    assert set(metrics) == {"train_loss", "train_seconds"} and np.isfinite(metrics["train_loss"])
    with pytest.raises(ValueError, match="epochs"):
        train_score(epochs=0)
