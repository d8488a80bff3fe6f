"""pydl.save and pydl.load: checkpoints in the safetensors format, written atomically.

Note [Checkpoint format]: one safetensors file. Its tensors are the object's tensors and
NumPy arrays, named t0, t1, ... in the order met; its header metadata holds, under "pydl",
a JSON description of the object with the tensors replaced by their names (dicts keep their
key types, tuples stay tuples, a Tensor keeps requires_grad). Loading parses JSON and
tensor bytes only: nothing in the file is executed. A safetensors file without that key
(`safetensors.torch.save_file(model.state_dict(), ...)`) loads as {name: Tensor}.

A save writes a temporary file in the target's directory, flushes and fsyncs it, renames it
over the target and fsyncs the directory: a save killed at any point leaves the previous
file whole (or no file), never a torn one.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np

from .tensor import Tensor

_KEY = "pydl"
_VERSION = 1
_NUMBER_TYPES = (bool, int, float, str, type(None))


def _safetensors() -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            'pydl.save and pydl.load need the safetensors package: pip install "pydl[io]"'
        ) from None
    return safetensors


def _encode(obj: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    """obj as JSON, its tensors moved into `arrays`; TypeError names what cannot be stored."""
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray):
        name = f"t{len(arrays)}"
        arr = obj._array if isinstance(obj, Tensor) else obj
        if arr.dtype.kind not in "fiub" or arr.dtype.byteorder == ">":
            raise TypeError(f"pydl.save cannot store an array of dtype {arr.dtype} at {where}")
        arrays[name] = np.asarray(arr, order="C")
        # the shape too: safetensors' NumPy loader gives a 0-d array back as shape (1,)
        if isinstance(obj, Tensor):
            return {"tensor": name, "shape": arr.shape, "requires_grad": obj.requires_grad}
        return {"ndarray": name, "shape": arr.shape}
    if isinstance(obj, np.generic):
        return {"scalar": obj.item(), "dtype": obj.dtype.str}
    if isinstance(obj, _NUMBER_TYPES):
        return {"value": obj}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
        return {"tuple" if isinstance(obj, tuple) else "list": items}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, _NUMBER_TYPES):
                raise TypeError(f"pydl.save cannot store a dict key of type {type(k).__name__} "
                                f"at {where}")  # fmt: skip
            items.append([k, _encode(v, arrays, f"{where}[{k!r}]")])
        return {"dict": items}
    raise TypeError(
        f"pydl.save stores tensors, NumPy arrays, numbers, strings and lists/tuples/dicts of "
        f"them; got {type(obj).__name__} at {where}"
    )


def _decode(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    kind = next(iter(node))
    if kind == "tensor":
        t = Tensor(arrays[node["tensor"]].reshape(node["shape"]))
        return t.requires_grad_(True) if node["requires_grad"] else t
    if kind == "ndarray":
        return arrays[node["ndarray"]].reshape(node["shape"])
    if kind == "scalar":
        return np.dtype(node["dtype"]).type(node["scalar"])
    if kind == "value":
        return node["value"]
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays) for v in node[kind]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {k: _decode(v, arrays) for k, v in node["dict"]}
    raise ValueError(f"unknown entry {kind!r}")


def save(obj: Any, f: str | os.PathLike) -> None:
    """Write obj (tensors, NumPy arrays, numbers, strings, and lists, tuples and dicts of
    them: a model's or optimizer's state_dict, epoch counters, ...) to the file f,
    atomically (Note [Checkpoint format])."""
    st = _safetensors()
    arrays: dict[str, np.ndarray] = {}
    header = {"version": _VERSION, "object": _encode(obj, arrays, "obj")}
    path = os.path.abspath(os.fspath(f))
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".pydl-save-", dir=directory)
    try:
        os.close(fd)
        st.numpy.save_file(arrays, tmp, metadata={_KEY: json.dumps(header)})
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # the bytes are on disk before the rename makes them the file
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power loss
    finally:
        os.close(dir_fd)


def load(f: str | os.PathLike, map_location: Any = None, weights_only: bool = True) -> Any:
    """Read what pydl.save wrote to f (tensors come back as pydl Tensors). A safetensors
    file of another writer loads as {name: Tensor}. map_location may only name the CPU;
    weights_only is accepted for PyTorch's signature (loading never runs code)."""
    if map_location is not None and not str(map_location).startswith("cpu"):
        raise RuntimeError(f"pydl runs on CPUs; map_location {map_location!r} is not available")
    st = _safetensors()
    path = os.fspath(f)
    if not os.path.exists(path):
        raise FileNotFoundError(f"pydl.load: no such file: {path}")
    try:
        with st.safe_open(path, framework="np") as handle:
            metadata = handle.metadata() or {}
            arrays = {name: handle.get_tensor(name) for name in handle.keys()}
    except Exception as e:  # the parser's own error types differ across versions
        raise ValueError(
            f"pydl.load: {path} is not a valid checkpoint (truncated or corrupted?): {e}"
        ) from None
    if _KEY not in metadata:
        return {name: Tensor(a) for name, a in arrays.items()}
    try:
        header = json.loads(metadata[_KEY])
        if header.get("version") != _VERSION:
            raise ValueError(f"format version {header.get('version')!r}, expected {_VERSION}")
        return _decode(header["object"], arrays)
    except (ValueError, KeyError, TypeError, StopIteration) as e:
        raise ValueError(f"pydl.load: {path} has a malformed pydl header: {e}") from None
