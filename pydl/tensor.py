"""Tensor and the autograd engine (one engine for both kernel backends).

A Tensor wraps a C-contiguous NumPy array. An op on tensors that require grad records
one `_Node` for all of its outputs (`record`): the backward function, the input tensors
and what the backward needs (plain arrays); each output knows its node and its slot.
`Tensor.backward` walks the recorded nodes in reverse topological order, calls each
node's backward once with the summed gradient of every output (None for an output no
gradient reached), and accumulates into the `.grad` of leaf tensors.

Note [Version counter]: as in PyTorch, every in-place write to a tensor's memory (an
in-place op, `x[i] = v`, an optimizer step) bumps a counter shared by all views of that
memory. A node records, for each input its backward reads (record's `reads`) and each
output it saved, the counter's value then; backward compares and raises a RuntimeError
naming the op if a value it needs was overwritten since, instead of computing a silently
wrong gradient. Counters are created on first need (a view or a write), so ops that never
see either pay one attribute.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any, Callable

import numpy as np

from . import _capture, backend
from ._hooks import RemovableHandle
from ._dtypes import is_floating, is_number

DEFAULT_DTYPE = np.dtype(np.float32)


class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    return _grad_mode.enabled


class no_grad:
    """Context manager (and decorator) that stops recording ops for autograd."""

    def __enter__(self) -> None:
        self._prev = _grad_mode.enabled
        _grad_mode.enabled = False

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        return wrapper


class enable_grad(no_grad):
    """Context manager that turns recording back on inside a `no_grad` block."""

    def __enter__(self) -> None:
        self._prev = _grad_mode.enabled
        _grad_mode.enabled = True


class set_grad_enabled(no_grad):
    """Turn recording on or off: as a function call (`set_grad_enabled(False)`), until
    changed again, or as a context manager (`with set_grad_enabled(is_train):`), inside it."""

    def __init__(self, mode: bool) -> None:
        self._prev = _grad_mode.enabled
        self._mode = bool(mode)
        _grad_mode.enabled = self._mode

    def __enter__(self) -> None:
        _grad_mode.enabled = self._mode

    def __call__(self, fn: Callable) -> Callable:
        _grad_mode.enabled = self._prev  # as a decorator the call above must not stick
        mode = self._mode

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        return wrapper


class inference_mode(no_grad):
    """PyTorch's inference_mode(mode=True): recording off inside; mode=False changes
    nothing. pydl has no separate inference tensors, so this is `no_grad` (tensors made
    inside may later be used in recorded ops, which PyTorch forbids). Also a decorator,
    with or without the call."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # @inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self._mode = bool(mode)

    def __enter__(self) -> None:
        self._prev = _grad_mode.enabled
        if self._mode:
            _grad_mode.enabled = False

    def __call__(self, fn: Callable) -> Callable:
        mode = self._mode

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return fn(*args, **kwargs)

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        return wrapper


class _Node:
    """One recorded op: backward(node, grad) -> one gradient (or None) per input.

    `grad` is the output's gradient array for a one-output op and a tuple with one entry
    per output (None where no gradient arrived) for an op with several (`outputs` > 1).
    """

    # edges: per input, the (node, slot) that made it when it was recorded (None for an
    # input that needed no gradient), so that an in-place op rebasing the input later does
    # not redirect this node's gradient. versions: Note [Version counter].
    __slots__ = ("__weakref__", "backward", "edges", "inputs", "outputs", "saved", "versions")


def _new_node(backward: Callable, inputs: tuple, saved: Any, outputs: int, reads: Any) -> _Node:
    """The node recording one op (a function, not _Node.__init__: compiled, allocating the
    extension type directly and filling its struct skips the type call's argument parsing)."""
    node = _Node.__new__(_Node)
    node.backward = backward
    node.inputs = inputs
    node.saved = saved
    node.outputs = outputs
    # Plain loops, not comprehensions: this runs for every recorded op, and a
    # comprehension costs a function call in CPython 3.11.
    if type(reads) is not bool and type(reads) is not tuple:
        reads = reads(*inputs)
    edges = []
    versions = None
    k = 0
    for i in inputs:
        edges.append((i._ctx, i._slot) if i.requires_grad else None)
        if reads is True or (reads is not False and reads[k]):
            if versions is None:
                versions = []
            v = i._version
            versions.append((i, 0 if v is None else v[0]))
        k += 1
    node.edges = edges
    node.versions = versions
    return node


def _as_array(data: Any, dtype: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data._array
    elif isinstance(data, np.ndarray) and not is_number(data.dtype):
        raise _conversion_error(data, data)  # before a cast would drop imaginary parts
    try:
        arr = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype, order="C")
    except (ValueError, TypeError, OverflowError) as e:
        raise _conversion_error(data, None, e) from None
    if not is_number(arr.dtype):
        raise _conversion_error(data, arr)
    if dtype is not None:
        return arr
    if not isinstance(data, (np.ndarray, np.generic)):
        # NumPy data keeps its dtype; Python floats become float32 and ints int64.
        if is_floating(arr.dtype):
            arr = arr.astype(DEFAULT_DTYPE)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
    return np.asarray(arr, order="C")


