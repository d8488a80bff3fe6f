"""The op registry: every differentiable op of pydl is declared once, here or in a family
module beside it (`pydl/_ops/<family>.py`, mirroring `cpp/kernels/<family>` and
`pydl/reference/<family>.py`).

Note [Declaring an op]: a declaration is the op's function itself, written once with its
forward (the kernel call, what it saves) and its backward beside it, and tagged by
`@op(...)` with what the rest of pydl derives from it:
- `pydl.functional` (and `pydl.nn.functional`, which re-exports it) exports every op;
- `aliases`: other names of the same op (`view` for `reshape`), exported beside it;
- `method`: also a Tensor method (under each name), where PyTorch has one; a string names
  the method instead, where PyTorch's Tensor method of that name is another op than its
  function (`Tensor.unfold`, windows along a dim, is not `F.unfold`, im2col);
- `toplevel`: also exported as `pydl.<name>`, where PyTorch has `torch.<name>`;
- `module`: the `pydl.nn` class that applies it (activations), with `epilogue`, the name
  F.linear's GEMM epilogue knows it by, if it can be fused into a preceding Linear;
- `kernels`: the stems of the backend functions it calls (`<stem>_forward` and
  `<stem>_backward` in both `pydl._core` and `pydl.reference`), which the tests check
  exist with one signature in both, and that every kernel belongs to an op.
The op-table test (tests/op_table.py) requires a row for every declared op that has
kernels. Elementwise ops without parameters are declared by one `unary(...)` line; with
parameters, by a `@unary_op` function mapping the public arguments to the kernel's.
"""

from __future__ import annotations

import functools
import sys
import types
from dataclasses import dataclass
from typing import Any, Callable

from .. import backend as _b
from ..tensor import Tensor, as_tensor, record


@dataclass(frozen=True)
class OpDecl:
    name: str
    aliases: tuple[str, ...]
    fn: Callable
    family: str
    kernels: tuple[str, ...]
    method: bool | str
    toplevel: bool
    module: str | None
    epilogue: str | None
    elementwise: bool = False  # declared by unary()/unary_op(): also gets an in-place form

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,) + self.aliases

    @property
    def method_names(self) -> tuple[str, ...]:
        """The Tensor methods that call it."""
        if isinstance(self.method, str):
            return (self.method,)
        return self.names if self.method else ()


#: Every declared op by name, in declaration order.
OPS: dict[str, OpDecl] = {}


def renames_frames(fn: Callable, name: str) -> bool:
    """Whether fn is a shared wrapper (an interpreted function named otherwise) whose code
    should be renamed `name`, so that its frames say the op's name (Note [Conversion errors]
    in pydl/tensor.py). A compiled function has neither frames nor a writable __code__."""
    return isinstance(fn, types.FunctionType) and fn.__code__.co_name != name


def op(
    kernels: tuple[str, ...] | None = None,
    aliases: tuple[str, ...] = (),
    method: bool | str = False,
    toplevel: bool = False,
    module: str | None = None,
    epilogue: str | None = None,
    elementwise: bool = False,
) -> Callable[[Callable], Callable]:
    """Declare the decorated function as an op (Note [Declaring an op]). `kernels`
    defaults to the function's own name; `()` marks an op composed of other ops.
    `elementwise` methods also get their in-place form `<name>_` (Note [In-place ops])."""

    def declare(fn: Callable) -> Callable:
        op_name = fn.__name__
        if renames_frames(fn, op_name):
            fn.__code__ = fn.__code__.replace(co_name=op_name, co_qualname=op_name)
        if op_name in OPS:
            raise RuntimeError(f"op {op_name!r} is declared twice")
        OPS[op_name] = OpDecl(
            name=op_name,
            aliases=tuple(aliases),
            fn=fn,
            family=fn.__module__.rsplit(".", 1)[-1],
            kernels=(op_name,) if kernels is None else tuple(kernels),
            method=method,
            toplevel=toplevel,
            module=module,
            epilogue=epilogue,
            elementwise=elementwise,
        )
        return fn

    return declare


def unary_kernel(kernel: str) -> Callable[[Any, tuple], Any]:
    """run(x, params): `<kernel>_forward(x, *params)` recorded with a backward that calls
    `<kernel>_backward(grad, x, y, *params)` (the elementwise ops' one kernel contract)."""
    fwd_name, bwd_name = kernel + "_forward", kernel + "_backward"

    def backward(node: Any, g: Any) -> tuple:
        (x,) = node.inputs
        y, params = node.saved
        return (getattr(_b.active, bwd_name)(g, x._array, y, *params),)

    backward.__qualname__ = bwd_name

    def run(x: Any, params: tuple = ()) -> Any:
        x = as_tensor(x)
        y = getattr(_b.active, fwd_name)(x._array, *params)
        return record(y, (x,), backward, (y, params))

    return run


def unary(
    name: str,
    doc: str,
    aliases: tuple[str, ...] = (),
    method: bool = False,
    toplevel: bool = False,
    module: str | None = None,
    epilogue: str | None = None,
) -> Callable:
    """Declare the elementwise op `name(x)` without parameters; returns its function, which
    belongs to the calling family module."""
    run = unary_kernel(name)

    def fn(x: Tensor) -> Tensor:
        return run(x)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = sys._getframe(1).f_globals["__name__"]
    return op(
        aliases=aliases,
        method=method,
        toplevel=toplevel,
        module=module,
        epilogue=epilogue,
        elementwise=True,
    )(fn)


def unary_op(
    kernel: str | None = None,
    aliases: tuple[str, ...] = (),
    method: bool = False,
    toplevel: bool = False,
    module: str | None = None,
    epilogue: str | None = None,
) -> Callable[[Callable], Callable]:
    """Declare an elementwise op with parameters. The decorated function takes the public
    arguments (x first), checks them and returns the kernel's parameter tuple; `kernel`
    defaults to its name."""

    def declare(params_of: Callable) -> Callable:
        stem = kernel or params_of.__name__
        run = unary_kernel(stem)

        @functools.wraps(params_of)
        def fn(x: Any, *args: Any, **kwargs: Any) -> Any:
            return run(x, params_of(x, *args, **kwargs))

        return op(
            kernels=(stem,),
            aliases=aliases,
            method=method,
            toplevel=toplevel,
            module=module,
            epilogue=epilogue,
            elementwise=True,
        )(fn)

    return declare
