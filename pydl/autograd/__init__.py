"""pydl.autograd: gradients as values (grad), user-defined ops (Function), Jacobians and
Hessians (functional), and checks against finite differences (gradcheck), as
torch.autograd has them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import (
    Tensor,
    _as_array,
    _constant,
    _new_node,
    _Node,
    _run_backward,
    enable_grad,
    inference_mode,
    no_grad,
    set_grad_enabled,
)

__all__ = [
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "no_grad",
    "set_grad_enabled",
]


def _tensors(x: Tensor | Sequence[Tensor], what: str) -> list[Tensor]:
    if not isinstance(x, (Tensor, list, tuple)):
        raise TypeError(f"{what} must be a Tensor or a sequence of Tensors, got {type(x).__name__}")
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

    create_graph records the backward pass, so that the gradients can be differentiated
    again (Note [Double backward]); retain_graph defaults to it."""
    outs, ins = _tensors(outputs, "outputs"), _tensors(inputs, "inputs")
    if not outs or not ins:
        raise ValueError("grad needs at least one output and one input")
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"inputs[{i}] does not require grad: nothing to differentiate")
    if isinstance(grad_outputs, (str, bytes)) or not (
        grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray, list, tuple))
    ):
        raise TypeError(
            "grad_outputs must be None, a Tensor or a sequence of Tensors (one per output), "
            f"got {type(grad_outputs).__name__}"
        )
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outs):
        raise ValueError(f"got {len(grad_outputs)} grad_outputs for {len(outs)} outputs")
    seeds = []  # arrays; Tensors when recording, so that a seed in a graph stays in it
    for i, (t, g) in enumerate(zip(outs, grad_outputs)):
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; outputs[{i}] "
                    f"has shape {tuple(t.shape)}: pass grad_outputs"
                )
            g = np.ones_like(t._array)
        if not (create_graph and isinstance(g, Tensor)):
            g = _as_array(g, t.dtype)
        if tuple(g.shape) != t._array.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_outputs[{i}] has shape {tuple(g.shape)} and "
                f"outputs[{i}] has shape {tuple(t.shape)}"
            )
        seeds.append(_constant(g) if create_graph and not isinstance(g, Tensor) else g)
    if not any(t.requires_grad for t in outs):
        raise RuntimeError("none of the outputs requires grad: they do not depend on inputs")
    if len(outs) == 1:
        root, seed = outs[0], seeds[0]
    else:  # one stand-in root whose node hands each output its seed

        def hand_out(node: _Node, _g: object) -> list:
            return seeds

        hand_out.differentiable = hand_out  # type: ignore[attr-defined]  # Note [Double backward]
        root = _constant(np.ones((), outs[0].dtype))
        root._ctx = _new_node(hand_out, tuple(outs), None, 1, False)
        root.requires_grad, seed = True, root._array
    retain = create_graph if retain_graph is None else bool(retain_graph)
    found = _run_backward(root, seed, retain, wanted=ins, create_graph=create_graph)
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
            result.append(g if create_graph else _constant(g))
    return tuple(result)


# Imported last: they use grad.
from . import functional  # noqa: E402
from .function import Function, FunctionCtx  # noqa: E402
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
