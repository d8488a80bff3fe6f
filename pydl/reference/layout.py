"""contiguous copies, gather/scatter by flat index, concatenation."""

import numpy as np


def contiguous_forward(x):
    """a C-contiguous copy of x (any dtype)"""
    return np.array(x, order="C", copy=True)


def _check(index, n):
    bad = (index < 0) | (index >= n)
    if bad.any():
        i = int(np.argmax(bad.reshape(-1)))
        raise IndexError(
            f"index {int(index.reshape(-1)[i])} is out of range for size {n} (at position {i})"
        )


def index_forward(x, index):
    """out = x.flat[index]"""
    _check(index, x.size)
    return np.asarray(x.reshape(-1)[index], order="C")


def index_backward(grad, index, x_shape):
    """scatter-add grad into zeros at index (repeats accumulate)"""
    n = int(np.prod(x_shape))
    _check(index, n)
    g = np.zeros(n, dtype=grad.dtype)
    np.add.at(g, index.reshape(-1), grad.reshape(-1))
    return g.reshape(tuple(x_shape))


def embedding_forward(weight, index):
    """out[..., :] = weight[index[...], :]"""
    _check(index, weight.shape[0])
    return np.asarray(weight[index], order="C")


def embedding_backward(grad, index, rows, padding_idx):
    """scatter-add each gradient row into its index's row, except padding_idx"""
    _check(index, rows)
    gw = np.zeros((rows, grad.shape[-1]), grad.dtype)
    flat = index.reshape(-1)
    keep = flat != padding_idx
    np.add.at(gw, flat[keep], grad.reshape(-1, grad.shape[-1])[keep])
    return gw


def concat_forward(xs, axis):
    return np.asarray(np.concatenate(xs, axis=axis), order="C")


def concat_backward(grad, sizes, axis):
    return [np.asarray(p, order="C") for p in np.split(grad, np.cumsum(sizes)[:-1], axis=axis)]
