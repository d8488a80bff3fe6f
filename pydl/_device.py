"""Devices, as torch.device: pydl runs on CPUs only, so "cpu" (optionally with an index,
"cpu:0") is the one device type it accepts.

Note [Accelerator devices]: PyTorch code picks its device with
`torch.device("cuda" if torch.cuda.is_available() else "cpu")`, so `pydl.cuda.is_available()`
and `pydl.backends.mps.is_available()` exist and say False, and such code lands on "cpu".
Asking for an accelerator by name ("cuda", "mps", "cuda:0") raises RuntimeError with one
message (`not_on_cpu`) everywhere: devices, factories, `Tensor.to`, `Module.to/cuda`.
"""

from __future__ import annotations

import re
from typing import Any

# The device types PyTorch knows (its own error lists them), which pydl recognises in
# order to say that they need hardware pydl does not run on.
_ACCELERATOR_TYPES = (
    "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
    "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone",
)  # fmt: skip
_DEVICE_STRING = re.compile(r"([a-z_]+)(?::(\d+))?")


def not_on_cpu(name: str) -> RuntimeError:
    """The error for a device pydl cannot run on (Note [Accelerator devices])."""
    return RuntimeError(
        f"pydl runs on CPUs only; device {name!r} is not available. Use 'cpu' "
        "(pydl.cuda.is_available() is False, so the usual "
        "`device('cuda' if cuda.is_available() else 'cpu')` picks it)."
    )


class device:
    """A device, as torch.device: `device("cpu")`, `device("cpu", 0)`, `device("cpu:0")`
    or `device(other_device)`. Only CPUs exist in pydl; any other type raises
    RuntimeError. `str()` is "cpu" (or "cpu:0"), so it is accepted wherever a device
    string is."""

    __slots__ = ("_type", "_index")

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device object")
            self._type, self._index = type._type, type._index
            return
        if not isinstance(type, str):
            if isinstance(type, int) and not isinstance(type, bool):
                # torch.device(0) means the current accelerator's device 0.
                raise not_on_cpu(f"cuda:{type}")
            raise TypeError(
                "device(): argument 'type' must be a str or a device, "
                f"not {type.__class__.__name__}"
            )
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            raise TypeError(
                f"device(): argument 'index' must be int, not {index.__class__.__name__}"
            )
        m = _DEVICE_STRING.fullmatch(type)
        if m is None:
            raise RuntimeError(f"Invalid device string: {type!r}")
        kind, text_index = m.group(1), m.group(2)
        if kind != "cpu":
            if kind in _ACCELERATOR_TYPES:
                raise not_on_cpu(type)
            raise RuntimeError(f"Expected the device type 'cpu' at the start of {type!r}")
        if text_index is not None:
            if index is not None:
                raise RuntimeError(
                    f"type (string) must not include an index because index was passed "
                    f"explicitly: {type}"
                )
            index = int(text_index)
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self._type, self._index = kind, index

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self) -> int | None:
        return self._index

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type={self._type!r})"
        return f"device(type={self._type!r}, index={self._index})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, device):
            return NotImplemented
        return (self._type, self._index) == (other._type, other._index)

    def __hash__(self) -> int:
        return hash((self._type, self._index))

    def __reduce__(self) -> tuple:
        return (device, (self._type, self._index))


def as_device(value: Any) -> device | None:
    """`value` (None, a device or a device string) checked as a device pydl runs on."""
    return None if value is None else device(value)
