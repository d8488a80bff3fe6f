"""gradcheck / gradgradcheck: autograd's gradients against central finite differences."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from ..tensor import Tensor, _constant
from .._dtypes import is_floating


class GradcheckError(RuntimeError):
    """Raised by gradcheck when an analytical gradient differs from the numerical one."""


def _outputs(func: Callable, inputs: tuple) -> tuple[Tensor, ...]:
    out = func(*inputs)
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    return tuple(o for o in outs if isinstance(o, Tensor) and is_floating(o.dtype))


def _numerical(func: Callable, inputs: tuple, j: int, eps: float) -> list[np.ndarray]:
    """d outputs / d inputs[j] by central differences: one (out.size, in.size) per output."""
    x = inputs[j]._array
    flat = x.reshape(-1)  # a view: the perturbations reach the tensor
    columns: list[list[np.ndarray]] = []
    # With recording on: gradgradcheck's function differentiates inside.
    for k in range(flat.size):
        orig = flat[k]
        flat[k] = orig + eps
        plus = [o._array.astype(np.float64).reshape(-1) for o in _outputs(func, inputs)]
        flat[k] = orig - eps
        minus = [o._array.astype(np.float64).reshape(-1) for o in _outputs(func, inputs)]
        flat[k] = orig
        columns.append([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
    n_out = len(_outputs(func, inputs)) if not columns else len(columns[0])
    return [
        np.stack([c[i] for c in columns], axis=1) if columns else np.zeros((0, 0))
        for i in range(n_out)
    ]


def _analytical(func: Callable, inputs: tuple, j: int) -> list[np.ndarray]:
    from . import grad

    outs = _outputs(func, inputs)
    result = []
    for o in outs:
        rows = []
        for k in range(o.numel()):
            if not o.requires_grad:
                rows.append(np.zeros(inputs[j].numel()))
                continue
            seed = np.zeros(o.numel(), o.dtype)
            seed[k] = 1
            (g,) = grad(o, inputs[j], seed.reshape(o.shape), retain_graph=True, allow_unused=True)
            rows.append(np.zeros(inputs[j].numel()) if g is None else g._array.reshape(-1))
        result.append(np.array(rows, dtype=np.float64).reshape(o.numel(), inputs[j].numel()))
    return result


def gradcheck(
    func: Callable,
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    fast_mode: bool = False,
    masked: bool | None = None,
) -> bool:
    """Whether the gradients autograd computes for func at `inputs` (those that require
    grad) match central finite differences with step eps: |analytical - numerical| <=
    atol + rtol |numerical| elementwise, for every output. Inputs should be float64 (a
    warning says so otherwise). Raises GradcheckError naming the output, input and the
    worst element, or returns False with raise_exception=False. The options PyTorch has
    for its other checks are accepted; only the Jacobian comparison is made."""
    if not callable(func):
        raise TypeError(f"gradcheck: func must be callable, got {type(func).__name__}")
    if not (isinstance(eps, (int, float)) and 0 < eps < float("inf")):
        raise ValueError(f"gradcheck: eps must be a positive finite step, got {eps!r}")
    ins = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [j for j, t in enumerate(ins) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for j in checked:
        if ins[j].dtype != np.float64:
            warnings.warn(
                f"Input #{j} requires gradient and is not a double precision floating point "
                "(float64): finite differences in low precision give unreliable checks",
                stacklevel=2,
            )
    for j in checked:
        numerical = _numerical(func, ins, j, eps)
        analytical = _analytical(func, ins, j)
        for i, (a, n) in enumerate(zip(analytical, numerical)):
            if a.shape != n.shape:
                n = n.reshape(a.shape)
            bad = np.abs(a - n) > atol + rtol * np.abs(n)
            if bad.any():
                r, c = np.unravel_index(np.argmax(np.abs(a - n) - rtol * np.abs(n)), a.shape)
                message = (
                    f"Jacobian mismatch for output {i} with respect to input {j}: at "
                    f"(output element {r}, input element {c}) analytical {a[r, c]:.8g}, "
                    f"numerical {n[r, c]:.8g} ({int(bad.sum())} of {bad.size} elements differ)"
                )
                if ins[j].dtype != np.float64:
                    message += (
                        f"; input {j} is {ins[j].dtype}: check with float64 inputs, as "
                        "finite differences in low precision are unreliable"
                    )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(
    func: Callable,
    inputs: Any,
    grad_outputs: Any = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    masked: bool = False,
) -> bool:
    """gradcheck of the gradients themselves (second derivatives, through create_graph):
    the function checked is inputs -> d<func(inputs), grad_outputs>/d inputs, with random
    grad_outputs unless given."""
    from . import grad

    if not callable(func):
        raise TypeError(f"gradgradcheck: func must be callable, got {type(func).__name__}")
    ins = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [t for t in ins if isinstance(t, Tensor) and t.requires_grad]
    outs = _outputs(func, ins)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        gos = [_constant(rng.standard_normal(o.shape).astype(o.dtype)) for o in outs]
    else:
        gos = list(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else [grad_outputs]

    def first_derivatives(*xs: Any) -> tuple:
        os_ = [o for o in _outputs(func, xs) if o.requires_grad]
        wanted = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        gs = grad(os_, wanted, [g._array for g in gos[: len(os_)]], create_graph=True,
                  allow_unused=True)  # fmt: skip
        return tuple(g for g in gs if g is not None)

    if not diff:
        raise ValueError("gradgradcheck expects at least one input tensor to require gradient")
    return gradcheck(
        first_derivatives, ins, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception
    )
