"""pydl.save and pydl.load: checkpoints in the safetensors format, written atomically.

Note [Checkpoint format]: one safetensors file. Its tensors are the object's tensors and
NumPy arrays, each named by its path of keys and indices joined with dots ("model.0.weight",
"optimizer.state.0.exp_avg"; a repeated name gets a "#n" suffix); its header metadata
holds, under "pydl", a JSON description of the object with the tensors replaced by their
names (dicts keep their key types, tuples stay tuples, a Tensor keeps requires_grad). So a
saved state_dict is the file `safetensors.torch.save_file` would write: PyTorch users load
it with `safetensors.torch.load_file`. Loading parses JSON and tensor bytes only: nothing in
the file is executed. A safetensors file without the "pydl" key (one PyTorch wrote) loads
as {name: Tensor}.

A save writes a temporary file in a folder of its own in the target's directory, fsyncs
it, renames it over the target and fsyncs the directory: a save killed at any point leaves
the previous file whole (or no file), never a torn one. The folder's name holds the target's
name and the saver's pid, so the next save to that target deletes what killed savers left.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from typing import Any

import numpy as np

from . import _dtypes
from ._dtypes import is_number
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


def _encode(obj: Any, arrays: dict[str, np.ndarray], where: str, name: str) -> Any:
    """obj as JSON, its tensors moved into `arrays` under their dotted path `name`;
    TypeError names (by `where`) what cannot be stored."""
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray):
        base, i = name or "tensor", 0
        name = base
        while name in arrays:  # {"a.b": x, "a": {"b": y}} joins to "a.b" twice
            i += 1
            name = f"{base}#{i}"
        arr = obj._array if isinstance(obj, Tensor) else obj
        if not is_number(arr.dtype) or arr.dtype.byteorder == ">":
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
        items = [_encode(v, arrays, f"{where}[{i}]", _join(name, i)) for i, v in enumerate(obj)]
        return {"tuple" if isinstance(obj, tuple) else "list": items}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, _NUMBER_TYPES):
                raise TypeError(f"pydl.save cannot store a dict key of type {type(k).__name__} "
                                f"at {where}")  # fmt: skip
            items.append([k, _encode(v, arrays, f"{where}[{k!r}]", _join(name, k))])
        return {"dict": items}
    hint = " (save its state_dict())" if hasattr(obj, "state_dict") else ""
    raise TypeError(
        f"pydl.save stores tensors, NumPy arrays, numbers, strings and lists/tuples/dicts of "
        f"them; got {type(obj).__name__} at {where}{hint}"
    )


def _join(name: str, key: Any) -> str:
    return f"{name}.{key}" if name else str(key)


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


# safetensors' dtype names; BF16 is ml_dtypes' bfloat16 (Note [bfloat16]), imported when a
# file holds it
_SAFETENSORS_DTYPES = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16,
    "F16": np.float16, "U32": np.uint32, "I32": np.int32, "F32": np.float32, "U64": np.uint64,
    "I64": np.int64, "F64": np.float64,
}  # fmt: skip


def _mapped(path: str, names: list[str]) -> dict[str, np.ndarray]:
    """The named tensors of a safetensors file (already validated by safe_open) as views of
    one private mapping: an 8-byte little-endian header size, the JSON header, the data."""
    mapping = np.memmap(path, np.uint8, mode="c")
    size = int.from_bytes(mapping[:8].tobytes(), "little")
    header = json.loads(mapping[8 : 8 + size].tobytes())
    data = mapping[8 + size :]
    arrays = {}
    for name in names:
        entry = header[name]
        if entry["dtype"] == "BF16":
            dtype = _dtypes.bfloat16
        elif entry["dtype"] in _SAFETENSORS_DTYPES:
            dtype = _SAFETENSORS_DTYPES[entry["dtype"]]
        else:
            raise ValueError(f"tensor {name} has dtype {entry['dtype']}, which NumPy lacks")
        begin, end = entry["data_offsets"]
        arrays[name] = np.asarray(data[begin:end]).view(dtype).reshape(entry["shape"])
    return arrays


def _parents(path: str) -> list[str]:
    out = []
    while os.path.dirname(path) != path:
        path = os.path.dirname(path)
        out.append(path)
    return out


def _temp_prefix(path: str, pid: int) -> str:
    return f".{os.path.basename(path)}.{pid}.pydl-save-"


_TEMP_NAME = re.compile(r"\.(?P<target>.+)\.(?P<pid>\d+)\.pydl-save-\w+")


def _remove_stale_temp_files(path: str) -> None:
    """Delete the temporary files of saves to `path` whose process no longer runs (a save
    killed by SIGKILL or the OOM killer cannot clean up after itself)."""
    for entry in os.scandir(os.path.dirname(path)):
        match = _TEMP_NAME.fullmatch(entry.name)
        if not match or match["target"] != os.path.basename(path):
            continue
        try:
            os.kill(int(match["pid"]), 0)  # signal 0 only asks whether the process exists
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
        except PermissionError:
            pass  # a running process of another user


def _path(who: str, f: Any) -> str:
    if not isinstance(f, (str, bytes, os.PathLike)):
        raise TypeError(
            f"{who}: f should be a file path (str or os.PathLike), got {type(f).__name__}"
            + (
                " (file objects are not supported)"
                if hasattr(f, "read") or hasattr(f, "write")
                else ""
            )  # fmt: skip
        )
    return os.fsdecode(f)


def save(obj: Any, f: str | os.PathLike) -> None:
    """Write obj (tensors, NumPy arrays, numbers, strings, and lists, tuples and dicts of
    them: a model's or optimizer's state_dict, epoch counters, ...) to the file f,
    atomically (Note [Checkpoint format])."""
    st = _safetensors()
    arrays: dict[str, np.ndarray] = {}
    header = {"version": _VERSION, "object": _encode(obj, arrays, "obj", "")}
    path = os.path.abspath(_path("pydl.save", f))
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"pydl.save: {path} is a directory, not a file")
    if not os.path.isdir(directory):
        if any(os.path.isfile(p) for p in [directory, *_parents(directory)]):
            raise NotADirectoryError(f"pydl.save: {directory} is not a directory (in {path})")
        raise FileNotFoundError(f"pydl.save: no such directory: {directory} (for {path})")
    _remove_stale_temp_files(path)
    # a private folder beside the target: safetensors writes through temporary files of its
    # own, and a folder holds whatever a killed save leaves, under a name we can clean up
    scratch = tempfile.mkdtemp(prefix=_temp_prefix(path, os.getpid()), dir=directory)
    try:
        tmp = os.path.join(scratch, "checkpoint")
        st.numpy.save_file(arrays, tmp, metadata={_KEY: json.dumps(header)})
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # the bytes are on disk before the rename makes them the file
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power loss
    finally:
        os.close(dir_fd)


def load(
    f: str | os.PathLike, map_location: Any = None, weights_only: bool = True, mmap: bool = False
) -> Any:
    """Read what pydl.save wrote to f (tensors come back as pydl Tensors). A safetensors
    file of another writer loads as {name: Tensor}. map_location may only name the CPU;
    weights_only is accepted for PyTorch's signature (loading never runs code).

    mmap=True (as torch.load's) maps the file instead of reading it: tensors share the page
    cache and are read on first touch, so a large checkpoint loads in milliseconds. The
    mapping is private (copy-on-write): writing to a loaded tensor never changes the file,
    and a later pydl.save over the same path (a rename) leaves the loaded tensors intact."""
    if map_location is not None and not str(map_location).startswith("cpu"):
        raise RuntimeError(f"pydl runs on CPUs; map_location {map_location!r} is not available")
    st = _safetensors()
    path = _path("pydl.load", f)
    if not os.path.exists(path):
        raise FileNotFoundError(f"pydl.load: no such file: {path}")
    try:
        with st.safe_open(path, framework="np") as handle:
            metadata = handle.metadata() or {}
            names = list(handle.keys())
            arrays = _mapped(path, names)
        if not mmap:  # safetensors' NumPy loader knows no BF16 (0.4) or needs ml_dtypes (0.8)
            arrays = {n: np.array(a) for n, a in arrays.items()}
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