# Note [Conversion errors]: every op converts its tensor arguments with as_tensor (or
# Tensor()), so a value that is not numbers (a str, None, an object or complex array, a
# ragged list, an int beyond 64 bits) fails in one place. The message names the function
# the user called and its argument, found on the error path only by walking the stack to
# the outermost pydl frame that holds the value as a parameter: the hot path pays nothing.
# Functions compiled by Cython (Note [Compiled engine]) have no frames: a compiled public
# function (an op, tensor(), Tensor(), Tensor.backward()) catches the conversion error of
# its arguments and re-raises it through name_argument, which adds the prefix its frame
# would have given (the error's value and whether a frame named it travel with it:
# _marked).
_PYDL_DIR = __file__.rsplit("/", 1)[0] + "/"
# generic wrappers (any file), and the conversion's own frames (tensor.py, _ops/_util.py)
_WRAPPERS = frozenset({"fn", "run", "call", "wrapper", "method", "inner", "new", "<lambda>"})
_CONVERSION = frozenset(
    {"_as_array", "as_tensor", "tensors_of", "_conversion_error", "_argument_of"}
    | {"_not_a_tensor_error"}
    | {"promoted", "tensor_pair", "result_type"}
)


def _argument_of(value: Any) -> str:
    """The prefix "f(): argument 'x' " for the outermost pydl function on the stack that
    took `value` as its parameter `x`, or else as an element of its list parameter `x`
    (cat's tensors, einsum's *operands); "" when none did: the message then says what it
    got only."""
    import sys

    direct = element = ""
    frame = sys._getframe(0)  # skipped below, as a conversion frame; compiled ones are absent
    while frame is not None and frame.f_code.co_filename.startswith(_PYDL_DIR):
        code = frame.f_code
        if code.co_name not in _WRAPPERS and not (
            code.co_name in _CONVERSION
            and code.co_filename.endswith(("tensor.py", "_util.py", "_dtypes.py"))
        ):
            n_args = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 4)
            names = code.co_varnames[:n_args]  # with *args (CO_VARARGS), not **kwargs
            local = frame.f_locals
            hits = [n for n in names if local.get(n, _MISSING) is value]
            if len(hits) > 1:  # None may be several parameters' value: the positional one
                positional = names[: code.co_argcount]
                if hits[0] != names[0]:
                    hits = [h for h in hits if h in positional]
            qual = code.co_qualname
            if "<" in qual:  # a nested function: its own name (a method: its class's too)
                owner = local.get("self") if names and names[0] == "self" else None
                qual = code.co_name if owner is None else f"{type(owner).__name__}.{code.co_name}"
            qual = qual.removesuffix(".__init__").lstrip("_")  # Tensor(...): a constructor
            if len(hits) == 1 or (hits and hits[0] == names[0]):
                direct = f"{qual}(): argument '{hits[0]}' "
            elif not hits:
                within = [
                    n
                    for n in names
                    if isinstance(local.get(n), (list, tuple)) and any(v is value for v in local[n])
                ]
                if within:
                    element = f"{qual}(): argument '{within[0]}' "
        frame = frame.f_back
    return direct or element


_MISSING = object()


def _first_non_number(data: Any, depth: int = 0) -> Any:
    """The first element of nested lists/tuples that is not a bool, an int that fits in
    64 bits or a float (_MISSING if every one is)."""
    if isinstance(data, (list, tuple)) and depth < 64:
        for item in data:
            bad = _first_non_number(item, depth + 1)
            if bad is not _MISSING:
                return bad
        return _MISSING
    if isinstance(data, (bool, float, np.bool_, np.integer, np.floating)):
        return _MISSING
    if isinstance(data, int) and -(2**63) <= data < 2**64:
        return _MISSING
    if isinstance(data, (np.ndarray, Tensor)):
        return _MISSING if getattr(data, "dtype", None) is not None else data
    return data


def _not_a_tensor_error(data: Any) -> Exception:
    """The exception for an operand that is neither a tensor nor a number (type promotion
    takes no lists)."""
    where = _argument_of(data)
    if isinstance(data, (list, tuple)):
        err = TypeError(f"{where}must be a tensor or a number, got {type(data).__name__}")
        return _marked(err, data, where)
    try:
        arr = np.asarray(data)
    except Exception:  # noqa: BLE001 - only to describe it
        arr = None
    return _conversion_error(data, arr, where=where, expected="a tensor or a number")


def _conversion_error(
    data: Any,
    arr: Any,
    cause: Exception | None = None,
    where: str | None = None,
    expected: str = "a Tensor, a NumPy array or (nested lists of) numbers",
) -> Exception:
    """The exception for data no pydl tensor can hold (Note [Conversion errors])."""
    if where is None:
        where = _argument_of(data)
    return _marked(_describe(data, arr, cause, where, expected), data, where)


def _marked(err: Exception, value: Any, where: str, named_by: str = "frame") -> Exception:
    """err, carrying for name_argument the value it is about, its message without the
    prefix `where`, and what named the argument: "frame", "op" (name_argument) or ""."""
    err.pydl_value, err.pydl_bare = value, str(err)[len(where) :]
    err.pydl_named = named_by if where else ""
    return err


def name_argument(err: Exception, fn: str, **arguments: Any) -> Exception:
    """A conversion error raised under a compiled op, which has no frame to name it (Note
    [Conversion errors]): the same error with "fn(): argument 'name' " in front, for the
    argument that holds the offending value (or holds it in a list). The outermost op that
    holds the value names it, as the frame walk would: an op calling another replaces its
    name. Any other exception, or one a frame named, comes back as is."""
    if getattr(err, "pydl_named", "frame") == "frame":
        return err
    value = err.pydl_value
    for name, arg in arguments.items():
        if arg is value or (type(arg) in (list, tuple) and any(v is value for v in arg)):
            where = f"{fn}(): argument '{name}' "
            return _marked(type(err)(where + err.pydl_bare), value, where, "op")
    return err


