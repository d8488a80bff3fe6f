"""Linear, Flatten, Identity, activation modules, Maxout, loss modules."""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from .. import functional as F
from .._ops import OPS
from .._ops import inplace as inplace_ops
from ..tensor import Tensor
from . import functional as NF
from . import _check, init
from .module import Module, Parameter, module_attr


class Identity(Module):
    """Returns its input (arguments are accepted and ignored, as PyTorch's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features).

    Initialized as PyTorch: W and b from U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = np.float32
    ) -> None:
        super().__init__()
        layer = type(self).__name__
        in_features = _check.size(layer, "in_features", in_features)
        out_features = _check.size(layer, "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty((out_features,), dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, module_attr(self, "weight"), module_attr(self, "bias"))

    def _forward_then(self, x: Tensor, activation: str) -> Tensor | None:
        if type(self).forward is not Linear.forward:  # a subclass computes something else
            return None
        w, b = module_attr(self, "weight"), module_attr(self, "bias")
        return F.linear(x, w, b, activation=activation)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """y = x1^T A x2 + b with A of shape (out_features, in1_features, in2_features),
    initialized as PyTorch: U(-1/sqrt(in1), 1/sqrt(in1)) for A and b."""

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        in1_features = _check.size("Bilinear", "in1_features", in1_features)
        in2_features = _check.size("Bilinear", "in2_features", in2_features)
        out_features = _check.size("Bilinear", "out_features", out_features)
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        shape = (out_features, in1_features, in2_features)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty((out_features,), dtype=dtype)) if bias else None
        bound = 1.0 / math.sqrt(in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return NF.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class Flatten(Module):
    """Flattens dims start_dim..end_dim into one (by default all but the batch dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        start_dim = _check.size("Flatten", "start_dim", start_dim, minimum=-(2**63))
        end_dim = _check.size("Flatten", "end_dim", end_dim, minimum=-(2**63))
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expands dim `dim` into `unflattened_size` (one entry may be -1), Flatten's inverse."""

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        if not isinstance(dim, int):
            raise TypeError(f"invalid argument type for dim parameter: {type(dim).__name__}")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
            isinstance(n, int) for n in unflattened_size
        ):
            raise TypeError(
                f"unflattened_size must be a tuple of ints, but found {unflattened_size!r}"
            )
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        x = input
        dim = self.dim % x.ndim if x.ndim else 0
        shape = x.shape[:dim] + tuple(self.unflattened_size) + x.shape[dim + 1 :]
        return F.reshape(x, shape)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


# The activation modules that take PyTorch's `inplace=` argument.
_INPLACE = {"ReLU", "ReLU6", "LeakyReLU", "ELU", "CELU", "SELU", "Hardtanh", "SiLU", "Mish",
            "Hardsigmoid", "Hardswish", "Threshold", "RReLU"}  # fmt: skip


def _activation(name: str, fn: Any, doc: str, epilogue: str | None = None, **defaults: Any) -> type:
    """A Module class applying fn(x, **its arguments); `epilogue` is F.linear's name for
    it, which a Linear before it in a Sequential then applies (with default arguments).
    Where PyTorch's has `inplace=` (last), it writes the result into x (Note [In-place
    ops]). An op's `training` argument is not the module's: it passes the module's mode
    (RReLU). Arguments without a default (Threshold's) are required."""
    takes_inplace = name in _INPLACE
    follows_mode = defaults.pop("training", None) is not None

    def __init__(self: Module, *args: Any, **kwargs: Any) -> None:
        Module.__init__(self)
        inplace = kwargs.pop("inplace", False) if takes_inplace else False
        if takes_inplace and len(args) == len(defaults) + 1:
            *args, inplace = args
        object.__setattr__(self, "inplace", bool(inplace))
        names = list(defaults)
        if len(args) > len(names):
            raise TypeError(f"{name} takes at most {len(names)} positional arguments")
        values = dict(defaults)
        values.update(zip(names, args))
        for k, v in kwargs.items():
            if k not in defaults:
                raise TypeError(f"{name} got an unexpected argument {k!r}")
            values[k] = v
        missing = [k for k, v in values.items() if v is inspect.Parameter.empty]
        if missing:
            raise TypeError(f"{name}() missing required arguments: {', '.join(missing)}")
        object.__setattr__(self, "_args", values)

    def forward(self: Module, x: Tensor) -> Tensor:
        args = dict(self._args, training=self.training) if follows_mode else self._args
        if self.inplace:
            return inplace_ops.apply_(x, name, lambda t: fn(t, **args))
        return fn(x, **args)

    def extra_repr(self: Module) -> str:
        extra = ["inplace=True"] if self.inplace else []
        return ", ".join([f"{k}={v}" for k, v in self._args.items()] + extra)

    def _epilogue_activation(self: Module) -> str | None:
        plain = type(self).forward is forward and self._args == defaults  # not a subclass's
        return epilogue if plain else None

    return type(
        name,
        (Module,),
        {
            "__init__": __init__,
            "forward": forward,
            "extra_repr": extra_repr,
            "__doc__": doc,
            "_epilogue_activation": _epilogue_activation,
        },
    )


def _activation_modules() -> dict[str, type]:
    """One Module class per op declared with `module=` (Note [Declaring an op]); its
    arguments are the op's own after the input, with the op's defaults."""
    classes = {}
    for decl in OPS.values():
        if decl.module:
            params = list(inspect.signature(decl.fn).parameters.values())[1:]
            defaults = {p.name: p.default for p in params}
            doc = (decl.fn.__doc__ or decl.name).strip().splitlines()[0]
            classes[decl.module] = _activation(decl.module, decl.fn, doc, decl.epilogue, **defaults)
    return classes


#: The activation modules (nn.ReLU, nn.GELU, ...), exported by pydl.nn.
ACTIVATION_MODULES = _activation_modules()
ACTIVATION_MODULES["Swish"] = ACTIVATION_MODULES["SiLU"]
ACTIVATION_MODULES["HardTanh"] = ACTIVATION_MODULES["Hardtanh"]
# Module-level names too, where pickle looks a class up (by __module__ and __name__).
globals().update(ACTIVATION_MODULES)


class PReLU(Module):
    """x if x >= 0 else a * x with a learned slope a (one, or one per channel)."""

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, dtype: Any = np.float32
    ) -> None:
        super().__init__()
        num_parameters = _check.size("PReLU", "num_parameters", num_parameters, minimum=0)
        init = _check.finite("PReLU", "init", init)
        self.num_parameters = num_parameters
        self.weight = Parameter(np.full((num_parameters,), init, dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        return NF.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Maxout(Module):
    """The spec's Maxout: max_k (W_k x + b_k) over k = pool_size linear pieces."""

    def __init__(self, in_features: int, out_features: int, pool_size: int) -> None:
        super().__init__()
        in_features = _check.size("Maxout", "in_features", in_features)
        out_features = _check.size("Maxout", "out_features", out_features)
        pool_size = _check.size("Maxout", "pool_size", pool_size)
        self.in_features, self.out_features = in_features, out_features
        self.pool_size = pool_size
        self.linear = Linear(in_features, out_features * pool_size)

    def forward(self, x: Tensor) -> Tensor:
        return NF.maxout(self.linear(x), self.pool_size)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"pool_size={self.pool_size}"
        )


# The loss modules live in pydl/nn/loss.py (PyTorch's torch.nn.modules.loss); their old
# home keeps their names, where code (and pickles) from before look them up.
from .loss import (  # noqa: E402, F401
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    KLDivLoss,
    MSELoss,
    NLLLoss,
)
