"""Run one pydl call and the same torch call on the same inputs and compare them: values,
dtypes, shapes, and (for float inputs that require grad) the gradients of a weighted sum of
the first output (test_reductions.py, test_scan_sort.py)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import pydl


def np_dtype(torch_dtype: Any) -> np.dtype:
    return np.dtype(str(torch_dtype).removeprefix("torch."))


def as_pydl(arr: np.ndarray, requires_grad: bool = False) -> pydl.Tensor:
    """A pydl tensor of arr's own dtype (pydl.tensor widens int32 and uint8 to int64)."""
    t = pydl.tensor(arr).to(arr.dtype)
    if requires_grad:
        t.requires_grad_()
    return t


def _outputs(r: Any) -> list:
    return list(r) if isinstance(r, tuple) else [r]


def compare(
    torch: Any,
    fn: Callable[[Any, Any], Any],
    arr: np.ndarray,
    grad: bool | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    outputs: tuple[int, ...] | None = None,
    grad_rtol: float = 1e-4,
) -> list:
    """fn(pydl, x) against fn(torch, tx): every output (or those `outputs` names) equal in
    shape and dtype and close in value (NaN where torch has NaN); then, when grad (default:
    a float input), the input gradients of sum(w * first output) for random weights w.
    Returns pydl's outputs."""
    if grad is None:
        grad = arr.dtype.kind == "f"
    x = as_pydl(arr, grad)
    tx = torch.tensor(arr, requires_grad=grad)
    got, want = _outputs(fn(pydl, x)), _outputs(fn(torch, tx))
    assert len(got) == len(want), (len(got), len(want))
    for k, (g, w) in enumerate(zip(got, want)):
        if outputs is not None and k not in outputs:
            continue
        w = w.detach()
        assert tuple(g.shape) == tuple(w.shape), (k, g.shape, tuple(w.shape))
        assert g.dtype == np_dtype(w.dtype), (k, g.dtype, w.dtype)
        np.testing.assert_allclose(
            g.numpy().astype(np.float64), w.numpy().astype(np.float64), rtol=rtol, atol=atol,
            equal_nan=True, err_msg=f"output {k}",
        )  # fmt: skip
    if grad and want[0].requires_grad:
        weights = np.random.default_rng(5).uniform(0.5, 1.5, size=tuple(want[0].shape))
        weights = weights.astype(arr.dtype)
        got[0].backward(weights)
        want[0].backward(torch.from_numpy(weights))
        assert x.grad is not None, "no gradient reached the input"
        np.testing.assert_allclose(
            x.grad.numpy(), tx.grad.numpy(), rtol=grad_rtol, atol=grad_rtol * 0.1,
            equal_nan=True, err_msg="gradient",
        )  # fmt: skip
    return got
