"""Matrix products: matmul and linear with its fused epilogue (cpp/kernels/linear,
pydl/reference/linear)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend as _b
from ..amp import _state as _autocast
from ..tensor import Tensor, as_tensor, grad_needed, name_argument, record
from ._util import tensor_pair
from .layout import reshape, squeeze, unsqueeze
from .registry import OPS, op
from .._dtypes import is_floating


def _float32(*arrays: np.ndarray) -> bool:
    """Whether a product of these arrays may run in bf16 under autocast (Note [Autocast]):
    they are float32 (float64 products are never lowered, as in PyTorch)."""
    return all(a.dtype == np.float32 for a in arrays)


def _matmul_backward(node: Any, g: np.ndarray) -> Any:
    a, b = node.inputs
    if node.saved:  # bf16 (Note [Autocast]); the kwarg only then: none on the common path
        return _b.active.matmul_backward(
            g, a._array, b._array, a.requires_grad, b.requires_grad, bf16=True
        )
    return _b.active.matmul_backward(g, a._array, b._array, a.requires_grad, b.requires_grad)


@op(method=True, toplevel=True)
def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands are promoted, batch dims broadcast."""
    try:  # compiled, this module has no frames to name the argument: name_argument does
        a, b = tensor_pair(a, b)
    except (TypeError, ValueError) as e:
        raise name_argument(e, "matmul", a=a, b=b) from None
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul needs operands of rank >= 1; got shapes {a.shape} and {b.shape}")
    if a.ndim == 1 and b.ndim == 1:  # a dot product: a 0-d result
        return reshape(matmul(unsqueeze(a, 0), unsqueeze(b, 1)), ())
    if a.ndim == 1:
        return squeeze(matmul(unsqueeze(a, 0), b), -2)
    if b.ndim == 1:
        return squeeze(matmul(a, unsqueeze(b, 1)), -1)
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} are not aligned "
            f"({a.shape[-1]} != {b.shape[-2]})"
        )
    if _autocast.bf16 and _float32(a._array, b._array):
        out = _b.active.matmul_forward(a._array, b._array, bf16=True)
        return record(out, (a, b), _matmul_backward, True)
    return record(_b.active.matmul_forward(a._array, b._array), (a, b), _matmul_backward)


def check_operands(fn: str, x: Tensor, weight: Any, bias: Any) -> None:
    """The parameters of a layer op (linear, conv): `weight` (and `bias`) must be Tensors
    (TypeError naming the argument: a NumPy array is not wrapped silently, as PyTorch's),
    and an integer or bool input cannot meet a float weight (RuntimeError, as PyTorch's;
    the kernels would compute in the input's dtype, truncating the weights)."""
    if not isinstance(weight, Tensor):
        raise TypeError(
            f"{fn}(): argument 'weight' must be a Tensor, not {type(weight).__name__} "
            "(wrap it with pydl.tensor)"
        )
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(
            f"{fn}(): argument 'bias' must be a Tensor or None, not {type(bias).__name__}"
        )
    xt, wt = x._array.dtype, weight._array.dtype
    if xt is not wt and xt != wt and (not is_floating(xt) or not is_floating(wt)):
        raise RuntimeError(
            f"{fn}: input and weight must have the same dtype, but got {x.dtype} and {weight.dtype}"
        )


def _is_fusable(activation: str) -> bool:
    """Whether F.linear can apply `activation` in the GEMM's epilogue: the ops declared with
    `epilogue=` (the rows of C++'s Note [Unary op list] marked fusable; a test checks both)."""
    decl = OPS.get(activation)
    return decl is not None and decl.epilogue == activation


# A node's `saved` holds its forward's precision (True for bf16), so that the backward's
# products use it too, inside the autocast block or not (Note [Autocast]).
def _linear_backward(node: Any, g: np.ndarray) -> Any:
    x, w = node.inputs[0], node.inputs[1]
    if node.saved:
        return _b.active.linear_backward(
            g, x._array, w._array, len(node.inputs) == 3, x.requires_grad, w.requires_grad,
            bf16=True,
        )  # fmt: skip
    return _b.active.linear_backward(
        g, x._array, w._array, len(node.inputs) == 3, x.requires_grad, w.requires_grad
    )


