"""NumPy twins of every pydl._core function: same names, same signatures.

Written for clarity, not speed: each is the formula of the spec (its derivative in
the docstring), works in the dtype it is given (float64 for gradient checks), and
is the oracle the C++ kernels are tested against.
"""

from types import FunctionType as _FunctionType

from ._bf16 import in_float32 as _in_float32

from . import (
    activation,
    attention,
    compare,
    conv,
    conv_transpose,
    dropout,
    elementwise,
    indexing,
    layout,
    linalg,
    linear,
    loss,
    norm,
    optim,
    pointwise,
    pool,
    random,
    rbm,
    recurrent,
    reduce,
    scan,
    softmax_loss,
    sort,
    upsample,
)

# The public functions each family module defines (not those it imports) are this
# backend's functions, under the names pydl._core gives them, each computing bfloat16 in
# float32 (Note [bfloat16] in pydl/_dtypes.py).
for _family in (activation, attention, compare, conv, conv_transpose, dropout, elementwise,
                indexing, layout, linalg, linear, loss, norm, optim, pointwise, pool, random,
                rbm, recurrent, reduce, scan, softmax_loss, sort, upsample):  # fmt: skip
    for _name, _fn in vars(_family).items():
        if isinstance(_fn, _FunctionType) and _fn.__module__ == _family.__name__:
            if not _name.startswith("_"):
                globals()[_name] = _in_float32(_fn)
