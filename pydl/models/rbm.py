"""The restricted Boltzmann machine of seed 002, trained by contrastive divergence."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _capture, _random, backend, nn
from ..tensor import Tensor, tensor


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _logsumexp(a: np.ndarray) -> float:
    top = a.max()
    return float(top + np.log(np.exp(a - top).sum()))


class RBM(nn.Module):
    """A Bernoulli-Bernoulli RBM: E(v, h) = -v^T W h - b^T v - c^T h, p(v, h) = e^-E / Z.

    `contrastive_divergence(v)` puts minus the spec's update direction
    dW = <v h^T>_data - <v h^T>_model (and db, dc alike) into the parameters' .grad, so
    any pydl optimizer that minimizes takes the CD step: SGD(lr) gives W += lr dW. The
    Gibbs chains and the statistics run in one fused kernel (`rbm_cd`, Note [RBM
    contrastive divergence] in cpp/kernels/rbm.h, with its NumPy twin). CD-k starts the
    chains at the data; persistent CD (PCD, Tieleman 2008) keeps them between calls.

    For a small hidden layer (<= 24 units) `log_partition` is exact: summing h out of
    p(v, h) gives the free energy F(v) = -b^T v - sum_j softplus(c_j + v^T W_j), and
    summing v out instead gives log Z = logsumexp over h of (c^T h + sum_i softplus(b_i +
    W_i h)), 2^H terms. So `log_prob(v)` = -F(v) - log Z is exact too.
    """

    def __init__(self, visible: int, hidden: int, k: int = 1, persistent: bool = False) -> None:
        super().__init__()
        if visible < 1 or hidden < 1:
            raise ValueError(f"visible and hidden must be >= 1, got {visible} and {hidden}")
        if k < 1:
            raise ValueError(f"k (Gibbs steps per update) must be >= 1, got {k}")
        self.k, self.persistent = k, persistent
        # Hinton's practical guide: small random weights, zero biases
        self.weight = nn.Parameter(np.zeros((visible, hidden), np.float32))
        nn.init.normal_(self.weight, 0.0, 0.01)
        self.visible_bias = nn.Parameter(np.zeros(visible, np.float32))
        self.hidden_bias = nn.Parameter(np.zeros(hidden, np.float32))
        self._chains: np.ndarray | None = None

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.weight._array, self.visible_bias._array, self.hidden_bias._array

    def _check(self, v: Any) -> np.ndarray:
        v = np.asarray(v.numpy() if isinstance(v, Tensor) else v, dtype=self.weight.dtype)
        if v.ndim != 2 or v.shape[1] != self.weight.shape[0]:
            raise ValueError(
                f"expected visible vectors of shape (batch, {self.weight.shape[0]}), got {v.shape}"
            )
        return v

    def forward(self, v: Any) -> Tensor:
        """p(h = 1 | v) = sigmoid(v W + c)."""
        w, _, c = self._arrays()
        return tensor(1.0 / (1.0 + np.exp(-(self._check(v) @ w + c))))

    @_capture.replayed_whole  # it sets .grad and the chains in Python
    def contrastive_divergence(self, v: Any, k: int | None = None) -> dict[str, float]:
        """Set each parameter's .grad to minus its CD-k update direction for the batch v;
        returns the reconstruction error and the chains' mean activity, for monitoring."""
        v = self._check(v)
        k = self.k if k is None else k
        if self.persistent and (self._chains is None or self._chains.shape != v.shape):
            self._chains = v.copy()  # PCD's chains start at the first batch
        start = self._chains if self.persistent else v
        w, b, c = self._arrays()
        seed, offset = _random._take(k * len(v) * (w.shape[0] + w.shape[1]))
        gw, gb, gc, end = backend.active.rbm_cd(w, b, c, v, start, k, seed, offset)
        if self.persistent:
            self._chains = end
        for p, g in ((self.weight, gw), (self.visible_bias, gb), (self.hidden_bias, gc)):
            p.grad = tensor(-g)
        return {
            "reconstruction_error": float(((v - end) ** 2).mean()),
            "activity": float(end.mean()),
        }

    def free_energy(self, v: Any) -> np.ndarray:
        """F(v) = -b^T v - sum_j softplus(c_j + v^T W_j), one per row (float64)."""
        w, b, c = (a.astype(np.float64) for a in self._arrays())
        v = self._check(v).astype(np.float64)
        return -v @ b - _softplus(v @ w + c).sum(axis=1)

    def log_partition(self) -> float:
        """log Z, exactly, by summing over the 2^H hidden configurations."""
        w, b, c = (a.astype(np.float64) for a in self._arrays())
        hidden = w.shape[1]
        if hidden > 24:
            raise ValueError(f"log_partition sums over 2^hidden states; hidden={hidden} > 24")
        total = -math.inf
        for h in _binary_rows(hidden, block=1 << 14):
            terms = h @ c + _softplus(h @ w.T + b).sum(axis=1)
            total = np.logaddexp(total, _logsumexp(terms))
        return float(total)

    def log_prob(self, v: Any) -> np.ndarray:
        """log p(v) = -F(v) - log Z, exact (see log_partition)."""
        return -self.free_energy(v) - self.log_partition()

    def exact_gradient(self, v: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """d mean log p(v) / d (W, b, c), with the model's expectations summed over all
        2^V visible states (tiny models only: V <= 20): the limit CD-k tends to as k grows."""
        w, b, c = (a.astype(np.float64) for a in self._arrays())
        visible = w.shape[0]
        if visible > 20:
            raise ValueError(f"exact_gradient sums over 2^visible states; visible={visible} > 20")
        v = self._check(v).astype(np.float64)
        states = next(_binary_rows(visible, block=1 << visible))
        log_p = -self.free_energy(states) - self.log_partition()
        p = np.exp(log_p)[:, None]
        h_data = 1.0 / (1.0 + np.exp(-(v @ w + c)))
        h_model = 1.0 / (1.0 + np.exp(-(states @ w + c)))
        grad_w = v.T @ h_data / len(v) - states.T @ (p * h_model)
        grad_b = v.mean(axis=0) - (p * states).sum(axis=0)
        grad_c = h_data.mean(axis=0) - (p * h_model).sum(axis=0)
        return grad_w, grad_b, grad_c

    def sample(self, n: int, steps: int = 1000) -> np.ndarray:
        """n visible vectors after `steps` Gibbs steps from uniform noise (pydl's
        generator): approximately p(v) for long enough chains."""
        w, b, c = self._arrays()
        noise = _random.uniform_(np.empty((n, w.shape[0]), np.float32))
        start = (noise < 0.5).astype(np.float32)
        seed, offset = _random._take(steps * n * (w.shape[0] + w.shape[1]))
        return backend.active.rbm_cd(w, b, c, start, start, steps, seed, offset)[3]


def _binary_rows(n: int, block: int) -> Any:
    """All 2^n binary vectors of length n as float64 rows, `block` rows at a time."""
    bits = np.arange(n)[::-1]
    for first in range(0, 1 << n, block):
        idx = np.arange(first, min(first + block, 1 << n))
        yield ((idx[:, None] >> bits) & 1).astype(np.float64)