def _linear_act_backward(node: Any, g: np.ndarray) -> Any:
    x, w = node.inputs[0], node.inputs[1]
    y, pre, activation, bf16 = node.saved
    return _b.active.linear_act_backward(
        g, x._array, w._array, y, pre, len(node.inputs) == 3, activation, x.requires_grad,
        w.requires_grad, **({"bf16": True} if bf16 else {}),
    )  # fmt: skip


@op(kernels=("linear", "linear_act"))
def linear(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, activation: str | None = None
) -> Tensor:
    """act(x @ weight.T + bias) as one kernel call forward and one backward.

    The bias and the optional activation (a pydl extension of torch's signature: one of the
    ops declared with `epilogue=`, today "relu", "gelu", "tanh", "sigmoid") are applied by
    the GEMM's epilogue.
    """
    if type(x) is not Tensor:
        try:
            x = as_tensor(x)
        except (TypeError, ValueError) as e:
            raise name_argument(e, "linear", x=x) from None
    check_operands("linear", x, weight, bias)
    # The checks read the arrays, not the Tensor properties: this runs for every layer of
    # every step, and at a small model's sizes the properties' calls cost as much as the kernel.
    xa, wa = x._array, weight._array
    if wa.ndim != 2 or xa.ndim < 1 or xa.shape[-1] != wa.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} does not match weight of shape "
            f"{weight.shape} (expected input (..., {weight.shape[-1]}))"
        )
    if bias is None:
        inputs, ba = (x, weight), None
    else:
        inputs, ba = (x, weight, bias), bias._array
        if ba.ndim != 1 or ba.shape[0] != wa.shape[0]:
            raise ValueError(
                f"linear: bias of shape {bias.shape} does not match weight of shape {weight.shape}"
            )
    bf16 = _autocast.bf16 and _float32(xa, wa)
    if activation is None:
        if bf16:
            y = _b.active.linear_forward(xa, wa, ba, bf16=True)
            return record(y, inputs, _linear_backward, True)
        return record(_b.active.linear_forward(xa, wa, ba), inputs, _linear_backward)
    if not _is_fusable(activation):
        fusable = sorted(d.epilogue for d in OPS.values() if d.epilogue)
        raise ValueError(f"linear: activation must be one of {fusable} or None, got {activation!r}")
    save = grad_needed(x, weight, bias)
    if bf16:
        y, pre = _b.active.linear_act_forward(xa, wa, ba, activation, save=save, bf16=True)
    else:
        y, pre = _b.active.linear_act_forward(xa, wa, ba, activation, save=save)
    return record(y, inputs, _linear_act_backward, (y, pre, activation, bf16))


@op(kernels=())
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j] + b[o]: one GEMM of x1 with W
    laid out as (out * in2, in1), then a product with x2 summed over j."""
    from .elementwise import mul
    from .layout import permute
    from .reduce import sum as reduce_sum

    try:
        x1, x2 = as_tensor(input1), as_tensor(input2)
    except (TypeError, ValueError) as e:
        raise name_argument(e, "bilinear", input1=input1, input2=input2) from None
    if weight.ndim != 3 or x1.shape[:-1] != x2.shape[:-1]:
        raise ValueError(
            f"bilinear expects inputs (*, in1) and (*, in2) with the same leading dims and "
            f"weight (out, in1, in2); got {x1.shape}, {x2.shape} and {weight.shape}"
        )
    out, in1, in2 = weight.shape
    if x1.shape[-1] != in1 or x2.shape[-1] != in2:
        raise ValueError(
            f"bilinear: weight {weight.shape} expects in1={in1} and in2={in2} features, got "
            f"inputs {x1.shape} and {x2.shape}"
        )
    lead = x1.shape[:-1]
    w2 = reshape(permute(weight, 0, 2, 1), (out * in2, in1))
    t = reshape(linear(reshape(x1, (-1, in1)), w2), (-1, out, in2))
    y = reduce_sum(mul(t, unsqueeze(reshape(x2, (-1, in2)), 1)), 2)
    if bias is not None:
        y = y + bias
    return reshape(y, lead + (out,))
