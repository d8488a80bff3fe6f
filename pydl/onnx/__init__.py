"""Export a pydl model to an ONNX inference graph: `pydl.onnx.export` (needs the `onnx`
package: pip install "pydl[onnx]").

Note [ONNX export]: the exporter walks the module tree; it does not trace pydl's ops. Each
supported Module class has one lowering in the table LOWERINGS (pydl/onnx/_lowerings.py)
that writes the ONNX nodes of its eval-mode forward; Sequential, MLP, GPT and the
transformer layers lower their children through the same table.
- Why not a trace: forwards compute with the example's sizes in Python (an RNN's zero
  state is np.zeros((L, B, H)), attention reshapes to (N, L, H, Dh), GPT adds np.arange(T)
  positions), so a trace would freeze the batch size into the graph. A lowering writes
  size-free ops (Reshape's 0 copies the batch axis; ONNX's LSTM starts from zeros of any
  batch), so the batch axis stays symbolic. The price: a custom Module's forward is not
  seen, so it is refused by name (make it an nn.Sequential, or add a lowering).
- Shapes: a lowering need not work out its output's shape. `GraphBuilder.result` runs
  pydl's own forward on zeros of the input shapes, at the example's batch size and at one
  more; the axes that differ are the symbolic ones, and a model whose forward fails at
  another batch size is refused rather than exported wrong.
- Opsets: lowerings write ops whose form is the same from opset 17 to the newest, except
  ReduceMean/ReduceMax (axes an input since 18: `GraphBuilder.reduce`); ops that 17 lacks
  (Gelu) or whose meaning changed (GroupNormalization in 21) are composed of others.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Sequence

import numpy as np

from ..nn.module import Module
from ..tensor import Tensor, as_tensor
from ._builder import GraphBuilder, Val
from ._lowerings import CONTAINERS, LOWERINGS, RECURRENT, SEQUENCE_FIRST, TAKES_TUPLES

#: The oldest opset written: LayerNormalization is opset 17's.
MIN_OPSET = 17

__all__ = ["export"]


def _import_onnx() -> Any:
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError as e:
        raise ImportError(
            f'pydl.onnx needs the onnx package ({e}): pip install "pydl[onnx]"'
        ) from e
    return onnx


def export(
    model: Module,
    example_inputs: Any,
    path: str | os.PathLike,
    *,
    opset: int = MIN_OPSET,
    dynamic_batch: bool = True,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> Any:
    """Write `model`'s eval-mode forward as an ONNX graph to `path`; returns the ModelProto.

    example_inputs: the forward's argument (a Tensor or NumPy array) or a tuple of its
    arguments (an LSTM's state is the tuple (h0, c0) inside it). The graph's inputs and
    outputs are the tensors among them, flattened in order and named input_names /
    output_names (default "input"/"output", or "input_0", "input_1", ...). With
    dynamic_batch the batch axis is the symbolic dimension "batch": axis 0, or axis 1 where
    the first layer reads (T, B, ...) (RNN, LSTM, GRU, MultiheadAttention and
    TransformerEncoderLayer without batch_first; their states are (L * D, B, H)). The
    other sizes are the example's. Eval-mode semantics: Dropout is the identity,
    BatchNorm uses its running statistics; the model's train/eval flags are restored.

    Exported modules (pydl.nn unless said): Linear, Conv1d, Conv2d, MaxPool1d, MaxPool2d,
    AvgPool1d, AvgPool2d, AdaptiveAvgPool2d, BatchNorm1d, BatchNorm2d, LayerNorm,
    GroupNorm, InstanceNorm2d, every activation module (ReLU, GELU, Softmax, ...; see
    ACTIVATION_MODULES), PReLU, Maxout, Dropout, Dropout2d, Flatten, Identity, Embedding,
    RNN, LSTM, GRU, MultiheadAttention (without masks; is_causal from the layers above),
    TransformerEncoderLayer, Sequential, pydl.models.MLP and pydl.models.GPT, nested in
    any way, and subclasses of them that keep their forward. A custom Module with its own
    forward is refused with NotImplementedError naming its path in the model, even if it
    only calls its children in order: write such a model as an nn.Sequential.

    The graph is checked by onnx.checker (full_check) and written atomically (a temporary
    file renamed over `path`). Raises ImportError without the onnx package.
    """
    onnx = _import_onnx()
    if not isinstance(model, Module):
        raise TypeError(f"export expects a pydl.nn.Module, got {type(model).__name__}")
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be in [{MIN_OPSET}, {newest}], got {opset}")
    args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    arrays = _arrays(args)
    flat_inputs = [a for a in _flatten(arrays) if a is not None]
    input_names = _names(input_names, len(flat_inputs), "input")
    builder = GraphBuilder(
        onnx,
        opset,
        LOWERINGS,
        TAKES_TUPLES,
        {id(t): name for name, t in [*model.named_parameters(), *model.named_buffers()]},
        reserved=input_names + list(output_names or []),
    )
    axes = _batch_axes(builder, model, arrays) if dynamic_batch else _map(lambda a: None, arrays)
    batch = _batch_size(arrays, axes)
    names = iter(input_names)  # None arguments take no name
    vals = _map2(
        lambda a, axis: None if a is None else _input_val(next(names), a, axis), arrays, axes
    )
    inputs = [v for v in _flatten(vals) if v is not None]

    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        outputs = [v for v in _flatten(builder.call(model, "", *vals)) if v is not None]
    finally:
        for m, training in modes:
            object.__setattr__(m, "training", training)

    if output_names is None:  # the default names, unless the graph already has them
        output_names = [builder.fresh(n) for n in _names(None, len(outputs), "output")]
    output_names = _names(output_names, len(outputs), "output")
    for v, name in zip(outputs, output_names):  # a node of its own even where v is an input
        builder.nodes.append(onnx.helper.make_node("Identity", [v.name], [name], name=name))
    graph = onnx.helper.make_graph(
        builder.nodes,
        type(model).__name__,
        [_value_info(onnx, v.name, v, batch) for v in inputs],
        [_value_info(onnx, name, v, batch) for name, v in zip(output_names, outputs)],
        initializer=builder.initializers,
    )
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="pydl")
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)  # older runtimes load it
    onnx.checker.check_model(proto, full_check=True)
    _write_atomically(proto.SerializeToString(), path)
    return proto


# ----- inputs -----------------------------------------------------------------------


def _map(fn: Any, x: Any) -> Any:
    return tuple(_map(fn, v) for v in x) if isinstance(x, tuple) else fn(x)


def _map2(fn: Any, x: Any, y: Any) -> Any:
    return tuple(_map2(fn, a, b) for a, b in zip(x, y)) if isinstance(x, tuple) else fn(x, y)


def _flatten(x: Any) -> list:
    return [leaf for v in x for leaf in _flatten(v)] if isinstance(x, tuple) else [x]


def _arrays(args: tuple) -> tuple:
    """The example arguments as NumPy arrays, converted as pydl converts them."""
    return _map(
        lambda a: None if a is None else (a if isinstance(a, Tensor) else as_tensor(a))._array, args
    )


def _names(names: Sequence[str] | None, n: int, stem: str) -> list[str]:
    if names is None:
        return [stem] if n == 1 else [f"{stem}_{i}" for i in range(n)]
    names = list(names)
    if len(names) != n or len(set(names)) != n:
        raise ValueError(f"{stem}_names must be {n} distinct names, got {names}")
    return names


def _batch_axes(builder: GraphBuilder, model: Module, arrays: tuple) -> tuple:
    """Each input's batch axis (Note [ONNX export]): the first layer the inputs reach
    decides whether it is axis 0 or 1."""
    first = model
    while builder.lowering(first) in CONTAINERS and next(first.children(), None) is not None:
        first = next(first.children())
    # A TransformerEncoderLayer keeps batch_first in its attention (as PyTorch's).
    layout = getattr(first, "self_attn", first)
    sequence_first = isinstance(first, SEQUENCE_FIRST) and not layout.batch_first

    def axis(a: np.ndarray | None, is_state: bool) -> int | None:
        batch_axis = 1 if is_state or sequence_first else 0
        return None if a is None or a.ndim <= batch_axis else batch_axis

    return tuple(
        _map(lambda a, i=i: axis(a, i > 0 and isinstance(first, RECURRENT)), arg)
        for i, arg in enumerate(arrays)
    )


def _batch_size(arrays: tuple, axes: tuple) -> int | None:
    sizes = {a.shape[axis] for a, axis in zip(_flatten(arrays), _flatten(axes)) if axis is not None}
    if len(sizes) > 1:
        raise ValueError(f"the example inputs have different batch sizes {sorted(sizes)}")
    return sizes.pop() if sizes else None


def _input_val(name: str, a: np.ndarray, axis: int | None) -> Val:
    more = None if axis is None else a.shape[:axis] + (a.shape[axis] + 1,) + a.shape[axis + 1 :]
    return Val(name, a.dtype, a.shape, more)


# ----- outputs ----------------------------------------------------------------------


def _value_info(onnx: Any, name: str, v: Val, batch: int | None) -> Any:
    """The declared type of an input or output: "batch" where its size is the batch size,
    another symbol where it grows with it otherwise (a flattened batch axis)."""
    dims: list[int | str] = []
    for axis, size in enumerate(v.shape):
        if not v.batch_dependent(axis):
            dims.append(size)
        elif (size, v.shape_more[axis]) == (batch, batch + 1):
            dims.append("batch")
        else:
            dims.append(f"{name}_dim{axis}")
    elem_type = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(v.dtype))
    return onnx.helper.make_tensor_value_info(name, elem_type, dims)


def _write_atomically(data: bytes, path: str | os.PathLike) -> None:
    """Write to a temporary file beside path, then rename it over path: a reader never sees
    half a file, and a failed export leaves the old file."""
    path = os.path.abspath(os.fspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".pydl-onnx-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
