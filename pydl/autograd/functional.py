"""autograd.functional: Jacobians, Hessians and their products with vectors, as
torch.autograd.functional computes them (by reverse mode, one backward per output element
for the full matrices)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import Tensor, _constant, enable_grad
from . import grad as _grad

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(x: Any, what: str) -> tuple[bool, tuple[Tensor, ...]]:
    """(was it a tuple, its tensors)."""
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for t in items:
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{what} must be a Tensor or a tuple of Tensors, got {type(t).__name__}"
            )
    return is_tuple, items


def _fresh_inputs(inputs: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    """Inputs that require grad: the inputs themselves when the result must stay in their
    graph (create_graph), else detached copies."""
    if create_graph:
        return tuple(t if t.requires_grad else t.detach().requires_grad_() for t in inputs)
    return tuple(t.detach().requires_grad_() for t in inputs)


def _grads(
    outputs: Any, inputs: tuple, grad_outputs: Any, create_graph: bool, strict: bool
) -> tuple:
    """d<outputs, grad_outputs>/d inputs, zeros (or an error with strict) where unused."""
    outs = [o for o in outputs if o.requires_grad]
    gos = [g for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not outs:
        if strict:
            raise RuntimeError("the output of the function is independent of its inputs (strict)")
        return tuple(_constant(np.zeros_like(t._array)) for t in inputs)
    found = _grad(
        outs, inputs, gos, retain_graph=True, create_graph=create_graph, allow_unused=True
    )
    if strict and any(g is None for g in found):
        raise RuntimeError("an input is not used to compute the outputs (strict=True)")
    return tuple(
        _constant(np.zeros_like(t._array)) if g is None else g for g, t in zip(found, inputs)
    )


def _call(func: Callable, inputs: tuple, create_graph: bool) -> tuple[bool, tuple]:
    with enable_grad():
        out = func(*inputs)
    return _as_tuple(out, "the function's output")


def vjp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
):
    """(func(inputs), v^T J): the vector-Jacobian product."""
    in_tuple, ins = _as_tuple(inputs, "inputs")
    ins = _fresh_inputs(ins, create_graph)
    out_tuple, outs = _call(func, ins, create_graph)
    if v is None:
        if any(o.numel() != 1 for o in outs):
            raise RuntimeError("vjp: v can be omitted only when the output has one element")
        vs = tuple(_constant(np.ones_like(o._array)) for o in outs)
    else:
        vs = _as_tuple(v, "v")[1]
    grads = _grads(outs, ins, [g._array for g in vs], create_graph, strict)
    outs = outs if create_graph else tuple(o.detach() for o in outs)
    return (outs if out_tuple else outs[0]), (grads if in_tuple else grads[0])


def jvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
):
    """(func(inputs), J v): the Jacobian-vector product, by the double-vjp trick (the vjp
    with a dummy cotangent u is linear in u; its gradient with respect to u is J v)."""
    in_tuple, ins = _as_tuple(inputs, "inputs")
    ins = _fresh_inputs(ins, True)
    vs = _as_tuple(v, "v")[1] if v is not None else None
    if vs is None:
        if any(t.numel() != 1 for t in ins):
            raise RuntimeError("jvp: v can be omitted only when the input has one element")
        vs = tuple(_constant(np.ones_like(t._array)) for t in ins)
    out_tuple, outs = _call(func, ins, True)
    us = tuple(_constant(np.zeros_like(o._array)).requires_grad_() for o in outs)
    with enable_grad():
        g_us = _grad(outs, ins, us, retain_graph=True, create_graph=True, allow_unused=True)
        pairs = [(g, v) for g, v in zip(g_us, vs) if g is not None]
        if not pairs:
            jv = tuple(_constant(np.zeros_like(o._array)) for o in outs)
        else:
            jv = _grad(
                [g for g, _ in pairs], us, [v._array for _, v in pairs],
                retain_graph=True, create_graph=create_graph, allow_unused=True,
            )  # fmt: skip
            jv = tuple(
                _constant(np.zeros_like(o._array)) if j is None else j for j, o in zip(jv, outs)
            )
    if not create_graph:
        outs, jv = tuple(o.detach() for o in outs), tuple(j.detach() for j in jv)
    return (outs if out_tuple else outs[0]), (jv if out_tuple else jv[0])


def jacobian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of func at inputs: for output i and input j a tensor of shape
    outputs[i].shape + inputs[j].shape (nested as PyTorch's: a Tensor for one input and
    one output, tuples otherwise). Reverse mode, one backward per output element;
    `vectorize` and `strategy` are accepted for compatibility and change nothing."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(
            f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}"
        )
    in_tuple, ins = _as_tuple(inputs, "inputs")
    ins = _fresh_inputs(ins, create_graph)
    out_tuple, outs = _call(func, ins, create_graph)
    from ..functional import reshape, stack

    rows = []  # rows[i][j]: d outputs[i] / d inputs[j]
    for o in outs:
        per_input: list[list[Tensor]] = [[] for _ in ins]
        for k in range(o.numel()):
            seed = np.zeros(o.numel(), o.dtype)
            seed[k] = 1
            grads = _grads((o,), ins, [seed.reshape(o.shape)], create_graph, strict)
            for j, g in enumerate(grads):
                per_input[j].append(g)
        blocks = []
        for j, t in enumerate(ins):
            if per_input[j]:
                block = reshape(stack(per_input[j]), tuple(o.shape) + tuple(t.shape))
            else:  # an empty output
                block = _constant(np.zeros(tuple(o.shape) + tuple(t.shape), t.dtype))
            blocks.append(block if create_graph else block.detach())
        rows.append(tuple(blocks) if in_tuple else blocks[0])
    return tuple(rows) if out_tuple else rows[0]


def hessian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of the scalar function func at inputs: the Jacobian of its gradient
    (Note [Double backward] says which ops can be differentiated twice)."""
    in_tuple, ins = _as_tuple(inputs, "inputs")

    def gradient(*xs: Tensor) -> Any:
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("hessian: the function must return a single-element Tensor")
        gs = _grads((out,), xs, [np.ones_like(out._array)], True, strict)
        return gs if in_tuple else gs[0]

    return jacobian(gradient, ins if in_tuple else ins[0], create_graph, strict)


def vhp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
):
    """(func(inputs), v^T H) for a scalar func."""
    in_tuple, ins = _as_tuple(inputs, "inputs")
    ins = _fresh_inputs(ins, True)
    _, outs = _call(func, ins, True)
    if len(outs) != 1 or outs[0].numel() != 1:
        raise RuntimeError("vhp/hvp: the function must return a single-element Tensor")
    vs = (
        _as_tuple(v, "v")[1]
        if v is not None
        else tuple(_constant(np.ones_like(t._array)) for t in ins)
    )
    g = _grads(outs, ins, [np.ones_like(outs[0]._array)], True, strict)
    with enable_grad():
        dot = None
        for gi, vi in zip(g, vs):
            term = (gi * vi).sum()
            dot = term if dot is None else dot + term
    if dot is None or not dot.requires_grad:
        hv = tuple(_constant(np.zeros_like(t._array)) for t in ins)
    else:
        hv = _grads((dot,), ins, [np.ones((), dot.dtype)], create_graph, strict)
    out = outs[0] if create_graph else outs[0].detach()
    hv = hv if create_graph else tuple(h.detach() for h in hv)
    return out, (hv if in_tuple else hv[0])


def hvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
):
    """(func(inputs), H v) for a scalar func: equal to vhp, the Hessian being symmetric."""
    return vhp(func, inputs, v, create_graph, strict)
