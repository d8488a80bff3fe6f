"""Module and Parameter (torch.nn.Module's API: registration, traversal, hooks, state)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .. import _capture, _device, _dtypes
from .._device import as_device, not_on_cpu
from .._dtypes import is_floating, is_number
from .._factories import dtype_arg
from ..tensor import Tensor, bump_version
from ._hooks import BackwardHook, RemovableHandle


class Parameter(Tensor):
    """A tensor that a Module registers as learnable (requires grad by default)."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:  # PyTorch's Parameter(): an empty float32 tensor
            data = np.empty((0,), np.float32)
        super().__init__(data._array if isinstance(data, Tensor) else data)
        if not is_floating(self._array.dtype):
            raise TypeError(f"a Parameter must be floating point, got {self.dtype}")
        self.requires_grad_(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What load_state_dict returns, as PyTorch's: (missing_keys, unexpected_keys)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class StateDictError(KeyError, RuntimeError):
    """load_state_dict(strict=True) with missing or unexpected keys: PyTorch raises
    RuntimeError; pydl raised KeyError before, so this is both."""

    def __str__(self) -> str:
        return str(self.args[0])


class StateDictShapeError(ValueError, RuntimeError):
    """load_state_dict with an entry of another shape: PyTorch raises RuntimeError ("size
    mismatch"); pydl raised ValueError before, so this is both."""


def _state_array(name: str, value: Any) -> np.ndarray:
    """A state_dict entry as a NumPy array: a pydl Tensor, a NumPy array, nested lists, or
    another library's CPU tensor (a PyTorch Parameter too: it is detached first)."""
    if isinstance(value, Tensor):
        return value._array
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach()
        if str(getattr(value, "dtype", "")) == "torch.bfloat16":  # NumPy refuses it: its bits
            import torch  # loaded already: value is one of its tensors

            return value.contiguous().view(torch.int16).numpy().view(_dtypes.bfloat16)
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(
            f"load_state_dict: {name} is a {type(value).__name__}, expected a tensor or an array"
        )
    try:
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as e:
        raise TypeError(
            f"load_state_dict: {name} ({type(value).__name__}) is not a tensor or an array: {e}"
        ) from None


def _add_indent(s: str, spaces: int) -> str:
    """Every line of s after the first indented by `spaces` (blank lines stay empty), as
    PyTorch's nested reprs."""
    first, *rest = s.split("\n")
    if not rest:
        return s
    return "\n".join([first] + [" " * spaces + line if line.strip() else "" for line in rest])


def _check_bool(where: str, name: str, value: Any) -> None:
    """A flag must be a bool: a string such as "no" would silently be true."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} must be a bool, got {type(value).__name__} {value!r}")


def _check_name(owner: Module, name: Any, kind: str, registry: str) -> None:
    """PyTorch's checks on a name being registered: a str, not empty, without '.', and not
    an existing attribute of another kind."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "_parameters" not in owner.__dict__:
        raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if hasattr(owner, name) and name not in getattr(owner, registry):
        raise KeyError(f"attribute '{name}' already exists")


class Module:
    """Base class of layers and models, as torch.nn.Module.

    Assigning a Parameter or Module attribute registers it; `parameters()`,
    `state_dict()`, `train()`/`eval()` and `zero_grad()` walk the registered tree.
    Hooks (forward, forward pre, full backward, backward pre) run around `forward` when
    the module is called.
    """

    def __init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "_parameters", OrderedDict())
        set_(self, "_modules", OrderedDict())
        set_(self, "_buffers", OrderedDict())
        set_(self, "_non_persistent_buffers_set", set())
        set_(self, "_forward_pre_hooks", OrderedDict())
        set_(self, "_forward_hooks", OrderedDict())
        set_(self, "_backward_pre_hooks", OrderedDict())
        set_(self, "_backward_hooks", OrderedDict())
        set_(self, "_hooks_with_kwargs", set())  # ids of the hooks that take kwargs
        set_(self, "training", True)

    def __setstate__(self, state: dict) -> None:
        # Modules pickled before hooks existed lack their registries.
        self.__dict__.update(state)
        for name in ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks"):
            self.__dict__.setdefault(name, OrderedDict())
        self.__dict__.setdefault("_backward_hooks", OrderedDict())
        self.__dict__.setdefault("_hooks_with_kwargs", set())
        self.__dict__.setdefault("_non_persistent_buffers_set", set())

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
        if name in self._parameters and value is None:
            self._parameters[name] = None  # as PyTorch: `self.bias = None` keeps the slot
            return
        if isinstance(value, Parameter) and name in self._parameters:
            self._parameters[name] = value  # in place: state_dict keeps its order
            return
        # As PyTorch: a registered parameter or child module is replaced only by its kind
        # (or None); a plain tensor or a string would silently drop it from parameters().
        if name in self._parameters and not isinstance(value, Module):
            raise TypeError(
                f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                "(pydl.nn.Parameter or None expected)"
            )
        if name in self._modules and not isinstance(value, (Module, Parameter)):
            if value is None:
                self._modules[name] = None
                return
            raise TypeError(
                f"cannot assign '{type(value).__name__}' as child module '{name}' "
                "(pydl.nn.Module or None expected)"
            )
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        self._non_persistent_buffers_set.discard(name)
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
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        keys = set(super().__dir__())
        keys.update(self._parameters, self._modules, self._buffers)
        return sorted(k for k in keys if not k[0].isdigit())

    # ----- registration -----------------------------------------------------------
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register param (or None: an absent optional parameter, as a missing bias)."""
        _check_name(self, name, "parameter", "_parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(pydl.nn.Parameter or None required)"
            )
        self._buffers.pop(name, None)
        self._modules.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor kept with the module but not trained (e.g. running statistics); in
        state_dict unless persistent=False."""
        _check_name(self, name, "buffer", "_buffers")
        _check_bool("register_buffer", "persistent", persistent)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(pydl Tensor or None required)"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a child module (or None) under name."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(self, name, "module", "_modules")
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The module at the dotted path target ("" is self); AttributeError otherwise."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not isinstance(mod, Module) or item not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
            mod = mod._modules[item]
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def _get_member(self, target: str, registry: str, kind: str) -> Any:
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in getattr(mod, registry):
            raise AttributeError(f"{type(mod).__name__} has no {kind} `{name}`")
        return getattr(mod, registry)[name]

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path target ("layer.0.weight")."""
        return self._get_member(target, "_parameters", "parameter")

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path target ("bn.running_mean")."""
        return self._get_member(target, "_buffers", "buffer")

    # ----- hooks ------------------------------------------------------------------
    def _add_hook(
        self, registry: str, hook: Callable, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"a hook must be callable, got {type(hook).__name__} {hook!r}")
        hooks = self.__dict__[registry]
        handle = RemovableHandle(hooks, self._hooks_with_kwargs)
        hooks[handle.id] = hook
        if with_kwargs:
            self._hooks_with_kwargs.add(handle.id)
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """hook(module, args) before forward; a non-None result replaces args (a
        non-tuple is wrapped). with_kwargs: hook(module, args, kwargs) -> None or
        (args, kwargs)."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """hook(module, args, output) after forward (with_kwargs: hook(module, args,
        kwargs, output)); a non-None result replaces the output."""
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs)

    def register_full_backward_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """hook(module, grad_output) when the gradients of the module's outputs are known;
        a non-None result replaces grad_output."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_input, grad_output) when the gradients of the module's tensor
        inputs are known (None for an input that needs none); a non-None result replaces
        grad_input."""
        return self._add_hook("_backward_hooks", hook, prepend)

    def _has_hooks(self) -> bool:
        d = self.__dict__
        return bool(
            d["_forward_pre_hooks"]
            or d["_forward_hooks"]
            or d["_backward_hooks"]
            or d["_backward_pre_hooks"]
        )

    # ----- calling ----------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _capture.recording is not None:
            _capture.saw_module(self)
        d = self.__dict__
        if (
            d["_forward_pre_hooks"]
            or d["_forward_hooks"]
            or d["_backward_hooks"]
            or d["_backward_pre_hooks"]
        ):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        """forward between its hooks, in PyTorch's order: forward pre hooks, backward
        hooks' input wrappers, forward, forward hooks, backward hooks' output wrappers."""
        with_kwargs = self._hooks_with_kwargs
        for hid, hook in list(self._forward_pre_hooks.items()):
            if hid in with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {result}."
                        )
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        bw = None
        if self._backward_hooks or self._backward_pre_hooks:
            bw = BackwardHook(self, self._backward_hooks, self._backward_pre_hooks)
            args = bw.setup_input_hook(args)
        output = self.forward(*args, **kwargs)
        for hid, hook in list(self._forward_hooks.items()):
            if hid in with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        if bw is not None:
            output = bw.setup_output_hook(output)
        return output

    # Fusion in Sequential: a module followed by an activation module may apply the
    # activation in its own kernel call (Linear: the GEMM's epilogue), saving a pass
    # over the output and an autograd node. Both hooks decline by default (and the
    # container does not ask a module with hooks, which must see its own call).
    def _epilogue_activation(self) -> str | None:
        """The F.linear activation name this module computes, if it is one."""
        return None

    def _forward_then(self, x: Any, activation: str) -> Any:
        """activation(forward(x)) in one call, or None where this module cannot."""
        return None

    # ----- traversal --------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        memo: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in memo:
                memo.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) of self and every module below, depth first; a module
        reached twice is listed once unless remove_duplicate=False."""
        if not isinstance(prefix, str):
            raise TypeError(f"named_modules: prefix must be a str, got {type(prefix).__name__}")
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(
                    memo, f"{prefix}.{name}" if prefix else name, remove_duplicate
                )

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    # Modules hash by identity (memo sets hold them), as PyTorch's.
    __hash__ = object.__hash__

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Any]]:
        """(dotted name, member) of a registry in this module (and below, if recurse),
        each member once (a tied weight under its first name) unless remove_duplicate is
        False, None entries skipped."""
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else iter([(prefix, self)])
        )
        for mod_name, m in modules:
            for name, t in getattr(m, registry).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mod_name}.{name}" if mod_name else name), t

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """fn(m) for every submodule m (children first, as PyTorch), then for self;
        returns self (`model.apply(init_weights)`)."""
        if not callable(fn):
            raise TypeError(f"Module.apply: fn must be callable, got {type(fn).__name__}")
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
            if not is_floating(dt):
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
        raise TypeError("float16 is not supported by pydl: use float(), double() or bfloat16()")

    def bfloat16(self) -> Module:
        """Floating parameters and buffers to bfloat16 (in place; returns self). For training,
        pydl.autocast keeps float32 weights and runs the products in bfloat16."""
        return self._cast_floating(_dtypes.bfloat16)

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
            if is_floating(t.dtype) and t.dtype != dtype:
                t._array = t._array.astype(dtype)
        _capture.changed()
        return self

    # ----- modes and gradients ----------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    @_capture.replayed_whole  # it sets .grad
    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad._array[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        _check_bool("Module.requires_grad_", "requires_grad", requires_grad)
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # ----- state ------------------------------------------------------------------
    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        """(key, tensor) of every state_dict entry: parameters, then persistent buffers,
        module by module as PyTorch orders them; a tied tensor under each of its names."""
        for mod_name, m in self.named_modules(remove_duplicate=False):
            dot = mod_name + "." if mod_name else ""
            for name, p in m._parameters.items():
                if p is not None:
                    yield dot + name, p
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent_buffers_set:
                    yield dot + name, b

    def state_dict(
        self, *, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Any]:
        """Every parameter and persistent buffer by dotted name (copies of their arrays;
        the tensors themselves with keep_vars=True). A tied weight appears under each of
        its names, as in PyTorch."""
        if not isinstance(prefix, str):
            raise TypeError(f"state_dict: prefix must be a str, got {type(prefix).__name__}")
        state = OrderedDict() if destination is None else destination
        for name, t in self._state_items():
            state[prefix + name] = t if keep_vars else t._array.copy()
        return state

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays (or tensors) into the parameters and buffers of the same names.

        Shapes must match; with strict, missing or unexpected keys raise StateDictError
        (a KeyError and a RuntimeError). All or nothing: every entry is checked before any
        is copied, so an error leaves the model as it was. Returns (missing_keys,
        unexpected_keys). A tied weight may be given under any or all of its names.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"Expected state_dict to be dict-like, got {type(state_dict).__name__} "
                f"(load_state_dict of {type(self).__name__})"
            )
        own = dict(self._state_items())
        by_tensor: dict[int, list[str]] = {}
        for name, t in own.items():
            by_tensor.setdefault(id(t), []).append(name)
        # A tied tensor is loaded when any of its names is given.
        missing = [k for k in own if not any(n in state_dict for n in by_tensor[id(own[k])])]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise StateDictError(
                f"Error(s) in loading state_dict for {type(self).__name__}: missing keys "
                f"{missing}, unexpected keys {unexpected}"
            )
        updates = []
        for name, value in state_dict.items():
            if name not in own:
                continue
            arr = _state_array(name, value)
            target = own[name]
            if arr.shape != target.shape:
                raise StateDictShapeError(
                    f"load_state_dict: size mismatch for {name}: {name} has shape {arr.shape} "
                    f"in the state dict but {target.shape} in the model (nothing was loaded)"
                )
            if not is_number(arr.dtype):  # complex, object, strings: no real value
                raise TypeError(
                    f"load_state_dict: {name} is an array of dtype {arr.dtype}, which cannot "
                    f"be copied into the model's {target.dtype} {name}"
                )
            updates.append((target, arr))
        for target, arr in updates:
            target._array[...] = arr
            bump_version(target)
        return IncompatibleKeys(missing, unexpected)

    # ----- printing ---------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's settings, printed inside its parentheses (override per layer)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        # PyTorch's layout: one-line extra_repr inline; otherwise one line per extra line
        # and per child, indented by two spaces.
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _add_indent(repr(m), 2) for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        head = self._get_name() + "("
        if len(extra_lines) == 1 and not child_lines:
            return head + extra_lines[0] + ")"
        if lines:
            return head + "\n  " + "\n  ".join(lines) + "\n)"
        return head + ")"


def module_attr(module: Module, name: str) -> Any:
    """module.<name>, for layers' hot paths: the same lookup as getattr (an instance
    attribute, then the parameters, then the rest), without Module.__getattr__. CPython
    3.11 reaches __getattr__ only after raising and clearing an AttributeError: reading a
    Linear's weight costs ~5,500 instructions that way against ~750 here (callgrind), and
    a small Linear's call reads two."""
    d = module.__dict__
    if name in d:
        return d[name]
    params = d["_parameters"]
    if name in params:
        return params[name]
    return getattr(module, name)


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


# The containers were defined here before containers.py; old imports (and pickles) find
# them under this module too.
from .containers import ModuleList, Sequential  # noqa: E402, F401
