"""The Gaussian mixture model of seed 002, fitted by expectation-maximization.

Note [GMM by EM]: p(x) = sum_k pi_k N(x; mu_k, Sigma_k). The E-step computes the
responsibilities gamma_nk = pi_k N(x_n; mu_k, Sigma_k) / sum_j pi_j N(x_n; mu_j, Sigma_j),
in log space (log N through a Cholesky factor, the normalization through logsumexp), so
64-dimensional data whose densities under- or overflow float64 stay exact. The M-step is
the spec's closed form: N_k = sum_n gamma_nk, mu_k = sum_n gamma_nk x_n / N_k,
Sigma_k = sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T / N_k, pi_k = N_k / N, except that
the eigenvalues of each Sigma_k are floored at `reg_covar`, so that a component on a flat
direction (the digits' always-blank border pixels) keeps a finite density. Flooring the
eigenvalues (not adding reg_covar * I, as scikit-learn does) is the exact maximizer of the
M-step's objective over covariances with eigenvalues >= reg_covar, so EM stays monotone:
the log-likelihood never decreases (`fit` records it per iteration, `log_likelihoods_`;
adding the floor to the diagonal instead lowered it by 8e-4 nats on the digits).

The spec's gradient row (the "GMM (EM Algorithm)" line of its backpropagation table) has
two slips, corrected here where the gradient is used (`log_likelihood_grads`, tested
against autograd): dL/dmu_k = sum_n gamma_nk Sigma_k^{-1} (x_n - mu_k) (the spec drops
Sigma_k^{-1}), and dL/dSigma_k = 1/2 sum_n gamma_nk [Sigma_k^{-1} (x_n - mu_k)(x_n - mu_k)^T
Sigma_k^{-1} - Sigma_k^{-1}] (the spec drops the 1/2). Setting them to zero gives the
M-step above. Everything runs in float64 NumPy: EM is a handful of dense products per
iteration, not a training loop of the engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = a.max(axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return (np.log(np.exp(a - top).sum(axis=axis, keepdims=True)) + top).squeeze(axis)


def _log_gaussian(x: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """log N(x_n; mu_k, Sigma_k) as an (n, k) array."""
    n, d = x.shape
    out = np.empty((n, len(means)))
    for k, (mu, sigma) in enumerate(zip(means, covariances)):
        try:
            chol = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"covariance of component {k} is not positive definite; raise reg_covar"
            ) from None
        z = np.linalg.solve(chol, (x - mu).T)  # L z = x - mu: |z|^2 is the Mahalanobis term
        log_det = 2.0 * np.log(np.diag(chol)).sum()
        out[:, k] = -0.5 * (d * np.log(2 * np.pi) + log_det + (z * z).sum(axis=0))
    return out


class GaussianMixture:
    """A mixture of K full-covariance Gaussians fitted by EM (Note [GMM by EM]).

    gmm = GaussianMixture(10, seed=0).fit(x)   # x: (n, d)
    gmm.score_samples(x)  # log p(x_n), nats
    gmm.sample(16)

    Initialization: k-means++ seeding of the means (Arthur & Vassilvitskii), uniform
    weights, and each covariance the data's covariance (+ the floor); or `weights_init`,
    `means_init`, `covariances_init` given to `fit`.
    """

    def __init__(
        self,
        n_components: int,
        *,
        max_iter: int = 100,
        tol: float = 1e-6,
        reg_covar: float = 1e-6,
        seed: int | None = None,
    ) -> None:
        if not isinstance(n_components, int) or n_components < 1:
            raise ValueError(f"n_components must be a positive int, got {n_components!r}")
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}")
        if tol < 0 or reg_covar < 0:
            raise ValueError(f"tol and reg_covar must be >= 0, got {tol} and {reg_covar}")
        self.n_components, self.max_iter, self.tol = n_components, max_iter, tol
        self.reg_covar, self.seed = reg_covar, seed
        self.log_likelihoods_: list[float] = []

    # ----- fitting -----

    def fit(
        self,
        x: Any,
        *,
        weights_init: Any = None,
        means_init: Any = None,
        covariances_init: Any = None,
    ) -> GaussianMixture:
        """Run EM from the initial parameters until the mean log-likelihood gains less than
        tol (or max_iter iterations); log_likelihoods_ holds it before each M-step and at
        the end, non-decreasing."""
        x = self._check_data(x)
        self.initialize(
            x, weights_init=weights_init, means_init=means_init, covariances_init=covariances_init
        )
        self.log_likelihoods_ = []
        self.converged_ = False
        for iteration in range(1, self.max_iter + 1):
            ll = self.em_step(x)
            self.log_likelihoods_.append(ll)
            self.n_iter_ = iteration
            if len(self.log_likelihoods_) > 1 and ll - self.log_likelihoods_[-2] < self.tol:
                self.converged_ = True
                break
        self.log_likelihoods_.append(self.score(x))
        return self

    def initialize(
        self,
        x: Any,
        *,
        weights_init: Any = None,
        means_init: Any = None,
        covariances_init: Any = None,
    ) -> GaussianMixture:
        """Set the starting parameters: those given, else k-means++ means (from `seed`),
        uniform weights and the data's covariance (floored) for every component."""
        x = self._check_data(x)
        n, d = x.shape
        if n < self.n_components:
            raise ValueError(f"need at least n_components={self.n_components} samples, got {n}")
        k = self.n_components
        rng = np.random.default_rng(self.seed)
        self.weights_ = (
            np.full(k, 1.0 / k) if weights_init is None else np.array(weights_init, float)
        )
        self.means_ = self._kmeans_pp(x, rng) if means_init is None else np.array(means_init, float)
        if covariances_init is None:
            data_cov = self._floored(np.atleast_2d(np.cov(x, rowvar=False, bias=True)))
            self.covariances_ = np.repeat(data_cov[None], k, axis=0)
        else:
            self.covariances_ = np.array(covariances_init, float)
        self._check_parameters(d)
        return self

    def em_step(self, x: Any) -> float:
        """One EM iteration on x; returns the mean log-likelihood of the parameters it
        started from (the M-step's result scores at least as well)."""
        x = self._check_data(x, fitted=True)
        log_resp, ll = self._e_step(x)
        self._m_step(x, np.exp(log_resp))
        return ll

    def _e_step(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """log gamma (n, k) and the mean log-likelihood."""
        weighted = _log_gaussian(x, self.means_, self.covariances_) + np.log(self.weights_)
        log_px = _logsumexp(weighted, axis=1)
        return weighted - log_px[:, None], float(log_px.mean())

    def _m_step(self, x: np.ndarray, resp: np.ndarray) -> None:
        n = len(x)
        nk = resp.sum(axis=0) + 10 * np.finfo(float).eps  # an empty component stays finite
        self.means_ = resp.T @ x / nk[:, None]
        for k in range(self.n_components):
            diff = x - self.means_[k]
            self.covariances_[k] = self._floored((resp[:, k, None] * diff).T @ diff / nk[k])
        self.weights_ = nk / n

    def _floored(self, cov: np.ndarray) -> np.ndarray:
        """cov with its eigenvalues raised to at least reg_covar (Note [GMM by EM])."""
        eigenvalues, vectors = np.linalg.eigh(cov)
        floored = (vectors * np.maximum(eigenvalues, self.reg_covar)) @ vectors.T
        return (floored + floored.T) / 2  # symmetric to the last bit, for Cholesky

    def _kmeans_pp(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """k-means++ seeding: each next center drawn with probability proportional to the
        squared distance to the nearest center chosen so far."""
        centers = [x[rng.integers(len(x))]]
        d2 = ((x - centers[0]) ** 2).sum(axis=1)
        for _ in range(1, self.n_components):
            total = d2.sum()
            i = rng.choice(len(x), p=d2 / total) if total > 0 else rng.integers(len(x))
            centers.append(x[i])
            d2 = np.minimum(d2, ((x - x[i]) ** 2).sum(axis=1))
        return np.array(centers)

    # ----- using a fitted mixture -----

    def score_samples(self, x: Any) -> np.ndarray:
        """log p(x_n) in nats, one per row of x."""
        x = self._check_data(x, fitted=True)
        weighted = _log_gaussian(x, self.means_, self.covariances_) + np.log(self.weights_)
        return _logsumexp(weighted, axis=1)

    def score(self, x: Any) -> float:
        """The mean log-likelihood of the rows of x, in nats."""
        return float(self.score_samples(x).mean())

    def predict_proba(self, x: Any) -> np.ndarray:
        """The responsibilities gamma_nk."""
        x = self._check_data(x, fitted=True)
        return np.exp(self._e_step(x)[0])

    def predict(self, x: Any) -> np.ndarray:
        return self.predict_proba(x).argmax(axis=1)

    def sample(self, n: int, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """n draws and the component each came from."""
        self._check_fitted()
        rng = np.random.default_rng(seed)
        labels = rng.choice(self.n_components, size=n, p=self.weights_ / self.weights_.sum())
        d = self.means_.shape[1]
        chol = np.linalg.cholesky(self.covariances_)
        eps = rng.standard_normal((n, d))
        x = self.means_[labels] + np.einsum("nij,nj->ni", chol[labels], eps)
        return x, labels

    def log_likelihood_grads(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """d(sum_n log p(x_n)) / d mu_k and / d Sigma_k (Sigma_k treated as unconstrained,
        as the spec does), in the corrected forms of Note [GMM by EM]."""
        x = self._check_data(x, fitted=True)
        resp = self.predict_proba(x)
        grad_mu = np.empty_like(self.means_)
        grad_sigma = np.empty_like(self.covariances_)
        for k in range(self.n_components):
            inv = np.linalg.inv(self.covariances_[k])
            diff = (x - self.means_[k]) @ inv  # rows: Sigma^-1 (x_n - mu_k)
            grad_mu[k] = resp[:, k] @ diff
            outer = (resp[:, k, None] * diff).T @ diff
            grad_sigma[k] = 0.5 * (outer - resp[:, k].sum() * inv)
        return grad_mu, grad_sigma

    # ----- checks -----

    def _check_data(self, x: Any, fitted: bool = False) -> np.ndarray:
        if fitted:
            self._check_fitted()
        x = np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=float)
        if x.ndim != 2:
            raise ValueError(f"expected data of shape (n_samples, n_features), got {x.shape}")
        if fitted and x.shape[1] != self.means_.shape[1]:
            raise ValueError(
                f"data has {x.shape[1]} features, the mixture was fitted on {self.means_.shape[1]}"
            )
        if not np.isfinite(x).all():
            raise ValueError("data contains NaN or infinity")
        return x

    def _check_fitted(self) -> None:
        if not hasattr(self, "means_"):
            raise RuntimeError("this GaussianMixture is not fitted yet: call fit(x) first")

    def _check_parameters(self, d: int) -> None:
        k = self.n_components
        for name, value, shape in (
            ("weights_init", self.weights_, (k,)),
            ("means_init", self.means_, (k, d)),
            ("covariances_init", self.covariances_, (k, d, d)),
        ):
            if value.shape != shape:
                raise ValueError(f"{name} has shape {value.shape}, expected {shape}")
        if (self.weights_ < 0).any() or not np.isclose(self.weights_.sum(), 1.0):
            raise ValueError("weights_init must be non-negative and sum to 1")
