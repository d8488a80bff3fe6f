"""Differentiable backwards: each op's backward written with pydl ops, for create_graph.

Note [Double backward]: an op's own backward (the one `record` stores) calls kernels on
arrays, which is what every training step wants: fast and recording nothing. When the user
asks for create_graph (`autograd.grad(..., create_graph=True)`, `backward(create_graph=
True)`: gradient penalties, Hessian-vector products, score matching), the engine instead
runs the op's entry in DERIVATIVES: the same gradient written with differentiable pydl ops
on the node's input tensors, so that the backward pass is itself recorded and its result
can be differentiated again. Entries are keyed by the backward function's `__qualname__`
(the ops' backwards are named `<kernel>_backward` or `_<op>_backward`); a backward may
instead carry its differentiable form as its `differentiable` attribute (autograd.Function's
do). An op without an entry raises NotImplementedError naming it, rather than returning a
gradient that silently ignores second-order terms. Ops whose backward is linear in the
gradient and reads no input values (views, indexing, casts) get a recorded node whose own
backward is the op's forward (the adjoint of the adjoint): second derivatives, not third.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import backend as _b
from ..amp import autocast
from ..reference._util import broadcast_axes
from ..tensor import Tensor, _constant, record
from . import activation as A
from . import elementwise as E
from . import layout as L
from . import linear as M
from . import reduce as R

#: backward's __qualname__ -> differentiable backward(node, grad Tensor(s)) -> Tensors.
DERIVATIVES: dict[str, Callable[[Any, Any], tuple]] = {}


def differentiable_backward(node: Any) -> Callable[[Any, Any], tuple]:
    """The DERIVATIVES entry for a node's op (Note [Double backward])."""
    own = getattr(node.backward, "differentiable", None)  # autograd.Function's
    if own is not None:
        return own
    name = node.backward.__qualname__
    fn = DERIVATIVES.get(name)
    if fn is None:
        op_name = name.split(".")[0].removesuffix("_backward").strip("_")
        raise NotImplementedError(
            f"create_graph=True: the backward of {op_name!r} "
            "is not differentiable in pydl yet (Note [Double backward] in "
            "pydl/_ops/derivatives.py lists the ops that are)"
        )
    return fn


def derivative(*names: str) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        for name in names:
            DERIVATIVES[name] = fn
        return fn

    return register


