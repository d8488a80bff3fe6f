"""Module, Parameter and the containers."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import _device
from .._device import as_device, not_on_cpu
from .._factories import dtype_arg
from ..tensor import Tensor, bump_version


class Parameter(Tensor):
    """A tensor that a Module registers as learnable (requires grad by default)."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data._array if isinstance(data, Tensor) else data)
        if self._array.dtype.kind != "f":
            raise TypeError(f"a Parameter must be floating point, got {self.dtype}")
        self.requires_grad_(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models, as torch.nn.Module.

    Assigning a Parameter or Module attribute registers it; `parameters()`,
    `state_dict()`, `train()`/`eval()` and `zero_grad()` walk the registered tree.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}.__init__ must call super().__init__() "
                f"before assigning attributes"
            )
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            # A registered buffer stays one when reassigned (as PyTorch): a tensor or None.
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to the buffer {name!r} "
                    "(a Tensor or None is expected)"
                )
            self._buffers[name] = value
            return
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for registry in ("_parameters", "_modules", "_buffers"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._modules, self._buffers):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None) -> None:
        """A tensor saved in state_dict but not trained (e.g. running statistics)."""
        self._buffers[name] = tensor

    def add_module(self, name: str, module: Module | None) -> None:
        self._modules[name] = module

    # ----- calling ----------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # Fusion in Sequential: a module followed by an activation module may apply the
    # activation in its own kernel call (Linear: the GEMM's epilogue), saving a pass
    # over the output and an autograd node. Both hooks decline by default.
    def _epilogue_activation(self) -> str | None:
        """The F.linear activation name this module computes, if it is one."""
        return None

    def _forward_then(self, x: Any, activation: str) -> Any:
        """activation(forward(x)) in one call, or None where this module cannot."""
        return None

    # ----- traversal --------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, m in self.named_children():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def _named_members(
        self, registry: str, prefix: str, recurse: bool
    ) -> Iterator[tuple[str, Any]]:
        """(dotted name, member) of a registry in this module (and below, if recurse),
        each member once (a tied weight under its first name), None entries skipped."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mod_name, m in modules:
            for name, t in getattr(m, registry).items():
                if t is not None and id(t) not in seen:
                    seen.add(id(t))
                    yield (f"{mod_name}.{name}" if mod_name else name), t

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Any) -> Module:
        """fn(m) for every submodule m (children first, as PyTorch), then for self;
        returns self (`model.apply(init_weights)`)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ----- dtype and device -------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Module:
        """As torch.nn.Module.to: `to(device)`, `to(dtype)`, `to(device, dtype)`,
        `to(tensor)` (its dtype and device), or keywords device=/dtype=/non_blocking=.
        The device must be the CPU; the dtype must be floating: every floating parameter
        and buffer (and gradient) is converted in place of the same Parameter/Tensor
        object, so optimizers built earlier still hold them. Returns self."""
        device, dtype = _to_args(args, kwargs)
        as_device(device)
        if dtype is not None:
            dt = dtype_arg(dtype, "Module.to")
            if dt.kind != "f":
                raise TypeError(
                    f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dt}"
                )
            self._cast_floating(dt)
        return self

    def float(self) -> Module:
        """Floating parameters and buffers to float32 (in place; returns self)."""
        return self._cast_floating(np.dtype(np.float32))

    def double(self) -> Module:
        """Floating parameters and buffers to float64 (in place; returns self)."""
        return self._cast_floating(np.dtype(np.float64))

    def half(self) -> Module:
        raise TypeError("float16 is not supported by pydl: use float() or double()")

    def bfloat16(self) -> Module:
        raise TypeError("bfloat16 is not supported by pydl: use float() or double()")

    def cpu(self) -> Module:
        """self: pydl's tensors always live on the CPU."""
        return self

    def cuda(self, device: Any = None) -> Module:
        raise not_on_cpu("cuda" if device is None else f"cuda:{device}")

    def _cast_floating(self, dtype: np.dtype) -> Module:
        """Every floating parameter, gradient and buffer to dtype, in place of the same
        object (PyTorch's `param.data = param.to(dtype)`)."""
        tensors = [p for _, p in self.named_parameters()]
        tensors += [p.grad for p in tensors if p.grad is not None]
        tensors += [b for _, b in self.named_buffers()]
        for t in tensors:
            if t.dtype.kind == "f" and t.dtype != dtype:
                t._array = t._array.astype(dtype)
        return self

    # ----- modes and gradients ----------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad._array[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # ----- state ------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name."""
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, p in self.named_parameters():
            state[name] = p._array.copy()
        for name, b in self.named_buffers():
            state[name] = b._array.copy()
        return state

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> tuple[list, list]:
        """Copy arrays (or tensors) into the parameters and buffers of the same names.

        Shapes must match; with strict, missing or unexpected keys raise KeyError. All or
        nothing: every entry is checked before any is copied, so an error leaves the model
        as it was. Returns (missing_keys, unexpected_keys).
        """
        own = dict(self.named_parameters())
        own.update(self.named_buffers())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        updates = []
        for name, value in state_dict.items():
            if name not in own:
                continue
            arr = value._array if isinstance(value, Tensor) else np.asarray(value)
            target = own[name]
            if arr.shape != target.shape:
                raise ValueError(
                    f"load_state_dict: {name} has shape {arr.shape} in the state "
                    f"dict but {target.shape} in the model (nothing was loaded)"
                )
            updates.append((target, arr))
        for target, arr in updates:
            target._array[...] = arr
            bump_version(target)
        return missing, unexpected

    # ----- printing ---------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [
            f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self.named_children()
        ]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n" + "\n".join(lines) + "\n)" if lines else ")")


def _to_args(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """(device, dtype) from Module.to's arguments."""
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"Module.to() got unexpected keyword arguments {sorted(kwargs)}")
    if len(args) > 2:
        raise TypeError(f"Module.to() takes at most 2 positional arguments, got {len(args)}")
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, (str, _device.device)):
            device = arg
        else:
            dtype = arg
    return device, dtype


class Sequential(Module):
    """Modules applied in order."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        modules = list(self._modules.values())
        i = 0
        while i < len(modules):
            if i + 1 < len(modules):  # e.g. Linear then Tanh: one fused call
                activation = modules[i + 1]._epilogue_activation()
                fused = None if activation is None else modules[i]._forward_then(x, activation)
                if fused is not None:
                    x, i = fused, i + 2
                    continue
            x = modules[i](x)
            i += 1
        return x

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    """A list of modules, registered so their parameters are found."""

    def __init__(self, modules: Any = ()) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), module)
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
