"""Module hooks: the handle that removes one, and the identity nodes that run the full
backward hooks (Note [Backward hooks])."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from .._hooks import RemovableHandle  # noqa: F401  (the nn modules' handle)
from ..tensor import Tensor, _constant, is_grad_enabled, record


# Note [Backward hooks]: as PyTorch's BackwardHook, a module with full backward hooks has
# its tensor inputs (those that require grad) and tensor outputs passed through identity
# nodes recorded for this call. The engine runs the output node first (every path from the
# outputs to the inputs goes through the module's own nodes): it runs the backward pre
# hooks, which may replace grad_output, and keeps grad_output. The input node then has
# grad_input and calls hook(module, grad_input, grad_output), whose result may replace
# grad_input. Where no input needs a gradient, the hooks run at the output node with
# grad_input all None. The identities share their arrays (no copy) and read no values.


def _as_tensors(grads: tuple) -> tuple:
    return tuple(None if g is None else _constant(g) for g in grads)


def _as_arrays(what: str, grads: Any, n: int) -> tuple:
    if isinstance(grads, Tensor):
        grads = (grads,)
    if not isinstance(grads, (tuple, list)) or len(grads) != n:
        got = len(grads) if isinstance(grads, (tuple, list)) else type(grads).__name__
        raise RuntimeError(
            f"backward hook returned an invalid number of {what}: got {got}, expected {n}"
        )
    return tuple(None if g is None else np.asarray(getattr(g, "_array", g)) for g in grads)


def _check_shapes(what: str, new: tuple, old: tuple) -> None:
    """A hook may replace gradients, not change their shapes (PyTorch raises too)."""
    for i, (a, b) in enumerate(zip(new, old)):
        if a is not None and b is not None and a.shape != np.shape(b):
            raise RuntimeError(
                f"backward hook changed the shape of {what}[{i}]: got {a.shape}, expected "
                f"{np.shape(b)}"
            )


class BackwardHook:
    """The full backward hooks and backward pre hooks of one module call."""

    def __init__(self, module: Any, hooks: OrderedDict, pre_hooks: OrderedDict) -> None:
        self.module = module
        self.hooks, self.pre_hooks = list(hooks.values()), list(pre_hooks.values())
        self.n_inputs = 0
        self.wrapped: list[int] = []  # positions (among the tensor inputs) wrapped
        self.grad_output: tuple = ()

    def setup_input_hook(self, args: tuple) -> tuple:
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_inputs = len(positions)
        if not is_grad_enabled():
            return args
        wrap = [i for i in positions if args[i].requires_grad]
        if not wrap:
            return args
        self.wrapped = [positions.index(i) for i in wrap]
        tensors = tuple(args[i] for i in wrap)
        outs = record(tuple(t._array for t in tensors), tensors, self._input_backward, reads=False)
        new = list(args)
        for i, t in zip(wrap, outs):
            new[i] = t
        return tuple(new)

    def setup_output_hook(self, output: Any) -> Any:
        if not is_grad_enabled():
            return output
        items = list(output) if isinstance(output, (tuple, list)) else [output]
        wrap = [i for i, o in enumerate(items) if isinstance(o, Tensor) and o.requires_grad]
        if not wrap:
            return output
        self.n_outputs = sum(isinstance(o, Tensor) for o in items)
        tensors = tuple(items[i] for i in wrap)
        outs = record(tuple(t._array for t in tensors), tensors, self._output_backward, reads=False)
        for i, t in zip(wrap, outs):
            items[i] = t
        if isinstance(output, Tensor):
            return items[0]
        return type(output)(items)

    def _output_backward(self, node: Any, g: Any) -> tuple:
        grads = (g,) if node.outputs == 1 else tuple(g)
        grad_output = _as_tensors(grads)
        for hook in self.pre_hooks:
            result = hook(self.module, grad_output)
            if result is not None:
                new = _as_arrays("grad_output", result, len(grads))
                _check_shapes("grad_output", new, grads)
                grad_output = _as_tensors(new)
        self.grad_output = grad_output
        if not self.wrapped:  # no input needs a gradient: the hooks run now
            for hook in self.hooks:
                hook(self.module, (None,) * self.n_inputs, grad_output)
        return tuple(None if t is None else t._array for t in grad_output)

    def _input_backward(self, node: Any, g: Any) -> tuple:
        grads = (g,) if node.outputs == 1 else tuple(g)
        grad_input: list = [None] * self.n_inputs
        for k, gr in zip(self.wrapped, grads):
            grad_input[k] = gr
        grad_input_t = _as_tensors(tuple(grad_input))
        for hook in self.hooks:
            result = hook(self.module, grad_input_t, self.grad_output)
            if result is not None:
                new = _as_arrays("grad_input", result, self.n_inputs)
                _check_shapes("grad_input", new, tuple(grad_input))
                grad_input_t = _as_tensors(new)
        return tuple(
            None if grad_input_t[k] is None else grad_input_t[k]._array for k in self.wrapped
        )
