"""Tensor and the autograd engine (one engine for both kernel backends).

A Tensor wraps a C-contiguous NumPy array. An op on tensors that require grad
records a `_Node` on its output: the backward function, the input tensors and what
the backward needs (plain arrays). `Tensor.backward` walks the recorded graph in
reverse topological order, calls each node's backward once with the summed
gradient of its output, and accumulates into the `.grad` of leaf tensors.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any, Callable

import numpy as np

from . import backend

DEFAULT_DTYPE = np.dtype(np.float32)


class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    return _grad_mode.enabled


class no_grad:
    """Context manager (and decorator) that stops recording ops for autograd."""

    def __enter__(self) -> None:
        self._prev = _grad_mode.enabled
        _grad_mode.enabled = False

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        return wrapper


class enable_grad(no_grad):
    """Context manager that turns recording back on inside a `no_grad` block."""

    def __enter__(self) -> None:
        self._prev = _grad_mode.enabled
        _grad_mode.enabled = True


class _Node:
    """One recorded op: backward(node, grad) -> one gradient (or None) per input."""

    __slots__ = ("backward", "inputs", "saved")

    def __init__(self, backward: Callable, inputs: tuple, saved: Any) -> None:
        self.backward = backward
        self.inputs = inputs
        self.saved = saved


def _as_array(data: Any, dtype: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype, order="C")
    arr = np.asarray(data)
    if arr.dtype.kind == "f":
        # NumPy arrays keep their float width; Python floats become float32.
        if not isinstance(data, np.ndarray) and not isinstance(data, np.generic):
            arr = arr.astype(DEFAULT_DTYPE)
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind != "b":
        raise TypeError(f"cannot make a tensor from data of dtype {arr.dtype}")
    return np.asarray(arr, order="C")


class Tensor:
    """An n-dimensional array with optional gradient tracking.

    `data` is a C-contiguous NumPy array; `numpy()` returns it without copying.
    """

    __slots__ = ("__weakref__", "_ctx", "data", "grad", "requires_grad")
    __array_priority__ = 1000  # so ndarray + Tensor dispatches to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = _as_array(data, dtype)
        self.grad: Tensor | None = None
        self._ctx: _Node | None = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ----- properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def size(self, dim: int | None = None) -> Any:
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.dtype != DEFAULT_DTYPE:
            extra = f", dtype={self.dtype}" + extra
        return f"tensor({body}{extra})"

    # ----- conversion -------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The underlying array, without copying: writes to it change the tensor."""
        return self.data

    def item(self) -> Any:
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the graph."""
        t = Tensor.__new__(Tensor)
        t.data, t.grad, t._ctx, t.requires_grad = self.data, None, None, False
        return t

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError(f"only floating-point tensors can require grad, not {self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad can only be turned off on leaf tensors; use detach()")
        self.requires_grad = requires_grad
        return self

    def zero_(self) -> Tensor:
        self.data[...] = 0
        return self

    def float(self) -> Tensor:
        return Tensor(self.data, dtype=np.float32)

    def double(self) -> Tensor:
        return Tensor(self.data, dtype=np.float64)

    def long(self) -> Tensor:
        return Tensor(self.data, dtype=np.int64)

    # ----- autograd ---------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) * grad into the `.grad` of every leaf that requires grad.

        `grad` may be omitted only for a tensor with one element. The graph's saved
        arrays are freed afterwards unless `retain_graph` is true; backward through a
        freed graph raises RuntimeError.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a "
                "grad_fn: backward() needs a tensor that requires grad"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; "
                    f"this tensor has shape {self.shape}: pass grad="
                )
            g = np.ones_like(self.data)
        else:
            g = _as_array(grad, self.dtype)
            if g.shape != self.shape:
                raise ValueError(f"grad has shape {g.shape} but the tensor has shape {self.shape}")
        _run_backward(self, g, retain_graph)


def _topo_order(root: Tensor) -> list[Tensor]:
    """Tensors reachable from root through recorded nodes, each after all of its inputs
    (iterative post-order DFS; a tensor is marked when expanded, not when first seen, so a
    direct input of the root that is also reachable deeper still comes out first)."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        node = t._ctx
        if node is not None:
            for inp in node.inputs:
                if inp.requires_grad and id(inp) not in visited:
                    stack.append((inp, False))
    return order