def _describe(data: Any, arr: Any, cause: Any, where: str, expected: str) -> Exception:
    kind = arr.dtype.kind if arr is not None else None
    if kind == "c" or (arr is None and isinstance(data, complex)):
        dt = arr.dtype if arr is not None else "complex"
        return TypeError(
            f"{where}has dtype {dt}: pydl has no complex dtypes (its tensors hold bool, "
            f"integer and floating values)"
        )
    if isinstance(data, np.ndarray):
        return TypeError(
            f"{where}must be a Tensor or a NumPy array of numbers, got an array of dtype "
            f"{data.dtype}"
        )
    if isinstance(data, (list, tuple)):
        bad = _first_non_number(data)
        if isinstance(bad, int):
            return ValueError(f"{where}holds the integer {bad}, which does not fit in 64 bits")
        if isinstance(bad, complex):
            return TypeError(f"{where}holds the complex number {bad!r}: pydl has no complex dtypes")
        if bad is not _MISSING:
            return TypeError(
                f"{where}must be a Tensor, a NumPy array or (nested lists of) numbers, got a "
                f"{type(data).__name__} holding {type(bad).__name__} ({bad!r:.40})"
            )
        if isinstance(cause, ValueError):  # ragged nesting
            return ValueError(
                f"{where}must be a rectangular nest of numbers (every list at one depth of "
                f"one length): {cause}"
            )
    if isinstance(data, int) and not isinstance(data, bool):
        return ValueError(f"{where}is the integer {data}, which does not fit in 64 bits")
    if isinstance(data, (str, bytes)):
        got = f"{type(data).__name__} ({data!r:.40})"
    elif arr is not None and data is not None and not isinstance(data, (int, float, bool)):
        got = f"{type(data).__name__} (data of dtype {arr.dtype}: {_KINDS.get(kind, kind)})"
    else:
        got = type(data).__name__
    return TypeError(f"{where}must be {expected}, got {got}")


_KINDS = {"U": "str", "S": "bytes", "O": "object", "M": "datetime", "m": "timedelta", "V": "void"}


class _TensorFields:
    """A Tensor's fields, apart from its methods: the compiled engine (tensor.pxd) makes this
    an extension type, so that it reads and writes them as C struct members, while Tensor
    stays a Python class whose methods pydl._tensor_methods installs after import."""

    # _ctx: the node that made this tensor (None for a leaf); _slot: which of its outputs.
    # _version: the version counter, a one-item list shared with every view of the same
    # memory, or None until a view or an in-place op first needs it (Note [Version counter]).
    # _base: the tensor whose memory this view shares (None when it owns its memory);
    # _view_fn: the view op from _base to this view, tensor -> tensor, so that an in-place
    # op on the view under autograd can be replayed on the base (Note [In-place ops]).
    __slots__ = (
        "__weakref__",
        "_array",
        "_base",
        "_ctx",
        "_slot",
        "_version",
        "_view_fn",
        "grad",
        "requires_grad",
    )


