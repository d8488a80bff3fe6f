import numpy as np


def sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum g over the axes along which an operand of `shape` was broadcast."""
    shape = tuple(shape)
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1
    )
    return np.asarray(g.sum(axis=axes).reshape(shape) if axes else g, order="C")