def _run_backward(root: Tensor, grad: np.ndarray, retain_graph: bool) -> None:
    grads: dict[int, np.ndarray] = {id(root): grad}
    # Note [Gradient ownership]: a leaf's new .grad takes the computed array without a
    # copy unless its memory was already handed out in this pass (a backward may return
    # one array, or views of it, for several inputs) or belongs to the caller (the root
    # grad). Later passes accumulate into .grad in place, so it must be owned alone.
    handed_out = {id(_memory_owner(grad))}
    for t in reversed(_topo_order(root)):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        node = t._ctx
        if node is None:  # a leaf: accumulate into .grad
            if t.grad is None:
                owner = _memory_owner(g)
                if id(owner) in handed_out or g.dtype != t.dtype or not g.flags.c_contiguous:
                    g = np.array(g, dtype=t.dtype, copy=True)
                    owner = g
                handed_out.add(id(owner))
                t.grad = Tensor.__new__(Tensor)
                t.grad.data, t.grad.grad, t.grad._ctx, t.grad.requires_grad = g, None, None, False
            else:
                t.grad.data += g
            continue
        if node.backward is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Specify retain_graph=True the "
                "first time if you need to backward twice."
            )
        input_grads = node.backward(node, g)
        for inp, ig in zip(node.inputs, input_grads):
            if ig is None or not inp.requires_grad:
                continue
            key = id(inp)
            prev = grads.get(key)
            grads[key] = ig if prev is None else _sum_grads(prev, ig)
        if not retain_graph:
            node.backward = None
            node.saved = None


def _sum_grads(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b for two gradients of one tensor (a residual stream's, a tied weight's): the
    active backend's add, whose output comes from the buffer pool; numpy's fresh 2 MB
    arrays cost page faults (GPT step: 5 sums took 3.6 ms)."""
    if a.shape == b.shape and a.dtype == b.dtype == np.float32:
        return backend.active.add_forward(a, b)
    return a + b


def _memory_owner(a: np.ndarray) -> np.ndarray:
    """The array that owns a's memory (a itself, or the base of a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def wrap(
    data: np.ndarray,
    inputs: Sequence[Tensor] = (),
    backward: Callable | None = None,
    saved: Any = None,
) -> Tensor:
    """A new tensor over `data`; records (backward, inputs, saved) when any input needs grad."""
    t = Tensor.__new__(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = False
    t._ctx = None
    if backward is not None and _grad_mode.enabled:
        for i in inputs:
            if i.requires_grad:
                t.requires_grad = True
                t._ctx = _Node(backward, tuple(inputs), saved)
                break
    return t


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A new leaf tensor with a copy of `data` (float data defaults to float32)."""
    t = Tensor(np.array(data.data if isinstance(data, Tensor) else data, copy=True), dtype=dtype)
    if dtype is None and not isinstance(data, (np.ndarray, Tensor)) and t.dtype.kind == "f":
        t.data = t.data.astype(DEFAULT_DTYPE)
    return t.requires_grad_(requires_grad) if requires_grad else t


def as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """x itself if it is a Tensor, else a constant tensor (scalars take like's dtype)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, (int, float, bool)):
        arr = np.array(x, dtype=like.data.dtype)
    else:
        arr = _as_array(x, None)
    t = Tensor.__new__(Tensor)
    t.data, t.grad, t._ctx, t.requires_grad = arr, None, None, False
    return t


def tensors_of(xs: Iterable[Any]) -> list[Tensor]:
    return [as_tensor(x) for x in xs]