class Tensor(_TensorFields):
    """An n-dimensional array with optional gradient tracking.

    Its values are a NumPy array (`numpy()` returns it without copying): C-contiguous when
    a kernel made it, a strided view of another tensor's array when a view op did (Note
    [Views]). `data` is a detached Tensor over the same memory, as PyTorch's.
    """

    __slots__ = ()
    __array_priority__ = 1000  # so ndarray + Tensor dispatches to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        try:
            self._array = _as_array(data, dtype)
        except (TypeError, ValueError) as e:
            raise name_argument(e, type(self).__name__, data=data) from None
        self.grad: Tensor | None = None
        self._ctx: _Node | None = None
        self._slot = 0
        self._version = self._base = self._view_fn = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ----- properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def ndim(self) -> int:
        return self._array.ndim

    @property
    def data(self) -> Tensor:
        """This tensor's values as a new leaf over the same memory, outside autograd and
        its version counter (PyTorch's `.data`: writes through it are not checked)."""
        return _constant(self._array)

    @data.setter
    def data(self, value: Tensor) -> None:
        """Swap in another tensor's values (shape and dtype may change), as PyTorch's. A
        strided view is copied: kernels that write in place (optimizer steps) need one
        contiguous block."""
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._array = np.asarray(value._array, order="C")
        _capture.changed()

    @property
    def _version_counter(self) -> int:
        """How many in-place writes this tensor's memory has seen."""
        return 0 if self._version is None else self._version[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if _capture.recording is not None:
            _capture.host_read("np.asarray(tensor)")
        if copy:
            return np.array(self._array, dtype=dtype, copy=True)
        return self._array if dtype is None else self._array.astype(dtype, copy=False)

    def __dlpack__(self, **kwargs: Any) -> Any:
        """DLPack export of the values (no copy): torch.from_dlpack(t), np.from_dlpack(t)."""
        if _capture.recording is not None:
            _capture.host_read("Tensor.__dlpack__")
        if self.requires_grad:
            raise RuntimeError(
                "Can't export tensors that require gradient, use tensor.detach()"
            )  # PyTorch's rule: the consumer would see values autograd cannot track
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._array.__dlpack_device__()

    def __reduce__(self) -> tuple:
        """Pickle the same way in both engines (a compiled _TensorFields would otherwise
        pickle through a helper that the .py sources lack): a leaf with its values, grad and
        requires_grad, and a subclass's attributes. A view comes back as a tensor of its
        own (its copied values share no memory with a copied base); a gradient in a graph
        (create_graph) comes back as a plain tensor of its values."""
        if self._ctx is not None and self.requires_grad:
            raise RuntimeError(
                "Cowardly refusing to serialize non-leaf tensor which requires_grad, since "
                "autograd does not support crossing process boundaries.  If you just want "
                "to transfer the data, call detach() on the tensor before serializing "
                "(e.g., putting it on the queue)."
            )  # PyTorch's message
        grad = self.grad
        if grad is not None and grad._ctx is not None:
            grad = _constant(grad._array)
        state = getattr(self, "__dict__", None)
        return (_unpickle, (type(self), self._array, self.requires_grad, grad), state)

    def __setstate__(self, state: Any) -> None:
        """A subclass's attributes (from __reduce__), or a pickle of pydl before it, which
        holds (None or attributes, {slot: value})."""
        if isinstance(state, tuple):
            state, slots = state
            for name, value in (slots or {}).items():
                setattr(self, name, value)
        if state:
            self.__dict__.update(state)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> _Node | None:
        """The recorded node that made this tensor (None for a leaf)."""
        return self._ctx

    def size(self, dim: int | None = None) -> Any:
        return self._array.shape if dim is None else self._array.shape[dim]

    def dim(self) -> int:
        return self._array.ndim

    def numel(self) -> int:
        return self._array.size

    nelement = numel

    def stride(self, dim: int | None = None) -> Any:
        """Strides in elements, as PyTorch's (a view's are its base's, Note [Views])."""
        strides = tuple(s // self._array.itemsize for s in self._array.strides)
        return strides if dim is None else strides[dim]

    def is_contiguous(self) -> bool:
        return self._array.flags.c_contiguous

    def element_size(self) -> int:
        return self._array.itemsize

    def data_ptr(self) -> int:
        return self._array.__array_interface__["data"][0]

    def is_floating_point(self) -> bool:
        return is_floating(self._array.dtype)

    def __len__(self) -> int:
        if self._array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._array)

    def __bool__(self) -> bool:
        """The value of a one-element tensor (`if loss < 0.5:`); ambiguous otherwise."""
        if self._array.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous "
                f"(shape {self.shape})"
            )
        if _capture.recording is not None:
            _capture.host_read("bool(tensor)")
        return bool(self._array.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._array.dtype.kind not in "iub" or self._array.size != 1:
            raise TypeError(
                f"only integer tensors of a single element can be an index, not "
                f"{self.dtype} of shape {self.shape}"
            )
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """format(t, ".3f") for a one-element tensor, as for its number."""
        if self._array.size == 1 and spec:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __iter__(self):
        """The sub-tensors along the first axis (each a view of a row, as indexing gives)."""
        if self._array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._array)))

    def __repr__(self) -> str:
        if _capture.recording is not None:
            _capture.host_read("repr(tensor)")
        body = np.array2string(self._array, separator=", ", prefix="tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.dtype != DEFAULT_DTYPE:
            extra = f", dtype={self.dtype}" + extra
        return f"tensor({body}{extra})"

    # ----- conversion -------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The underlying array, without copying: writes to it change the tensor."""
        if _capture.recording is not None:
            _capture.host_read("Tensor.numpy")
        return self._array

    def item(self) -> Any:
        if self._array.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        if _capture.recording is not None:
            _capture.host_read("Tensor.item")
        return self._array.reshape(()).item()

    def tolist(self) -> Any:
        if _capture.recording is not None:
            _capture.host_read("Tensor.tolist")
        return self._array.tolist()

    def detach(self) -> Tensor:
        """A tensor sharing this one's memory and version counter, cut from the graph."""
        t = _constant(self._array)
        t._version, t._base = _shared_version(self), base_of(self)
        return t

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not is_floating(self._array.dtype):
            raise RuntimeError(f"only floating-point tensors can require grad, not {self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad can only be turned off on leaf tensors; use detach()")
        self.requires_grad = requires_grad
        return self

    # ----- autograd ---------------------------------------------------------------
    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) * gradient into the `.grad` of every leaf that requires
        grad (only of `inputs`, when given).

        `gradient` may be omitted only for a tensor with one element. The graph's saved
        arrays are freed afterwards unless `retain_graph` (default: create_graph); backward
        through a freed graph raises RuntimeError. create_graph records the backward pass
        itself, so that the gradients can be differentiated again (Note [Double backward]).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a "
                "grad_fn: backward() needs a tensor that requires grad"
            )
        if gradient is None:
            if self._array.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; "
                    f"this tensor has shape {self.shape}: pass gradient="
                )
            g = _capture.snapshot(np.ones_like(self._array))
        else:
            try:
                g = _as_array(gradient, self.dtype)
            except (TypeError, ValueError) as e:
                raise name_argument(e, "Tensor.backward", gradient=gradient) from None
            if g.shape != self.shape:
                raise ValueError(
                    f"gradient has shape {g.shape} but the tensor has shape {self.shape}"
                )
        retain = create_graph if retain_graph is None else bool(retain_graph)
        if inputs is None:
            _run_backward(self, g, retain, create_graph=create_graph)
            return
        wanted = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        if not wanted or not all(isinstance(t, Tensor) and t.requires_grad for t in wanted):
            raise RuntimeError(
                "backward: inputs must be a non-empty list of tensors requiring grad"
            )
        found = _run_backward(self, g, retain, wanted=wanted, create_graph=create_graph)
        for t, tg in zip(wanted, found):
            if tg is not None:
                _accumulate_into_leaves([(t, tg)], None, create_graph)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call hook(grad) each time this tensor's gradient is computed; a tensor it returns
        replaces the gradient. Returns a handle whose remove() unregisters it (Note [Tensor
        hooks])."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        hooks = _hooks_of(self, create=True)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in `.grad` after backward (leaves always do)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._ctx is not None and not self.retains_grad:
            hooks = _hooks_of(self, create=True)
            hooks[RemovableHandle(hooks).id] = _RetainGrad(self)

    @property
    def retains_grad(self) -> bool:
        """Whether retain_grad() was called on this non-leaf tensor."""
        hooks = _hooks_of(self) if self._ctx is not None else None
        return bool(hooks) and any(type(h) is _RetainGrad for h in hooks.values())

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call hook(tensor) each time a backward pass has accumulated this leaf's gradient
        into `.grad`: in backward() as soon as its last contribution arrives, while the rest
        of the pass still runs; with inputs= or create_graph, at the end of the pass (Note
        [Gradient-ready hooks]). The hook is held until remove() is called on the returned
        handle (or the tensor dies): a hook that refers to its tensor keeps it alive."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._ctx is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        key = id(self)
        entry = _POST_ACCUMULATE_HOOKS.get(key)
        if entry is None:
            # The dict bound now: a tensor that dies at exit may outlive the module's globals.
            hooks = _POST_ACCUMULATE_HOOKS
            ref = weakref.ref(self, lambda _: hooks.pop(key, None))
            entry = _POST_ACCUMULATE_HOOKS[key] = (ref, OrderedDict())
        handle = RemovableHandle(entry[1])
        entry[1][handle.id] = hook
        return handle


