"""Argument checks shared by the layer constructors: one message shape everywhere, naming
the layer, the argument, the value received and what was expected."""

from __future__ import annotations

import math
import numbers
from typing import Any


def size(layer: str, name: str, value: Any, minimum: int = 1) -> int:
    """`value` as an int >= minimum: TypeError for a non-integer (bools, floats, strings),
    ValueError for one below `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{layer}: {name} must be an int, got {name}={value!r} ({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"{layer}: {name} must be >= {minimum}, got {name}={value}")
    return int(value)


def probability(layer: str, name: str, value: Any) -> float:
    """`value` as a float in [0, 1] (NaN is not): TypeError / ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{layer}: {name} must be a number, got {name}={value!r} ({type(value).__name__})"
        )
    if not 0.0 <= value <= 1.0:  # False for NaN too
        raise ValueError(
            f"{layer}: {name} has to be a probability between 0 and 1, but got {name}={value}"
        )
    return float(value)


def shape(layer: str, name: str, value: Any, minimum: int = 1) -> tuple[int, ...]:
    """An int or a sequence of ints (each >= minimum) as a tuple."""
    items = (value,) if isinstance(value, numbers.Integral) else value
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise TypeError(f"{layer}: {name} must be an int or a tuple of ints, got {name}={value!r}")
    items = tuple(items)
    for n in items:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(
                f"{layer}: {name} must be an int or a tuple of ints, got {name}={value!r}"
            )
        if n < minimum:
            raise ValueError(f"{layer}: {name} entries must be >= {minimum}, got {name}={value}")
    return tuple(int(n) for n in items)


def finite(layer: str, name: str, value: Any) -> float:
    """`value` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}: {name} must be a number, got {name}={value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{layer}: {name} must be finite, got {name}={value}")
    return float(value)
