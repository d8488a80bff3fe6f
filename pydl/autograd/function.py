"""autograd.Function: user-defined ops with their own backward, as PyTorch's."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, _constant, _grad_mode, enable_grad, no_grad, record


class FunctionCtx:
    """The `ctx` a Function's forward and backward share: save_for_backward /
    saved_tensors, needs_input_grad, mark_non_differentiable, set_materialize_grads; other
    attributes may be set freely (ctx.alpha = alpha)."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple = ()
        self.materialize_grads = True
        self._non_differentiable: set[int] = set()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors (or None), got {type(t).__name__}"
                    "; store other values as attributes of ctx"
                )
        self.saved_tensors = tuple(tensors)

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        self._non_differentiable.update(id(o) for o in outputs)

    def set_materialize_grads(self, value: bool) -> None:
        """Whether backward gets zeros (True, the default) or None for outputs that
        received no gradient."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors: Tensor) -> None:
        raise NotImplementedError(
            "pydl's autograd.Function does not support in-place forwards (mark_dirty): return "
            "a new tensor instead"
        )


class Function:
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grad_outputs)` and
    call `MyFunction.apply(*args)`. forward runs without recording; backward returns one
    gradient (or None) per forward argument. A backward written with pydl ops is itself
    differentiable (create_graph=True)."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, *grads)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(
            f"{type(self).__name__} is used through its class: {type(self).__name__}.apply(...)"
        )

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        tensor_args = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        for o in outs:
            if o is not None and not isinstance(o, Tensor):
                raise TypeError(
                    f"{cls.__name__}.forward must return Tensors (or a tuple of them), got "
                    f"{type(o).__name__}"
                )
        if not (_grad_mode.enabled and any(needs)):
            return out
        differentiable = [o is not None and id(o) not in ctx._non_differentiable for o in outs]

        def grads_from(results: Any, graph: bool, like: list) -> tuple:
            results = results if isinstance(results, tuple) else (results,)
            if len(results) != len(args):
                raise RuntimeError(
                    f"{cls.__name__}.backward returned {len(results)} gradients, expected "
                    f"{len(args)} (one per forward argument, None for non-tensors)"
                )
            grads = []
            for i in tensor_args:
                g = results[i]
                if g is not None:
                    if not isinstance(g, Tensor) or g.shape != args[i].shape:
                        raise RuntimeError(
                            f"{cls.__name__}.backward: gradient {i} must be None or a Tensor of "
                            f"shape {tuple(args[i].shape)}, got {g!r:.80}"
                        )
                    g = g if graph else np.asarray(g._array, dtype=args[i].dtype)
                grads.append(g)
            return tuple(grads)

        def call_backward(grads: tuple, graph: bool) -> tuple:
            full = []
            for o, g in zip(outs, grads):
                if g is None and ctx.materialize_grads and o is not None:
                    g = (
                        np.zeros(o.shape, o.dtype)
                        if not graph
                        else _constant(np.zeros_like(o._array))
                    )
                full.append(g if (graph or g is None) else _constant(g))
            with enable_grad() if graph else no_grad():
                return grads_from(cls.backward(ctx, *full), graph, full)

        def backward(node: Any, g: Any) -> tuple:
            return call_backward((g,) if node.outputs == 1 else g, False)

        def differentiable_backward(node: Any, g: Any) -> tuple:
            return call_backward((g,) if node.outputs == 1 else g, True)

        backward.__qualname__ = f"{cls.__qualname__}.backward"
        backward.differentiable = differentiable_backward  # type: ignore[attr-defined]
        inputs = tuple(args[i] for i in tensor_args)
        arrays = tuple(o._array if d else None for o, d in zip(outs, differentiable))
        recorded = record(arrays, inputs, backward, reads=False)
        result = tuple(r if d else o for r, o, d in zip(recorded, outs, differentiable))
        return result[0] if single else result