# Note [Tensor hooks]: hooks registered with Tensor.register_hook live outside the tensor,
# so the hot path pays nothing for them: a leaf's in _LEAF_HOOKS (by id, dropped by a weakref
# callback when the tensor dies: Tensor's == is elementwise, which weak-keyed dicts cannot
# use), a non-leaf's in _NODE_HOOKS (weakly by the node that made it, then its slot). The
# engine consults them only when one is registered. A non-leaf's hooks run when its summed
# gradient is complete, before its node's backward; a leaf's run on its summed gradient
# before it is accumulated into .grad. retain_grad() is a hook that runs after the others
# and stores what they leave.
_LEAF_HOOKS: dict[int, tuple[weakref.ref, OrderedDict]] = {}
_NODE_HOOKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

# Note [Gradient-ready hooks]: Tensor.register_post_accumulate_grad_hook's hooks, by the
# leaf's id as _LEAF_HOOKS. A leaf's gradient is complete once every node with an edge to it
# has run (or been skipped: no gradient reached it). When such hooks exist, _run_backward
# counts those edges first (_ReadyLeaves) and accumulates a hooked leaf the moment its count
# reaches zero, so that its hooks run while the walk goes on: data-parallel training starts
# all-reducing a bucket of gradients while later layers' gradients are still being computed
# (pydl.distributed). Leaves whose count never reaches zero (the root itself, or autograd.grad
# style passes) are accumulated at the end as before; _accumulate_into_leaves runs the hooks
# wherever a hooked leaf is accumulated. Without hooks the walk pays one len() per pass.
_POST_ACCUMULATE_HOOKS: dict[int, tuple[weakref.ref, OrderedDict]] = {}


def _run_post_accumulate_hooks(t: Tensor) -> None:
    entry = _POST_ACCUMULATE_HOOKS.get(id(t))
    if entry is not None:
        for hook in list(entry[1].values()):
            hook(t)


class _ReadyLeaves:
    """The hooked leaves of one backward pass and how many node edges each still waits for
    (Note [Gradient-ready hooks])."""

    def __init__(self, order: list) -> None:
        self.waiting: dict[int, int] = {}
        for node in order:
            for inp, edge in zip(node.inputs, node.edges):
                if edge is None or edge[0] is not None:
                    continue
                entry = _POST_ACCUMULATE_HOOKS.get(id(inp))
                if entry is not None and not entry[1]:  # its hooks were all removed
                    del _POST_ACCUMULATE_HOOKS[id(inp)]
                elif entry is not None:
                    self.waiting[id(inp)] = self.waiting.get(id(inp), 0) + 1

    def node_done(self, node: Any, leaves: dict) -> None:
        """Count node's edges as arrived; accumulate each leaf that waits for nothing more."""
        for inp, edge in zip(node.inputs, node.edges):
            key = id(inp)
            if edge is None or edge[0] is not None or key not in self.waiting:
                continue
            self.waiting[key] -= 1
            if self.waiting[key] == 0 and key in leaves:
                t, g = leaves.pop(key)
                hooks = _hooks_of(t)
                if hooks:
                    g = _run_hooks(hooks, g, False)
                # Its own copy: the walk may still hand the same array to other nodes, and
                # a hook may write .grad in place.
                _accumulate_into_leaves([(t, g if t.grad is not None else np.array(g))], None)


def _hooks_of(t: Tensor, create: bool = False) -> OrderedDict | None:
    """t's hooks by handle id (Note [Tensor hooks]); created on first need."""
    if t._ctx is None:
        entry = _LEAF_HOOKS.get(id(t))
        if entry is None and create:
            key = id(t)
            ref = weakref.ref(t, lambda _: _LEAF_HOOKS.pop(key, None))
            entry = _LEAF_HOOKS[key] = (ref, OrderedDict())
        return None if entry is None else entry[1]
    if create:
        return _NODE_HOOKS.setdefault(t._ctx, {}).setdefault(t._slot, OrderedDict())
    slots = _NODE_HOOKS.get(t._ctx)
    return None if slots is None else slots.get(t._slot)


class _RetainGrad:
    """retain_grad()'s hook: stores (accumulates) the gradient into the tensor's .grad. It
    holds the tensor weakly: the node's hooks must not keep the tensor alive (a cycle)."""

    def __init__(self, t: Tensor) -> None:
        self.ref = weakref.ref(t)

    def __call__(self, g: Tensor) -> None:
        t = self.ref()
        if t is not None:
            if t.grad is None:
                t.grad = g if g.requires_grad else _constant(np.array(g._array, copy=True))
            elif g.requires_grad:
                t.grad = t.grad + g
            else:
                t.grad._array += g._array