def _sum_to(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """g summed over the dims that broadcasting `shape` to g's shape added or stretched."""
    if g.shape == tuple(shape):
        return g
    dims = broadcast_axes(g.shape, tuple(shape))
    return L.reshape(R.sum(g, dims), tuple(shape)) if dims else g


def _mask(cond: np.ndarray, like: Tensor) -> Tensor:
    """A bool mask as a constant tensor of like's dtype (a factor in products)."""
    return _constant(np.asarray(cond, dtype=like.dtype))


# ----- elementwise binary (pydl/_ops/elementwise.py) ---------------------------------


@derivative("add_backward")
def _add(node: Any, g: Tensor) -> tuple:
    a, b = node.inputs
    return (
        _sum_to(g, a.shape) if a.requires_grad else None,
        _sum_to(g, b.shape) if b.requires_grad else None,
    )


@derivative("sub_backward")
def _sub(node: Any, g: Tensor) -> tuple:
    a, b = node.inputs
    return (
        _sum_to(g, a.shape) if a.requires_grad else None,
        _sum_to(A.neg(g), b.shape) if b.requires_grad else None,
    )


@derivative("mul_backward")
def _mul(node: Any, g: Tensor) -> tuple:
    a, b = node.inputs
    return (
        _sum_to(E.mul(g, b), a.shape) if a.requires_grad else None,
        _sum_to(E.mul(g, a), b.shape) if b.requires_grad else None,
    )


@derivative("div_backward")
def _div(node: Any, g: Tensor) -> tuple:
    a, b = node.inputs
    ga = E.div(g, b)
    return (
        _sum_to(ga, a.shape) if a.requires_grad else None,
        _sum_to(A.neg(E.mul(ga, E.div(a, b))), b.shape) if b.requires_grad else None,
    )


@derivative("pow_backward")
def _pow(node: Any, g: Tensor) -> tuple:
    a, b = node.inputs
    ga = gb = None
    if a.requires_grad:  # b a^(b-1), 0 where b = 0 (as the kernel)
        da = E.mul(b, E.pow(a, E.sub(b, 1.0)))
        ga = _sum_to(E.mul(g, E.where(_constant(b._array == 0), 0.0, da)), a.shape)
    if b.requires_grad:  # a^b log a, 0 where a = 0
        zero = _constant(a._array == 0)
        safe_a = E.where(zero, 1.0, a)
        db = E.mul(E.pow(a, b), A.log(safe_a))
        gb = _sum_to(E.mul(g, E.where(zero, 0.0, db)), b.shape)
    return ga, gb


@derivative("_where_backward")
def _where(node: Any, g: Tensor) -> tuple:
    a, b = node.inputs
    cond = _constant(node.saved)
    return (
        _sum_to(E.where(cond, g, 0.0), a.shape) if a.requires_grad else None,
        _sum_to(E.where(cond, 0.0, g), b.shape) if b.requires_grad else None,
    )


# ----- elementwise unary (registry.unary_kernel: inputs (x,), saved (y, params)) ------------


def _unary(*names: str) -> Callable[[Callable], Callable]:
    """Register dy/dx written as a function (x, params) -> Tensor; the gradient is g * it."""

    def register(dydx: Callable) -> Callable:
        def backward(node: Any, g: Tensor) -> tuple:
            (x,) = node.inputs
            return (E.mul(g, dydx(x, node.saved[1])),)

        for name in names:
            DERIVATIVES[name + "_backward"] = backward
            UNARY_DERIVATIVES[name] = dydx
        return dydx

    return register


#: activation name -> dy/dx(x, params), also for linear's fused epilogues.
UNARY_DERIVATIVES: dict[str, Callable] = {}


@_unary("neg")
def _d_neg(x: Tensor, p: tuple) -> Any:
    return -1.0


@_unary("exp")
def _d_exp(x: Tensor, p: tuple) -> Tensor:
    return A.exp(x)


@_unary("log")
def _d_log(x: Tensor, p: tuple) -> Tensor:
    return E.div(1.0, x)


@_unary("sqrt")
def _d_sqrt(x: Tensor, p: tuple) -> Tensor:
    return E.div(0.5, A.sqrt(x))


@_unary("abs")
def _d_abs(x: Tensor, p: tuple) -> Tensor:
    return _mask(np.sign(x._array), x)


@_unary("sin")
def _d_sin(x: Tensor, p: tuple) -> Tensor:
    return A.cos(x)


@_unary("cos")
def _d_cos(x: Tensor, p: tuple) -> Tensor:
    return A.neg(A.sin(x))


@_unary("sigmoid")
def _d_sigmoid(x: Tensor, p: tuple) -> Tensor:
    s = A.sigmoid(x)
    return E.mul(s, E.sub(1.0, s))


@_unary("tanh")
def _d_tanh(x: Tensor, p: tuple) -> Tensor:
    t = A.tanh(x)
    return E.sub(1.0, E.mul(t, t))


@_unary("relu")
def _d_relu(x: Tensor, p: tuple) -> Tensor:
    return _mask(x._array > 0, x)


@_unary("leaky_relu")
def _d_leaky_relu(x: Tensor, p: tuple) -> Tensor:
    return _constant(np.where(x._array > 0, 1.0, p[0]).astype(x.dtype))


@_unary("elu")
def _d_elu(x: Tensor, p: tuple) -> Tensor:
    return E.where(_constant(x._array > 0), 1.0, E.mul(p[0], A.exp(x)))


@_unary("selu")
def _d_selu(x: Tensor, p: tuple) -> Tensor:
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return E.mul(scale, E.where(_constant(x._array > 0), 1.0, E.mul(alpha, A.exp(x))))


@_unary("silu")
def _d_silu(x: Tensor, p: tuple) -> Tensor:
    s = A.sigmoid(x)
    return E.mul(s, E.add(1.0, E.mul(x, E.sub(1.0, s))))


@_unary("softplus")
def _d_softplus(x: Tensor, p: tuple) -> Tensor:
    beta, threshold = p
    linear = _constant(x._array * beta > threshold)
    return E.where(linear, 1.0, A.sigmoid(E.mul(beta, x)))


@_unary("logsigmoid")
def _d_logsigmoid(x: Tensor, p: tuple) -> Tensor:
    return A.sigmoid(A.neg(x))


@_unary("softsign")
def _d_softsign(x: Tensor, p: tuple) -> Tensor:
    d = E.add(1.0, A.abs(x))
    return E.div(1.0, E.mul(d, d))


@_unary("clamp", "hard_tanh")
def _d_clamp(x: Tensor, p: tuple) -> Tensor:
    return _mask((x._array >= p[0]) & (x._array <= p[1]), x)


# ----- linear algebra (pydl/_ops/linear.py) --------------------------------------------


def _mT(t: Tensor) -> Tensor:
    return L.transpose(t, -1, -2)


# A product's node holds its forward's precision (True for bf16, Note [Autocast]); its
# derivatives run their products at that precision, whatever autocast says when they run.
@derivative("_matmul_backward")
def _matmul(node: Any, g: Tensor) -> tuple:
    a, b = node.inputs
    with autocast("cpu", enabled=bool(node.saved)):
        return (
            _sum_to(M.matmul(g, _mT(b)), a.shape) if a.requires_grad else None,
            _sum_to(M.matmul(_mT(a), g), b.shape) if b.requires_grad else None,
        )


def _linear_grads(node: Any, g: Tensor) -> tuple:
    """Gradients of x @ w.T + b for the pre-activation gradient g."""
    x, w = node.inputs[0], node.inputs[1]
    gx = M.matmul(g, w) if x.requires_grad else None
    gw = gb = None
    if w.requires_grad:
        g2, x2 = L.reshape(g, (-1, g.shape[-1])), L.reshape(x, (-1, x.shape[-1]))
        gw = M.matmul(_mT(g2), x2)
    if len(node.inputs) == 3 and node.inputs[2].requires_grad:
        gb = _sum_to(g, node.inputs[2].shape)
    return (gx, gw) if len(node.inputs) == 2 else (gx, gw, gb)


@derivative("_linear_backward")
def _linear(node: Any, g: Tensor) -> tuple:
    with autocast("cpu", enabled=bool(node.saved)):
        return _linear_grads(node, g)


@derivative("_linear_act_backward")
def _linear_act(node: Any, g: Tensor) -> tuple:
    activation = node.saved[2]
    dydx = UNARY_DERIVATIVES.get(activation)
    if dydx is None:
        raise NotImplementedError(
            f"create_graph=True: linear with activation={activation!r} is not differentiable "
            "twice in pydl yet (Note [Double backward])"
        )
    with autocast("cpu", enabled=node.saved[3]):
        pre = M.linear(*node.inputs)
        return _linear_grads(node, E.mul(g, dydx(pre, ())))


# ----- reductions and softmax -------------------------------------------------------------


def _unreduce(g: Tensor, shape: tuple[int, ...], axes: tuple[int, ...]) -> Tensor:
    """g (reduced over axes, with or without keepdim) broadcast back to shape."""
    kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
    return L.expand(L.reshape(g, kept), shape)


@derivative("_sum_backward")
def _sum(node: Any, g: Tensor) -> tuple:
    (x,) = node.inputs
    return (_unreduce(g, x.shape, node.saved),)


@derivative("_mean_backward")
def _mean(node: Any, g: Tensor) -> tuple:
    (x,) = node.inputs
    count = int(np.prod([x.shape[a] for a in node.saved], dtype=np.int64))
    return (E.div(_unreduce(g, x.shape, node.saved), float(max(count, 1))),)


@derivative("_softmax_backward")
def _softmax(node: Any, g: Tensor) -> tuple:
    (x,) = node.inputs
    _, axis, kernel = node.saved
    if kernel == "softmax_backward":  # y (g - sum(g y))
        y = A.softmax(x, axis)
        return (E.mul(y, E.sub(g, R.sum(E.mul(g, y), axis, True))),)
    # log_softmax: g - softmax(x) sum(g)
    return (E.sub(g, E.mul(A.softmax(x, axis), R.sum(g, axis, True))),)


# ----- views, casts, copies (linear in g, read no inputs) ----------------------------------


@derivative("_reshape_backward")
def _reshape(node: Any, g: Tensor) -> tuple:
    return (L.reshape(g, node.inputs[0].shape),)


@derivative("_permute_backward")
def _permute(node: Any, g: Tensor) -> tuple:
    return (L.permute(g, tuple(int(i) for i in np.argsort(node.saved))),)


@derivative("_pass_backward")
def _pass(node: Any, g: Tensor) -> tuple:
    return (g,)


@derivative("_cast_backward")
def _cast(node: Any, g: Tensor) -> tuple:
    return (L.to(g, node.inputs[0].dtype),)


@derivative("_expand_backward")
def _expand(node: Any, g: Tensor) -> tuple:
    return (_sum_to(g, node.inputs[0].shape),)


@derivative("_concat_backward")
def _concat(node: Any, g: Tensor) -> tuple:
    sizes, axis = node.saved
    out, start = [], 0
    for n in sizes:
        key = (slice(None),) * axis + (slice(start, start + n),)
        out.append(L.getitem(g, key))
        start += n
    return tuple(out)


def _adjoint(g: Tensor, array_backward: Callable, array_forward: Callable) -> Tensor:
    """array_backward(g), recorded with array_forward as its own backward: Note [Double
    backward]'s adjoint of a linear op that reads no input values."""

    def backward(node: Any, gg: np.ndarray) -> tuple:
        return (array_forward(gg),)

    backward.__qualname__ = "adjoint_backward"
    return record(array_backward(g._array), (g,), backward, reads=False)


@derivative("_basic_index_backward")
def _basic_index(node: Any, g: Tensor) -> tuple:
    x, key = node.inputs[0], node.saved

    def scatter(a: np.ndarray) -> np.ndarray:
        full = np.zeros(x.shape, a.dtype)
        full[key] = a
        return full

    return (_adjoint(g, scatter, lambda gg: np.ascontiguousarray(gg[key])),)


@derivative("_index_backward")
def _index(node: Any, g: Tensor) -> tuple:
    x, idx = node.inputs[0], node.saved
    return (
        _adjoint(
            g,
            lambda a: _b.active.index_backward(a, idx, x.shape),
            lambda gg: _b.active.index_forward(gg, idx),
        ),
    )
