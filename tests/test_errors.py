"""Bad input raises a clear exception naming the problem, from Python and from the core."""

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import _core, reference


@pytest.fixture(params=["core", "reference"])
def backend(request):
    pydl.set_backend(request.param)


def test_matmul_shape_mismatch_names_both_shapes(backend):
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 2\)"):
        pydl.matmul(pydl.zeros(3, 4), pydl.zeros(5, 2))


def test_linear_shape_mismatch_names_both_shapes(backend):
    layer = pydl.nn.Linear(4, 2)
    with pytest.raises(ValueError, match=r"\(8, 3\).*\(2, 4\)"):
        layer(pydl.zeros(8, 3))


def test_add_broadcast_mismatch_names_both_shapes(backend):
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5,\)"):
        pydl.add(pydl.zeros(3, 4), pydl.zeros(5))


@pytest.mark.parametrize("label", [10, -1, 1 << 40])
def test_cross_entropy_label_out_of_range(backend, label):
    with pytest.raises(IndexError, match=f"target {label} is out of bounds for 10 classes"):
        F.cross_entropy(pydl.zeros(2, 10), np.array([1, label]))


def test_core_checks_labels_itself():
    # Straight to the kernels, bypassing the Python layer: IndexError, not a crash.
    logits = np.zeros((2, 3), np.float32)
    with pytest.raises(IndexError, match="out of bounds"):
        _core.cross_entropy_forward(logits, np.array([0, 3]), "mean", -100)
    with pytest.raises(IndexError):
        _core.cross_entropy_backward(
            np.ones((), np.float32),
            logits,
            np.array([0, -7]),
            np.zeros(2, np.float32),
            "mean",
            -100,
        )
    with pytest.raises(IndexError):
        _core.nll_loss_forward(logits, np.array([5, 0]), "sum", -100)
    with pytest.raises(IndexError, match="out of range"):
        _core.index_forward(np.zeros(4, np.float32), np.array([0, 4]))
    with pytest.raises(IndexError):
        _core.index_backward(np.zeros(2, np.float32), np.array([-1, 0]), [4])


def test_core_checks_shapes_itself():
    with pytest.raises(ValueError, match="linear"):
        _core.linear_forward(np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32), None)
    with pytest.raises(ValueError, match="bias"):
        _core.linear_forward(
            np.zeros((2, 3), np.float32), np.zeros((4, 3), np.float32), np.zeros(5, np.float32)
        )
    with pytest.raises(ValueError, match="grad"):
        _core.add_backward(
            np.zeros(3, np.float32), np.zeros(4, np.float32), np.zeros(4, np.float32)
        )
    with pytest.raises(ValueError, match="axis"):
        _core.sum_forward(np.zeros(3, np.float32), [1], False)
    with pytest.raises(ValueError, match="reduction"):
        _core.cross_entropy_forward(np.zeros((2, 3), np.float32), np.array([0, 1]), "avg", -100)
    with pytest.raises(ValueError, match="params but"):
        _core.sgd_step([np.zeros(3, np.float32)], [], [], 0.1, 0.0, 0.0, False, 0.0, False, True)
    with pytest.raises(ValueError, match="elements"):
        _core.adam_step(
            [np.zeros(3, np.float32)],
            [np.zeros(4, np.float32)],
            [np.zeros(3, np.float32)],
            [np.zeros(3, np.float32)],
            [],
            1,
            0.1,
            0.9,
            0.999,
            1e-8,
            0.0,
            False,
            False,
            False,
        )
    with pytest.raises(ValueError, match="state"):
        _core.adam_step(
            [np.zeros(3, np.float32)],
            [np.zeros(3, np.float32)],
            [],
            [],
            [],
            1,
            0.1,
            0.9,
            0.999,
            1e-8,
            0.0,
            False,
            True,
            False,
        )
    with pytest.raises(ValueError, match="state"):
        _core.rmsprop_step(
            [np.zeros(3, np.float32)],
            [np.zeros(3, np.float32)],
            [np.zeros(3, np.float32)],
            [],
            [],
            0.1,
            0.9,
            1e-8,
            0.0,
            0.5,
            False,
            False,
        )


def test_core_rejects_wrong_dtype():
    # sgemm, the GEMM's test hook, has no reference twin to fall back to
    a = np.zeros((2, 2), np.float64)
    with pytest.raises(TypeError, match="float32"):
        _core.sgemm(False, False, 2, 2, 2, 1.0, a, 2, a, 2, 0.0, np.zeros((2, 2), np.float32), 2)
    with pytest.raises(TypeError, match="integers"):
        _core.index_forward(np.zeros(3, np.float32), np.array([0.5]))


def test_indexing_out_of_range_raises(backend):
    t = pydl.zeros(3, 4, requires_grad=True)
    with pytest.raises(IndexError):
        t[5]
    with pytest.raises(IndexError):
        t[np.array([0, 3])]


def test_reshape_and_reduction_errors(backend):
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5,\)"):
        pydl.reshape(pydl.zeros(3, 4), (5,))
    with pytest.raises(IndexError, match="dim 2"):
        pydl.sum(pydl.zeros(3, 4), 2)
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(pydl.zeros(3), pydl.zeros(3), reduction="avg")
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        F.mse_loss(pydl.zeros(3), pydl.zeros(4))
    with pytest.raises(ValueError, match="target"):
        F.cross_entropy(pydl.zeros(4, 3), np.array([0, 1]))


def test_reference_raises_the_same_kinds():
    logits = np.zeros((2, 3))
    with pytest.raises(IndexError):
        reference.cross_entropy_forward(logits, np.array([0, 3]), "mean", -100)
    with pytest.raises(IndexError):
        reference.index_forward(np.zeros(4), np.array([4]))


def test_optimizer_argument_errors():
    p = pydl.nn.Parameter(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="learning rate"):
        pydl.optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="beta"):
        pydl.optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty"):
        pydl.optim.Adam([])
    with pytest.raises(ValueError, match="more than one"):
        pydl.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        pydl.optim.SGD([p], lr=0.1, nesterov=True)


def test_threads_argument_checked():
    with pytest.raises(ValueError):
        pydl.set_num_threads(0)
