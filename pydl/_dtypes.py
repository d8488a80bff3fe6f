"""PyTorch's dtype names and type promotion (torch.result_type's rules).

Note [Type promotion]: operands fall in three priority groups: tensors with dimensions,
0-d tensors, and Python numbers (weak: `int_tensor + 0.5` is float32, not float64). The
dtypes are ranked by category, bool < integer < floating. The result is the promoted dtype
of the highest group present, unless a lower group holds a higher category: then a 0-d
tensor's own dtype wins (`int64 vector * float64 0-d` is float64), and a Python number
gives its category's default (float32 for a float, int64 for an int). Within one category
the wider dtype wins (NumPy's promote_types agrees there); across categories the higher
one's dtype wins as is (`int64 + float32` is float32, where NumPy says float64).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int64 = long = np.dtype(np.int64)
int32 = int = np.dtype(np.int32)
int16 = short = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)


def __getattr__(name: str) -> Any:
    """bfloat16, imported on first use: NumPy has no bfloat16, and ml_dtypes' (the one JAX,
    TensorFlow and ONNX share) takes 0.5-0.8 s to import, more than the rest of pydl. It is
    autocast's precision (Note [Autocast] in amp.py) and a tensor dtype (Note [bfloat16])."""
    if name == "bfloat16":
        import ml_dtypes

        global bfloat16
        bfloat16 = np.dtype(ml_dtypes.bfloat16)
        return bfloat16
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Note [bfloat16]: a bfloat16 tensor holds an ml_dtypes bfloat16 array. NumPy gives that
# dtype kind "V" (kind "f" is NumPy's own floats), so pydl asks is_floating / is_bfloat16,
# which know it by its type character without importing ml_dtypes: an array of it exists
# only once ml_dtypes is loaded. The core has no bfloat16 kernels: its bindings pass a
# bfloat16 call to the reference twin (Note [Reference fallback]), which computes it in
# float32 and rounds each result of a bfloat16 operand to bfloat16 once (in_float32 in
# pydl/reference/_bf16.py), as PyTorch's CPU kernels compute bfloat16: products and sums
# of bfloat16 tensors accumulate in float32, and a float32 operand's results (a float32
# LayerNorm weight's gradient beside bfloat16 activations) stay float32.
_BF16_CHAR = "E"  # ml_dtypes.bfloat16's type character, unique among NumPy's dtypes


def is_bfloat16(dtype: np.dtype) -> builtins.bool:
    """Whether dtype is bfloat16 (Note [bfloat16])."""
    return dtype.char == _BF16_CHAR and dtype.kind == "V"


def is_floating(dtype: np.dtype) -> builtins.bool:
    """Whether a pydl tensor of this dtype is floating: float32, float64 or bfloat16."""
    return dtype.kind == "f" or is_bfloat16(dtype)  # NumPy's floats first: the common case


def is_number(dtype: np.dtype) -> builtins.bool:
    """Whether arrays of dtype hold real numbers a tensor may keep (bool, integers, floats
    and bfloat16; not complex, strings or objects)."""
    return dtype.kind in "iub" or is_floating(dtype)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}
_DEFAULT = {0: bool, 1: int64, 2: float32}  # a Python number's dtype, by category
_SCALAR_CATEGORY = {"bool": 0, "int": 1, "float": 2}


def category(dtype: np.dtype) -> Any:
    """0 for bool, 1 for integers, 2 for floating dtypes."""
    try:
        return _CATEGORY[dtype.kind]
    except KeyError:
        if is_bfloat16(dtype):
            return 2
        raise TypeError(f"pydl tensors do not hold dtype {dtype}") from None


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """torch.promote_types: the higher category's dtype, or the wider within one."""
    if a == b:
        return a
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def result_type(*operands: Any) -> np.dtype:
    """The dtype of an elementwise op on these tensors and Python numbers (Note [Type
    promotion]). NumPy arrays count as tensors, NumPy scalars as 0-d tensors."""
    groups: list[Any] = [None, None]  # promoted dtype of tensors with dims, of 0-d tensors
    scalar = -1  # highest category among Python numbers
    for x in operands:
        arr = getattr(x, "_array", x)
        if isinstance(arr, (np.ndarray, np.generic)):
            if not is_number(arr.dtype):
                from .tensor import _conversion_error

                raise _conversion_error(x, arr)
            g = 0 if arr.ndim else 1
            groups[g] = arr.dtype if groups[g] is None else promote_types(groups[g], arr.dtype)
        else:
            c = _SCALAR_CATEGORY.get(type(x).__name__)
            if c is None:
                from .tensor import _not_a_tensor_error

                raise _not_a_tensor_error(x)
            scalar = max(scalar, c)
    dims, zero_d = groups
    if dims is None:
        result = zero_d
    elif zero_d is not None and category(zero_d) > category(dims):
        result = zero_d
    else:
        result = dims
    if result is None:
        return _DEFAULT[scalar]
    if scalar > category(result):
        return _DEFAULT[scalar]
    return result


#: The dtypes a pydl tensor may hold (PyTorch's CPU dtypes that NumPy has, but float16),
#: besides bfloat16 (Note [bfloat16]: it is not imported until used).
SUPPORTED_DTYPES = tuple(
    np.dtype(t)
    for t in (np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float32, np.float64)
)
_PYTHON_TYPES = {builtins.bool: bool, builtins.int: int64, builtins.float: float64}


def dtype_arg(dtype: Any, fn: str, arg: str = "dtype") -> np.dtype | None:
    """`dtype` as a NumPy dtype pydl supports (None stays None); TypeError naming fn and the
    value otherwise. A dtype is a pydl dtype (`pydl.float32`), a NumPy dtype or scalar type,
    or Python's bool/int/float (torch.zeros(2, dtype=float) is float64); strings are
    refused, as PyTorch refuses them."""
    if dtype is None:
        return None
    if isinstance(dtype, str):
        raise TypeError(
            f"{fn}(): argument '{arg}' must be a dtype such as pydl.float32, not the string "
            f"{dtype!r}"
        )
    if isinstance(dtype, type) and dtype in _PYTHON_TYPES:
        return _PYTHON_TYPES[dtype]
    if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        dt = np.dtype(dtype)
        if dt in SUPPORTED_DTYPES or is_bfloat16(dt):
            return dt
        raise TypeError(
            f"{fn}(): argument '{arg}': dtype {dt} is not supported by pydl (it has "
            f"{', '.join(builtins.str(d) for d in SUPPORTED_DTYPES)}, bfloat16)"
        )
    raise TypeError(
        f"{fn}(): argument '{arg}' must be a dtype such as pydl.float32, "
        f"not {type(dtype).__name__} ({dtype!r})"
    )


class memory_format:
    """A memory layout, as torch.memory_format. pydl tensors are always row-major
    (contiguous), so the formats exist to be accepted where PyTorch takes `memory_format=`
    (`Tensor.to`, `Tensor.float`, ...): each gives the same values, in row-major layout
    (a channels_last request changes only strides in PyTorch, never values)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"pydl.{self._name}"


preserve_format = memory_format("preserve_format")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
_FORMATS = ("preserve_format", "contiguous_format", "channels_last", "channels_last_3d")


def check_memory_format(fmt: Any, fn: str) -> None:
    """Accept None or a memory format (pydl's, or torch's by name); reject anything else."""
    if fmt is None or (
        type(fmt).__name__ == "memory_format" and str(fmt).rsplit(".", 1)[-1] in _FORMATS
    ):
        return
    raise TypeError(
        f"{fn}(): memory_format must be a memory format such as pydl.preserve_format, got {fmt!r}"
    )
