"""Every differentiable op, declared once per op family (Note [Declaring an op] in
registry.py). Importing this package declares them all, in dependency order."""

from . import (  # noqa: F401  (imported for their declarations)
    layout,
    reduce,
    elementwise,
    activation,
    linear,
    softmax_loss,
    conv,
    conv_transpose,
    pool,
    upsample,
    norm,
    dropout,
    recurrent,
    attention,
    embedding,
    compare,
    pointwise,
    indexing,
    scan,
    sort,
    linalg,
    loss,
)
from .registry import OPS, OpDecl

__all__ = ["OPS", "OpDecl"]