def _run_hooks(hooks: OrderedDict, g: Any, graph: bool) -> Any:
    """g after each hook (a Tensor when recording the backward, an array otherwise)."""
    for hook in sorted(hooks.values(), key=lambda h: type(h) is _RetainGrad):  # retain last
        out = hook(g if graph else _constant(g))
        if out is not None:
            if not isinstance(out, Tensor) or out.shape != g.shape:
                raise RuntimeError(
                    f"a tensor hook must return None or a Tensor of the gradient's shape "
                    f"{tuple(g.shape)}, got {out!r:.80}"
                )
            g = out if graph else out._array
    return g


def _topo_order(root: _Node) -> list[_Node]:
    """Nodes reachable from root, each after every node that made one of its inputs
    (iterative post-order DFS; a node is marked when expanded, not when first seen, so a
    direct input of the root that is also reachable deeper still comes out first)."""
    order: list[_Node] = []
    visited: set[int] = set()
    stack: list[tuple[_Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for edge in node.edges:
            if edge is not None and edge[0] is not None and id(edge[0]) not in visited:
                stack.append((edge[0], False))
    return order


def _run_backward(
    root: Tensor,
    grad: np.ndarray,
    retain_graph: bool,
    wanted: Sequence[Tensor] = (),
    create_graph: bool = False,
) -> list | None:
    """Walk the graph from root with d(root) = grad. Without `wanted`, accumulate into the
    leaves' .grad; with it, leave .grad alone and return the gradient reaching each wanted
    tensor (leaf or not; None where none arrives), as torch.autograd.grad. create_graph:
    the walk records itself (Note [Double backward]) and the gradients are Tensors."""
    if _capture.recording is not None:
        _refuse_in_capture(create_graph, wanted)
    if create_graph:  # grad may be a Tensor in a graph (autograd.grad's grad_outputs)
        seed = grad if isinstance(grad, Tensor) else _constant(grad)
        return _run_backward_graph(root, seed, retain_graph, wanted)
    pending: dict[int, list] = {}  # gradients waiting for a node: one slot per output
    leaves: dict[int, tuple[Tensor, np.ndarray]] = {}  # the summed gradient of each leaf
    found: list = [None] * len(wanted)
    # a non-leaf's gradient is complete in its node's slot when that node runs
    wanted_slots = {(id(t._ctx), t._slot): i for i, t in enumerate(wanted) if t._ctx is not None}
    node_hooks = _NODE_HOOKS if len(_NODE_HOOKS) else None
    _deliver(pending, leaves, root, root._ctx, root._slot, grad)
    order = reversed(_topo_order(root._ctx)) if root._ctx is not None else ()
    ready = None
    if len(_POST_ACCUMULATE_HOOKS) and not wanted:
        order = list(order)
        ready = _ReadyLeaves(order)
    for node in order:
        slots = pending.pop(id(node), None)
        if slots is None:
            if ready is not None:
                ready.node_done(node, leaves)
            continue
        if node.backward is None:
            _raise_freed()
        if node.versions is not None:
            _check_versions(node)
        if node_hooks is not None and node in node_hooks:
            _run_node_hooks(node, slots, False)
        if wanted_slots:
            for slot, g in enumerate(slots):
                i = wanted_slots.get((id(node), slot))
                if i is not None:
                    found[i] = g
        input_grads = node.backward(node, slots[0] if node.outputs == 1 else tuple(slots))
        for inp, edge, ig in zip(node.inputs, node.edges, input_grads):
            if ig is not None and edge is not None:
                _deliver(pending, leaves, inp, edge[0], edge[1], ig)
        if not retain_graph:
            node.backward = None
            node.saved = None
        if ready is not None:
            ready.node_done(node, leaves)
    if len(_LEAF_HOOKS):
        leaves = _leaf_grads_after_hooks(leaves, False)
    if not wanted:
        if _capture.recording is not None:  # pydl.compile replays it: it sets .grad
            pairs = leaves.values()
            _capture.live(_accumulate_pairs, [t for t, _ in pairs], [g for _, g in pairs], grad)
        else:
            _accumulate_into_leaves(leaves.values(), grad)
        return None
    for i, t in enumerate(wanted):
        if t._ctx is None and id(t) in leaves:
            found[i] = leaves[id(t)][1]
    # copies: a gradient may be a view of a saved array, of the caller's grad or of another
    return [None if g is None else np.array(g, copy=True) for g in found]


def _refuse_in_capture(create_graph: bool, wanted: Sequence[Tensor]) -> None:
    """What pydl.compile cannot replay in a backward: Python it would skip."""
    if create_graph:
        _capture.refuse("a backward with create_graph=True records a graph in Python")
    elif wanted:
        _capture.refuse("autograd.grad and backward(inputs=...) return gradients to Python")
    elif len(_NODE_HOOKS) or len(_LEAF_HOOKS) or len(_POST_ACCUMULATE_HOOKS):
        _capture.refuse("tensor hooks run Python during backward")


def _deliver(pending: dict, leaves: dict, t: Tensor, node: Any, slot: int, g: np.ndarray) -> None:
    """Add g to what _run_backward holds for t: its leaf's sum, or its node's output slot."""
    if node is None:
        prev = leaves.get(id(t))
        leaves[id(t)] = (t, g if prev is None else _sum_grads(prev[1], g))
        return
    slots = pending.get(id(node))
    if slots is None:
        slots = pending[id(node)] = [None] * node.outputs
    prev = slots[slot]
    slots[slot] = g if prev is None else _sum_grads(prev, g)


def _raise_freed() -> None:
    raise RuntimeError(
        "Trying to backward through the graph a second time (or directly access saved "
        "tensors after they have already been freed). Specify retain_graph=True the "
        "first time if you need to backward twice."
    )


def _run_node_hooks(node: _Node, slots: list, graph: bool) -> None:
    """The hooks of the node's outputs, on their complete gradients (Note [Tensor hooks])."""
    for slot, hooks in _NODE_HOOKS[node].items():
        if hooks and slots[slot] is not None:
            slots[slot] = _run_hooks(hooks, slots[slot], graph)


def _leaf_grads_after_hooks(leaves: dict, graph: bool) -> dict:
    out = {}
    for key, (t, g) in leaves.items():
        hooks = _hooks_of(t)
        out[key] = (t, _run_hooks(hooks, g, graph) if hooks else g)
    return out


def _run_backward_graph(
    root: Tensor, grad: Tensor, retain_graph: bool, wanted: Sequence[Tensor]
) -> list | None:
    """_run_backward with create_graph (Note [Double backward]): gradients are Tensors and
    every node's backward runs as differentiable ops, recorded, so that the gradients that
    come out can be differentiated again."""
    from ._ops.derivatives import differentiable_backward

    pending: dict[int, list] = {}
    leaves: dict[int, tuple[Tensor, Tensor]] = {}
    found: list = [None] * len(wanted)
    wanted_slots = {(id(t._ctx), t._slot): i for i, t in enumerate(wanted) if t._ctx is not None}

    def deliver(t: Tensor, node: _Node | None, slot: int, g: Tensor) -> None:
        if node is None:
            prev = leaves.get(id(t))
            leaves[id(t)] = (t, g if prev is None else prev[1] + g)
            return
        slots = pending.get(id(node))
        if slots is None:
            slots = pending[id(node)] = [None] * node.outputs
        slots[slot] = g if slots[slot] is None else slots[slot] + g

    with enable_grad():
        deliver(root, root._ctx, root._slot, grad)
        for node in reversed(_topo_order(root._ctx)) if root._ctx is not None else ():
            slots = pending.pop(id(node), None)
            if slots is None:
                continue
            if node.backward is None:
                _raise_freed()
            if node.versions is not None:
                _check_versions(node)
            if node in _NODE_HOOKS:
                _run_node_hooks(node, slots, True)
            for slot, g in enumerate(slots):
                i = wanted_slots.get((id(node), slot))
                if i is not None:
                    found[i] = g
            backward = differentiable_backward(node)
            input_grads = backward(node, slots[0] if node.outputs == 1 else tuple(slots))
            for inp, edge, ig in zip(node.inputs, node.edges, input_grads):
                if ig is not None and edge is not None:
                    deliver(inp, edge[0], edge[1], ig)
            if not retain_graph:
                node.backward = None
                node.saved = None
        leaves = _leaf_grads_after_hooks(leaves, True)
    if not wanted:
        _accumulate_into_leaves(leaves.values(), None, graph=True)
        return None
    for i, t in enumerate(wanted):
        if t._ctx is None and id(t) in leaves:
            found[i] = leaves[id(t)][1]
    return found


def _accumulate_into_leaves(
    leaves: Iterable[tuple[Tensor, Any]], root_grad: np.ndarray | None, graph: bool = False
) -> None:
    # Note [Gradient ownership]: a leaf's new .grad takes the computed array without a
    # copy unless its memory was already handed out in this pass (a backward may return
    # one array, or views of it, for several inputs) or belongs to the caller (the root
    # grad). Later passes accumulate into .grad in place, so it must be owned alone.
    # Recorded gradients (graph) are Tensors in a graph: .grad becomes the sum, out of place.
    hooked = _POST_ACCUMULATE_HOOKS if len(_POST_ACCUMULATE_HOOKS) else None
    if graph:
        for t, g in leaves:
            t.grad = g if t.grad is None else t.grad + g
            if hooked is not None and id(t) in hooked:
                _run_post_accumulate_hooks(t)
        return
    handed_out = set() if root_grad is None else {id(_memory_owner(root_grad))}
    for t, g in leaves:
        if t.grad is None:
            owner = _memory_owner(g)
            if id(owner) in handed_out or g.dtype != t.dtype or not g.flags.c_contiguous:
                g = np.array(g, dtype=t.dtype, copy=True)
                owner = g
            handed_out.add(id(owner))
            t.grad = _constant(g)
        else:
            t.grad._array += g
        if hooked is not None and id(t) in hooked:
            _run_post_accumulate_hooks(t)


def _accumulate_pairs(leaves: list[Tensor], grads: list[np.ndarray], root_grad: Any) -> None:
    _accumulate_into_leaves(zip(leaves, grads), root_grad)


def _sum_grads(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b for two gradients of one tensor (a residual stream's, a tied weight's): the
    active backend's add, whose output comes from the buffer pool; numpy's fresh 2 MB
    arrays cost page faults (GPT step: 5 sums took 3.6 ms)."""
    if a.shape == b.shape and a.dtype == b.dtype == np.float32:
        return backend.active.add_forward(a, b)
    return a + b


def _memory_owner(a: np.ndarray) -> np.ndarray:
    """The array that owns a's memory (a itself, or the base of a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _unpickle(cls: type, array: np.ndarray, requires_grad: bool, grad: Any) -> Tensor:
    t = cls.__new__(cls)
    t._array, t.requires_grad, t.grad = array, requires_grad, grad
    t._ctx, t._slot, t._version, t._base, t._view_fn = None, 0, None, None, None
    return t


def _constant(data: np.ndarray) -> Tensor:
    """A leaf over data, without a copy or a conversion: the fast constructor."""
    t = _TensorFields.__new__(Tensor)
    t._array, t.grad, t._ctx, t._slot, t.requires_grad = data, None, None, 0, False
    t._version = t._base = t._view_fn = None
    return t


def grad_needed(*inputs: Tensor | None) -> bool:
    """Whether an op on these inputs will be recorded: grad mode is on and one of them
    requires grad. Ops whose kernels can skip work done only for the backward ask first."""
    if _grad_mode.enabled:
        for t in inputs:
            if t is not None and t.requires_grad:
                return True
    return False


def record(
    out: Any,
    inputs: Sequence[Tensor] = (),
    backward: Callable | None = None,
    saved: Any = None,
    reads: Any = True,
) -> Any:
    """The op's output tensor over the array `out`, or its output tensors over a tuple of
    arrays (None entries stay None); records one node for all of them, (backward, inputs,
    saved), when grad mode is on and an input requires grad.

    `reads`: which inputs' values the backward reads (True: all, False: none, one bool per
    input, or a function of the inputs giving one of those), so that an in-place write to
    one of them before backward raises (Note [Version counter]). An output whose array is
    `saved` (or an item of a saved tuple) is checked the same way.
    """
    node = None
    if backward is not None and _grad_mode.enabled:
        for i in inputs:
            if i.requires_grad:
                n = len(out) if type(out) is tuple else 1
                node = _new_node(backward, tuple(inputs), saved, n, reads)
                break
    if type(out) is not tuple:
        t = _TensorFields.__new__(Tensor)
        t._array, t.grad, t._ctx, t._slot, t.requires_grad = out, None, node, 0, node is not None
        t._version = t._base = t._view_fn = None
        if node is not None and (saved is out or (type(saved) is tuple and _is_saved(out, saved))):
            _watch_output(node, t)
        return t
    outs = []
    for slot, data in enumerate(out):
        t = None
        if data is not None:
            t = _TensorFields.__new__(Tensor)
            t._array, t.grad, t._ctx, t._slot = data, None, node, slot
            t.requires_grad = node is not None
            t._version = t._base = t._view_fn = None
            if node is not None and saved is not None and _is_saved(data, saved):
                _watch_output(node, t)
        outs.append(t)
    return tuple(outs)


def _is_saved(arr: np.ndarray, saved: Any) -> bool:
    if saved is arr:
        return True
    if type(saved) is tuple:
        for s in saved:
            if s is arr:
                return True
    return False


def _watch_output(node: _Node, t: Tensor) -> None:
    """Check at backward that output t, which the backward reads, was not written in place.
    The node keeps its counter (not t: a node holding its output would be a cycle)."""
    t._version = [0]
    if node.versions is None:
        node.versions = []
    node.versions.append((t._version, 0))


def _shared_version(t: Tensor) -> list:
    """t's version counter, created on first use so that a view can share it."""
    if t._version is None:
        t._version = [0]
    return t._version


def base_of(t: Tensor) -> Tensor:
    """The tensor owning t's memory: t, or the base t is a view of."""
    return t if t._base is None else t._base


def view_of(
    x: Tensor, arr: np.ndarray, backward: Callable, saved: Any, view_fn: Callable
) -> Tensor:
    """record() for a view op (Note [Views]): the output over `arr`, which shares x's
    memory, shares x's version counter and names x's base; the backward reads no values.
    view_fn(tensor) -> tensor is the op itself, for replaying it on the base."""
    t = record(arr, (x,), backward, saved, reads=False)
    t._version, t._base = _shared_version(x), base_of(x)
    outer = x._view_fn
    t._view_fn = view_fn if outer is None else (lambda b: view_fn(outer(b)))
    return t


def bump_version(t: Tensor) -> None:
    """Count an in-place write to t's memory (and so to every view sharing its counter)."""
    if t._version is None:
        t._version = [1]
    else:
        t._version[0] += 1


def _check_versions(node: _Node) -> None:
    """Note [Version counter]: raise if a value the node's backward reads was overwritten
    in place after the forward recorded it."""
    for owner, expected in node.versions:
        counter = owner if type(owner) is list else owner._version
        now = 0 if counter is None else counter[0]
        if now != expected:
            what = "an output" if type(owner) is list else f"an input of shape {owner.shape}"
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: {what} of {node.backward.__qualname__} is at version "
                f"{now}; expected version {expected} instead. Use .clone() before the in-place "
                f"write, or write outside the part of the graph that needs it."
            )


def tensor(
    data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A new leaf tensor with a copy of `data` (float data defaults to float32, Python ints
    to int64, NumPy arrays keep their dtype), on the CPU (`device` is checked)."""
    from ._dtypes import dtype_arg

    if device is not None:
        from ._device import device as _device

        _device(device)
    dt = dtype_arg(dtype, "tensor")
    src = data._array if isinstance(data, Tensor) else data
    try:
        arr = _as_array(src, dt)
    except (TypeError, ValueError) as e:
        raise name_argument(e, "tensor", data=src) from None
    if isinstance(src, np.ndarray) and np.may_share_memory(arr, src):
        arr = arr.copy()
    t = _constant(np.asarray(arr, order="C"))
    return t.requires_grad_(requires_grad) if requires_grad else t


def as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """x itself if it is a Tensor, else a constant tensor (scalars take like's dtype)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, (int, float, bool)):
        arr = np.array(x, dtype=like._array.dtype)
    else:
        arr = _as_array(x, None)
    return _constant(arr)


def tensors_of(xs: Iterable[Any]) -> list[Tensor]:
    return [as_tensor(x) for x in xs]
