"""pydl.models.GaussianMixture: EM as seed 002 writes it (Note [GMM by EM])."""

import numpy as np
import pytest

from pydl.models import GaussianMixture


def _blobs(n=600, seed=0):
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0], [5.0, 1.0], [1.0, 6.0]])
    covs = np.array(
        [[[1.0, 0.6], [0.6, 1.0]], [[0.5, 0.0], [0.0, 2.0]], [[1.5, -0.7], [-0.7, 1.0]]]
    )
    labels = rng.integers(0, 3, n)
    eps = rng.standard_normal((n, 2))
    x = means[labels] + np.einsum("nij,nj->ni", np.linalg.cholesky(covs)[labels], eps)
    return x, means


def test_em_never_lowers_the_log_likelihood_and_finds_the_clusters():
    x, means = _blobs()
    gmm = GaussianMixture(3, seed=1, tol=1e-10, max_iter=300).fit(x)
    lls = np.array(gmm.log_likelihoods_)
    assert len(lls) > 5 and gmm.converged_
    assert (np.diff(lls) >= -1e-12).all(), np.diff(lls).min()
    found = gmm.means_[np.argsort(gmm.means_[:, 0] + 10 * gmm.means_[:, 1])]
    want = means[np.argsort(means[:, 0] + 10 * means[:, 1])]
    np.testing.assert_allclose(found, want, atol=0.3)
    np.testing.assert_allclose(gmm.weights_.sum(), 1.0)
    assert gmm.predict_proba(x).shape == (600, 3)
    samples, labels = gmm.sample(2000, seed=0)
    assert samples.shape == (2000, 2) and set(labels) <= {0, 1, 2}
    assert abs(gmm.score(samples) - gmm.score(x)) < 0.15  # its own draws look like the data


def test_em_on_the_digits_is_monotone_in_64_dimensions():
    """Blank border pixels make the covariances singular: the floor keeps them finite."""
    from pydl.data import load_digits

    (x, _), _ = load_digits()
    x = x.reshape(len(x), -1)[:500].astype(np.float64)
    gmm = GaussianMixture(5, seed=0, reg_covar=1e-2, max_iter=30).fit(x)
    lls = np.array(gmm.log_likelihoods_)
    assert np.isfinite(lls).all() and (np.diff(lls) >= -1e-9).all()


def test_matches_sklearn_from_the_same_start(sklearn):
    mixture = sklearn.mixture
    x, _ = _blobs(seed=3)
    rng_means = GaussianMixture(3, seed=2)._kmeans_pp(x, np.random.default_rng(2))
    cov = np.cov(x, rowvar=False, bias=True) + 1e-6 * np.eye(2)
    init = dict(
        weights_init=np.full(3, 1 / 3), means_init=rng_means, covariances_init=np.stack([cov] * 3)
    )
    ours = GaussianMixture(3, tol=1e-8, max_iter=500, reg_covar=1e-6).fit(x, **init)
    theirs = mixture.GaussianMixture(
        3, covariance_type="full", tol=1e-8, max_iter=500, reg_covar=1e-6,
        weights_init=init["weights_init"], means_init=rng_means,
        precisions_init=np.linalg.inv(init["covariances_init"]),
    ).fit(x)  # fmt: skip
    assert theirs.converged_ and ours.converged_
    assert ours.score(x) == pytest.approx(theirs.score(x), rel=1e-4)
    np.testing.assert_allclose(np.sort(ours.weights_), np.sort(theirs.weights_), atol=1e-3)


def test_corrected_gradients_match_finite_differences():
    """The spec's dL/dmu lacks Sigma^-1 and its dL/dSigma the factor 1/2: the corrected
    forms match central differences of sum_n log p(x_n); the spec's do not."""
    x, _ = _blobs(n=50, seed=5)
    gmm = GaussianMixture(2, seed=0, max_iter=3).fit(x)
    gmm.covariances_[0] = [[2.0, 0.5], [0.5, 0.7]]  # away from the identity, so that the
    gmm.covariances_[1] = [[0.8, -0.3], [-0.3, 1.9]]  # missing Sigma^-1 would show
    grad_mu, grad_sigma = gmm.log_likelihood_grads(x)
    h = 1e-6

    def total():
        return gmm.score_samples(x).sum()

    for k in range(2):
        for i in range(2):
            gmm.means_[k, i] += h
            up = total()
            gmm.means_[k, i] -= 2 * h
            down = total()
            gmm.means_[k, i] += h
            assert grad_mu[k, i] == pytest.approx((up - down) / (2 * h), rel=1e-6)
        for i, j in ((0, 0), (1, 1), (0, 1)):
            # Sigma stays symmetric: an off-diagonal move changes two entries at once
            cells = {(i, j), (j, i)}
            for a, b in cells:
                gmm.covariances_[k, a, b] += h
            up = total()
            for a, b in cells:
                gmm.covariances_[k, a, b] -= 2 * h
            down = total()
            for a, b in cells:
                gmm.covariances_[k, a, b] += h
            want = sum(grad_sigma[k, a, b] for a, b in cells)
            assert want == pytest.approx((up - down) / (2 * h), rel=1e-5)
    resp = gmm.predict_proba(x)
    spec_mu = resp[:, 0] @ (x - gmm.means_[0])  # the spec's row, without Sigma^-1
    assert not np.allclose(spec_mu, grad_mu[0], rtol=1e-2)


def test_bad_arguments():
    x, _ = _blobs(n=20)
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixture(0)
    with pytest.raises(ValueError, match=r"shape \(n_samples, n_features\)"):
        GaussianMixture(2).fit(x[:, 0])
    with pytest.raises(ValueError, match="at least n_components=30"):
        GaussianMixture(30).fit(x)
    with pytest.raises(ValueError, match=r"means_init has shape \(2, 3\)"):
        GaussianMixture(2).fit(x, means_init=np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="not fitted"):
        GaussianMixture(2).score(x)
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(2).fit(np.full((5, 2), np.nan))
    with pytest.raises(ValueError, match="fitted on 2"):
        GaussianMixture(2, seed=0).fit(x).score(np.zeros((3, 4)))
