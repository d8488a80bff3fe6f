import numpy as np


def broadcast_axes(g_shape: tuple, shape: tuple) -> tuple:
    """The axes of g_shape along which an operand of `shape` was broadcast (added in front
    or stretched from 1): what its gradient sums over."""
    lead = len(g_shape) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g_shape[lead + i] != 1
    )


def sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum g over the axes along which an operand of `shape` was broadcast."""
    shape = tuple(shape)
    axes = broadcast_axes(g.shape, shape)
    return np.asarray(g.sum(axis=axes).reshape(shape) if axes else g, order="C")
