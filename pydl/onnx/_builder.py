"""The graph under construction: its values, nodes and initializers (Note [ONNX export])."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from ..nn.module import Module
from ..tensor import Tensor, no_grad

#: A lowering: (builder, module, its dotted path, *its forward's arguments as Vals) -> its
#: outputs as Vals, nested as the module's forward nests them.
Lowering = Callable[..., Any]


@dataclass(frozen=True)
class Val:
    """One value of the graph: its ONNX name and dtype, its shape at the example's batch size
    and, with a dynamic batch, at one more (the axes that differ are symbolic in ONNX)."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    shape_more: tuple[int, ...] | None

    @property
    def rank(self) -> int:
        return len(self.shape)

    def renamed(self, name: str) -> Val:
        """The value of another node that has this one's shape (an elementwise result)."""
        return replace(self, name=name)

    def batch_dependent(self, axis: int) -> bool:
        return self.shape_more is not None and self.shape[axis] != self.shape_more[axis]


def where(path: str, module: Module) -> str:
    """How errors name a module: its dotted path in the model and its class."""
    return f"{path or 'the model'} ({type(module).__name__})"


class GraphBuilder:
    """Collects nodes and initializers; `call` dispatches a module to its lowering."""

    def __init__(
        self,
        onnx: Any,
        opset: int,
        lowerings: dict[type, Lowering],
        takes_tuples: tuple[Lowering, ...],
        param_names: dict[int, str],
        reserved: list[str],
    ) -> None:
        self.onnx, self.opset = onnx, opset
        self.lowerings, self.takes_tuples = lowerings, takes_tuples
        self.nodes: list = []
        self.initializers: list = []
        self._param_names = param_names  # id(Parameter or buffer) -> its dotted name
        self._params: dict[int, str] = {}  # id(tensor) -> initializer name
        self._transposed: dict[int, str] = {}
        self._small: dict[tuple, str] = {}  # scalars and int vectors, each stored once
        self._used: set[str] = set(reserved)

    # ----- names, nodes, constants ------------------------------------------------
    def fresh(self, hint: str) -> str:
        name, i = hint, 1
        while name in self._used:
            name, i = f"{hint}_{i}", i + 1
        self._used.add(name)
        return name

    def node(self, op: str, inputs: list[str], path: str = "", outputs: int = 1, **attrs: Any):
        """Add a node; returns its output name (or list of names if outputs > 1). An input
        named "" is an omitted optional input."""
        stem = f"{path}/{op}" if path else op
        names = [self.fresh(stem if outputs == 1 else f"{stem}:{i}") for i in range(outputs)]
        self.nodes.append(
            self.onnx.helper.make_node(op, inputs, names, name=self.fresh(f"node:{stem}"), **attrs)
        )
        return names[0] if outputs == 1 else names

    def const(self, value: Any, hint: str) -> str:
        """A new initializer holding value (an array)."""
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    def ints(self, values: list[int]) -> str:
        """An int64 vector initializer (shapes, axes, slice bounds)."""
        return self._shared(np.asarray(values, np.int64))

    def param(self, tensor: Tensor) -> str:
        """The initializer of a parameter or buffer, named by its path in the model; a tensor
        shared by two modules (tied weights) is stored once."""
        key = id(tensor)
        if key not in self._params:
            hint = self._param_names.get(key, "param")
            self._params[key] = self.const(tensor._array, hint)
        return self._params[key]

    def transposed(self, tensor: Tensor) -> str:
        """weight^T for a MatMul: stored transposed, or a Transpose node on the initializer
        where the weight is also used as it is (a tied embedding), so it is stored once."""
        key = id(tensor)
        if key not in self._transposed:
            if key in self._params:
                self._transposed[key] = self.node("Transpose", [self._params[key]], perm=[1, 0])
            else:
                hint = self._param_names.get(key, "param") + "_t"
                self._transposed[key] = self.const(np.ascontiguousarray(tensor._array.T), hint)
        return self._transposed[key]

    def scalar(self, value: float, like: Val) -> str:
        """A 0-d initializer of like's dtype."""
        return self._shared(np.asarray(value, like.dtype))

    def _shared(self, array: np.ndarray) -> str:
        """A small constant, named by its value."""
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._small:
            self._small[key] = self.const(array, f"const:{array.tolist()}")
        return self._small[key]

    def reduce(self, op: str, x: str, axes: list[int], keepdims: bool, path: str = "") -> str:
        """ReduceMean/ReduceMax over axes: opset 18 moved `axes` from an attribute to an input."""
        if self.opset >= 18:
            return self.node(op, [x, self.ints(axes)], path, keepdims=int(keepdims))
        return self.node(op, [x], path, axes=axes, keepdims=int(keepdims))

    def linear(self, path: str, x: str, weight: Tensor, bias: Tensor | None) -> str:
        """x W^T + b over the last axis of x of any rank."""
        y = self.node("MatMul", [x, self.transposed(weight)], path)
        return y if bias is None else self.node("Add", [y, self.param(bias)], path)

    def reshape(self, x: str, shape: list[int], path: str = "") -> str:
        """Reshape with ONNX's 0 (copy that axis: the batch stays symbolic) and -1."""
        return self.node("Reshape", [x, self.ints(shape)], path)

    # ----- modules ----------------------------------------------------------------
    def lowering(self, module: Module) -> Lowering | None:
        """The lowering of the module's class, or of a base class when the subclass keeps its
        forward (a subclass that overrides forward computes something we cannot know)."""
        for cls in type(module).__mro__:
            if cls in self.lowerings:
                return self.lowerings[cls] if type(module).forward is cls.forward else None
        return None

    def call(self, module: Module, path: str, *args: Any, **kwargs: Any) -> Any:
        """Lower module(*args, **kwargs); args are Vals (or tuples of them, or None)."""
        lower = self.lowering(module)
        if lower is None:
            hint = (
                "a ModuleList has no forward(); export the module that iterates over it"
                if type(module).__name__ == "ModuleList"
                else "pydl.onnx exports the layers of pydl.nn, nn.Sequential and pydl.models; "
                "a custom Module is not traced, so write it as an nn.Sequential of supported "
                "layers (see pydl.onnx.export's docstring for the list)"
            )
            raise NotImplementedError(f"cannot export {where(path, module)}: {hint}")
        if args and isinstance(args[0], tuple) and lower not in self.takes_tuples:
            raise TypeError(
                f"cannot export {where(path, module)}: its input is a tuple of "
                f"{len(args[0])} values (a recurrent layer's (output, state)?), not a tensor"
            )
        try:
            inspect.signature(lower).bind(self, module, path, *args, **kwargs)
        except TypeError as e:
            raise TypeError(
                f"cannot export {where(path, module)}: its inputs do not fit its forward ({e})"
            ) from None
        return lower(self, module, path, *args, **kwargs)

    def result(self, module: Module, path: str, args: tuple, names: Any, **kwargs: Any) -> Any:
        """The module's output names as Vals: pydl's own forward on zeros of the inputs'
        shapes gives their shapes (at the example's batch size and at one more)."""

        def zeros(a: Any, more: bool) -> Any:
            if isinstance(a, tuple):
                return tuple(zeros(v, more) for v in a)
            if a is None:
                return None
            return Tensor(np.zeros(a.shape_more if more else a.shape, a.dtype))

        def forward(more: bool) -> Any:
            try:
                with no_grad():
                    return module(*zeros(args, more), **kwargs)
            except Exception as e:
                at = (
                    " at a batch size other than the example's (if the inputs have no batch "
                    "axis, export with dynamic_batch=False)"
                    if more
                    else ""
                )
                raise ValueError(f"cannot export {where(path, module)}: it fails{at}: {e}") from e

        dynamic = any(v is not None and v.shape_more is not None for v in _leaves(args))
        return _vals(names, forward(False), forward(True) if dynamic else None)


def _leaves(x: Any) -> list:
    if isinstance(x, (tuple, list)):
        return [leaf for v in x for leaf in _leaves(v)]
    return [x]


def _vals(names: Any, out: Any, out_more: Any) -> Any:
    if out is None:
        return None
    if isinstance(out, (tuple, list)):
        more = out_more if out_more is not None else (None,) * len(out)
        return tuple(_vals(n, o, m) for n, o, m in zip(names, out, more))
    return Val(
        names,
        out._array.dtype,
        tuple(out.shape),
        None if out_more is None else tuple(out_more.shape),
    )
