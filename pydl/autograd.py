"""pydl.autograd: gradients as values, as torch.autograd.grad gives them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .tensor import Tensor, _as_array, _constant, _Node, _run_backward, no_grad

__all__ = ["grad", "no_grad"]


def _tensors(x: Tensor | Sequence[Tensor], what: str) -> list[Tensor]:
    items = [x] if isinstance(x, Tensor) else list(x)
    for t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"{what} must be Tensors, got {type(t).__name__}")
    return items


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of sum_i <outputs[i], grad_outputs[i]> with respect to each of
    `inputs` (leaves or intermediate tensors), returned instead of accumulated into .grad.
    grad_outputs may be omitted for one-element outputs. An input the outputs do not
    depend on is an error unless allow_unused (then None, or zeros with
    materialize_grads). The graph is freed unless retain_graph.

    create_graph=True (differentiating the gradient again) is not supported: pydl's
    backward functions run on arrays and are not themselves recorded."""
    if create_graph:
        raise NotImplementedError(
            "pydl.autograd.grad: create_graph=True (double backward) is not supported; "
            "pydl's backward functions are not recorded as differentiable ops"
        )
    outs, ins = _tensors(outputs, "outputs"), _tensors(inputs, "inputs")
    if not outs or not ins:
        raise ValueError("grad needs at least one output and one input")
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"inputs[{i}] does not require grad: nothing to differentiate")
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outs):
        raise ValueError(f"got {len(grad_outputs)} grad_outputs for {len(outs)} outputs")
    seeds = []
    for i, (t, g) in enumerate(zip(outs, grad_outputs)):
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; outputs[{i}] "
                    f"has shape {tuple(t.shape)}: pass grad_outputs"
                )
            g = np.ones_like(t._array)
        g = _as_array(g, t.dtype)
        if g.shape != t._array.shape:
            raise ValueError(f"grad_outputs[{i}] has shape {g.shape}, outputs[{i}] {t.shape}")
        seeds.append(g)
    if not any(t.requires_grad for t in outs):
        raise RuntimeError("none of the outputs requires grad: they do not depend on inputs")
    if len(outs) == 1:
        root, seed = outs[0], seeds[0]
    else:  # one stand-in root whose node hands each output its seed
        root = _constant(np.ones((), outs[0].dtype))
        root._ctx = _Node(lambda node, _g: seeds, tuple(outs), None, 1, False)
        root.requires_grad, seed = True, root._array
    found = _run_backward(root, seed, bool(retain_graph), wanted=ins)
    result = []
    for i, (t, g) in enumerate(zip(ins, found)):
        if g is None:
            if not allow_unused and not materialize_grads:
                raise RuntimeError(
                    f"inputs[{i}] was not used to compute the outputs; pass allow_unused=True "
                    "to get None for it"
                )
            result.append(Tensor(np.zeros_like(t._array)) if materialize_grads else None)
        else:
            result.append(_constant(g))
    return tuple(result)
