"""The RBM's contrastive-divergence step in NumPy (Note [RBM contrastive divergence] in
cpp/kernels/rbm.h): the same Gibbs chain from the same words of the stream."""

import numpy as np

from .random import _unit, _words


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def rbm_cd(w, b, c, v_data, chain, k, seed, offset):
    """p(h | v) = sigmoid(v W + c), p(v | h) = sigmoid(h W^T + b); k Gibbs steps from chain;
    returns (<v h^T>_data - <v h^T>_model, <v>_data - <v>_model, <h>_data - <h>_model, v_k),
    with hidden probabilities in the statistics and batch averages."""
    w, b, c, v_data = (np.asarray(a) for a in (w, b, c, v_data))
    if w.ndim != 2 or v_data.ndim != 2 or v_data.shape[1] != w.shape[0]:
        raise ValueError(f"rbm_cd: weight {w.shape} and v_data {v_data.shape} do not match")
    if np.shape(chain) != v_data.shape:
        raise ValueError("rbm_cd: chain must have v_data's shape")
    if k < 1:
        raise ValueError(f"rbm_cd: k (Gibbs steps) must be >= 1, got {k}")
    batch = len(v_data)
    nh, nv = batch * w.shape[1], v_data.size
    v = np.array(chain, dtype=w.dtype)
    h_data = _sigmoid(v_data @ w + c)
    for s in range(k):
        words = offset + s * (nh + nv)
        u_h = _unit(_words(seed, words + np.arange(nh, dtype=np.uint64))).reshape(batch, -1)
        h = (u_h < _sigmoid(v @ w + c)).astype(w.dtype)
        u_v = _unit(_words(seed, words + nh + np.arange(nv, dtype=np.uint64))).reshape(v.shape)
        v = (u_v < _sigmoid(h @ w.T + b)).astype(w.dtype)
    h_model = _sigmoid(v @ w + c)
    n = max(batch, 1)
    grad_w = ((v_data.T @ h_data - v.T @ h_model) / n).astype(w.dtype)
    grad_b = ((v_data - v).sum(axis=0) / n).astype(w.dtype)
    grad_c = ((h_data - h_model).sum(axis=0) / n).astype(w.dtype)
    return grad_w, grad_b, grad_c, v
