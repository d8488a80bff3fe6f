"""pydl.compile: record a training step's kernel calls once and replay them
(Note [Whole-step capture]).

Note [Whole-step capture]
~~~~~~~~~~~~~~~~~~~~~~~~~
Every kernel runs through `backend.active`, so a step's work is the sequence of backend
calls it makes. `compile(step)` runs the first two calls of the step eagerly with
`backend.active` swapped for a recorder, and from the third call on replays the second
recording: the same kernels on the same arguments in the same order, without the Python
of modules, ops and the autograd walk between them. Results are bit-identical to eager
because the replay is the eager step's own kernel calls. Two recordings, because what
differs between them tells a value the step makes from memory that persists.

Each argument of a recorded call is one of:
- an input: an array or tensor argument of the step (bound anew on every call);
- a value the step made: an earlier call's result, or a view of one;
- persistent memory: the same array object in both recordings (parameters, optimizer
  state, constants the model caches), or a view of one; passed as it is, so in-place
  kernel writes (the optimizer's) land where eager puts them;
- a snapshot: an array the step made in Python from Python values alone (zeros for an
  initial state, a causal mask, a factory's tensor, a number promoted to an array), marked
  by `snapshot()`; equal in both recordings, and copied anew by each replay;
- a number a live call returned (below) that differs between the recordings: the random
  stream's offset, fed to dropout's kernels;
- a Python value (a scalar, a flag): frozen, so it must be equal in both recordings.

Python side effects are the hard part: a step sets `.grad`, bumps step counts and draws
random numbers in Python. The engine marks those places with `live(fn, *args)`: the call
is recorded whole and replayed by calling fn again (the optimizer's step and zero_grad,
gradient accumulation into leaves, gradient clipping, BatchNorm's batch count, the random
stream, copies into tensors, the scatter of a sliced tensor's gradient). The kernels a
live call runs are not recorded: it runs them itself.

What a recording cannot reproduce refuses it, and the step then runs eagerly with a
one-line warning (`fullgraph=True` raises CaptureError instead):
- an array made by NumPy in Python during the step and passed to a kernel;
- a Python value passed to a kernel that differs between the recordings (a norm read back
  to scale something, a step count computed in the step);
- a read of a tensor's value on the host (`item`, `bool`, `tolist`, `numpy`, `repr`), since
  Python may branch on it; hooks; double backward and autograd.grad; collectives; giving a
  tensor another array (`.data =`) inside the step; kernels that differ between the
  recordings three times running (control flow on Python state).

The replay is guarded: a new signature (shapes, dtypes and requires_grad of the tensor
arguments, the other arguments' values, grad mode, autocast, backend) records anew, as do
a module switched between train and eval, a parameter or buffer replaced in its module,
and a tensor given another array anywhere or a new random seed (`changed()`: `.data =`,
`model.bfloat16()`, `manual_seed`), and so do other objects in the step's closure or
globals (another fold's model).
Memory: each value is released after its last use, so the core's buffer pool hands its
block to the next op, as eager's reference counts do. The ops run in C++ (`_core.Replay`,
Note [Native replay] in cpp/bindings/replay.cpp): a kernel call is bound once, when the
plan is made, and called with no Python frame or pybind11 dispatch; live calls and the
plan's helpers (views, packs, snapshot copies) are called through Python. `python_ops`
lists those. Adjacent kernel calls whose intermediate nothing else reads are fused into one
kernel first (Note [Fusion in the plan] in pydl/_fusion.py); `fused` lists them.
"""

from __future__ import annotations

import functools
import threading
import types
import warnings
import weakref
from typing import Any, Callable

import numpy as np

from . import _core, backend
from ._fusion import fuse

#: The trace being recorded, or None. The engine's hooks below read it.
recording: _Trace | None = None
_record_lock = threading.Lock()  # one recording at a time: backend.active is process-wide
_RECORD_TRIES = 3  # recordings whose kernel sequences differ before giving up
generation = 0  # counts changed(): a plan replays only in the generation it was made in
_recorder_thread: int | None = None  # the thread inside _record (live calls included)


class CaptureError(RuntimeError):
    """A step pydl.compile(..., fullgraph=True) cannot capture."""


# ----- hooks the engine calls -----------------------------------------------------------
def live(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs). While a step is recorded, the call is recorded whole, to be
    replayed by calling fn again: for Python that changes state besides kernel outputs."""
    trace = recording
    if trace is None or trace.thread != threading.get_ident():
        return fn(*args, **kwargs)
    return trace.call(fn, args, kwargs or None)


def replayed_whole(method: Callable) -> Callable:
    """A method that changes state in Python (a scheduler's step): under pydl.compile's
    recording it is a live call of the undecorated method, which the replay repeats."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if here():
            return live(method.__get__(self), *args, **kwargs)
        return method(self, *args, **kwargs)

    return wrapper


def here() -> bool:
    """Whether the calling thread is recording a step: the test of the hooks that call
    live() on themselves (another thread's recording must leave them alone)."""
    trace = recording
    return trace is not None and trace.thread == threading.get_ident()


def snapshot(array: np.ndarray) -> np.ndarray:
    """An array the step makes in Python from Python values alone (zeros for an initial
    state, a causal mask, a factory's tensor): a replay makes a copy of its recorded values,
    and the two recordings must agree on them."""
    if here():
        made = _owner(array)  # its values now: the step may write into it later
        recording.snapshots[id(made)] = (made, made.copy())
    return array


def changed() -> None:
    """State a replay depends on changed outside the kernels: a tensor now holds another
    array (`.data =`, a module's dtype change), the random seed was set. The recorded steps
    may hold the old state, so each records again before its next replay."""
    global generation
    generation += 1


def refuse(why: str) -> None:
    """Mark the recording of the calling thread as not replayable, for this reason."""
    if here() and recording.reason is None:
        recording.reason = why


def host_read(what: str) -> None:
    """A tensor's value is being read on the host."""
    refuse(f"the step reads a tensor's value on the host ({what}), and Python may branch on it")


def saw_module(module: Any) -> None:
    """A module is being called: its mode and parameters guard the replay."""
    if not here():
        return
    recording.modules[id(module)] = module
    if any(module.__dict__[name] for name in _HOOKS):
        refuse(f"{type(module).__name__} has hooks, which run Python the replay would skip")


# ----- recording ------------------------------------------------------------------------
class _Trace:
    """One recorded call of the step: every backend call and live call, in order."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.thread = threading.get_ident()
        self.calls: list[tuple[Callable, tuple, dict | None, Any]] = []
        self.modules: dict[int, Any] = {}
        self.snapshots: dict[int, tuple] = {}  # id -> (array given to snapshot(), its values)
        self.reason: str | None = None
        self.proxy = _Recorder(self)

    def call(self, fn: Callable, args: tuple, kwargs: dict | None) -> Any:
        global recording
        recording, backend.active = None, self.real  # what fn calls runs as it would eagerly
        try:
            result = fn(*args, **kwargs) if kwargs else fn(*args)
        finally:
            recording, backend.active = self, self.proxy
        self.calls.append((fn, args, kwargs, result))
        return result


class _Recorder:
    """Stands in for the backend module while a step is recorded."""

    def __init__(self, trace: _Trace) -> None:
        self._trace = trace

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._trace.real, name)
        if not callable(fn):
            return fn
        trace = self._trace

        def recorded(*args: Any, **kwargs: Any) -> Any:
            if trace.thread != threading.get_ident():  # another thread's eager op
                return fn(*args, **kwargs)
            return trace.call(fn, args, kwargs)

        recorded.__name__ = name
        return recorded


def _record(step: Callable, args: tuple, kwargs: dict) -> tuple[_Trace, Any]:
    global recording, _recorder_thread
    with _record_lock:
        trace = _Trace(backend.active)
        before = generation
        recording, backend.active = trace, trace.proxy
        _recorder_thread = trace.thread
        try:
            result = step(*args, **kwargs)
        finally:
            recording, backend.active, _recorder_thread = None, trace.real, None
            trace.proxy = None  # no cycle: the recorded arrays go as soon as the trace does
    if generation != before and trace.reason is None:
        trace.reason = (
            "the step changes state a replay could not see (a tensor given another array by "
            "`.data =` or a dtype change, the random seed)"
        )
    return trace, result


class _Weak:
    """An array of a first recording, kept without keeping it alive (a recording of a big
    step holds every activation): what _Plan asks of it. `array()` is the array while it
    lives, which is what a persistent one does."""

    __slots__ = ("array", "owner", "layout", "snapshot")

    def __init__(self, a: np.ndarray, snapshots: dict) -> None:
        owner = _owner(a)
        self.array, self.owner = weakref.ref(a), weakref.ref(owner)
        self.layout = (_address(a), a.shape, a.strides)
        made = snapshots.get(id(owner))
        self.snapshot = None if made is None else made[1]


def _weakened(value: Any, snapshots: dict) -> Any:
    if isinstance(value, np.ndarray):
        return _Weak(value, snapshots)
    if isinstance(value, (tuple, list)):
        return _pack(type(value), *(_weakened(x, snapshots) for x in value))
    if isinstance(value, dict):
        return {k: _weakened(x, snapshots) for k, x in value.items()}
    return value


def _weaken(trace: _Trace) -> None:
    """The trace as a first recording: its arrays as _Weak (tensors, which persist or are
    small results, stay)."""
    s = trace.snapshots
    trace.calls = [
        (fn, _weakened(args, s), _weakened(kwargs, s), _weakened(result, s))
        for fn, args, kwargs, result in trace.calls
    ]
    trace.snapshots = {}


# ----- the plan -------------------------------------------------------------------------
class _Refused(Exception):
    pass


def _owner(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _view(base: np.ndarray, spec: tuple) -> np.ndarray:
    """The view `spec` = (offset in bytes from base's first element, shape, strides, dtype)
    of base's memory."""
    offset, shape, strides, dtype = spec
    owner = _owner(base)
    start = _address(base) - _address(owner) + offset
    return np.ndarray(shape, dtype, buffer=owner, offset=start, strides=strides)


def _pack(kind: type, *items: Any) -> Any:
    return kind._make(items) if hasattr(kind, "_make") else kind(items)  # a namedtuple too


def _name(fn: Callable) -> str:
    if isinstance(fn, types.MethodType):
        return fn.__qualname__
    return getattr(fn, "__name__", repr(fn))


def _equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - values without a truth value (arrays in a dict)
        return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_engine: tuple = ()  # (Tensor, the grad mode, the autocast state): tensor imports this module


def _engine_parts() -> tuple:
    global _engine
    if not _engine:
        from .amp import _state
        from .tensor import Tensor, _grad_mode

        _engine = (Tensor, _grad_mode, _state)
    return _engine


def _is_tensor(value: Any) -> bool:
    return isinstance(value, (_engine or _engine_parts())[0])


class _Plan:
    """The replayable form of two recordings of a step (Note [Whole-step capture]): ops on
    a table of values. An op is (fn, argument indices, keyword names, where its results go,
    indices to release after it). Releasing each intermediate after its last use hands its
    buffer back to the core's pool for the ops after it, as eager's reference counts do."""

    def __init__(self, fn: Callable, a: _Trace, b: _Trace, inputs_b: list) -> None:
        self.values: list[Any] = []  # constants in place; inputs and results per call
        self._constant: set[int] = set()
        self._known: dict[int, int] = {}  # id(array or input tensor of b) -> value index
        self._array_at: dict[int, np.ndarray] = {}  # value index -> b's array
        self._by_owner: dict[int, list[int]] = {}  # id(memory owner) -> value indices
        self._snapshots = b.snapshots
        self._numbers: list[tuple[Any, Any, int]] = []  # (in a, in b, index): live results
        self.inputs = [self._input(x) for x in inputs_b]
        self._ops: list[tuple] = []
        for i, ((_, args_a, kw_a, result_a), (fb, args_b, kw_b, result)) in enumerate(
            zip(a.calls, b.calls)
        ):
            where = f"{_name(fb)} (call {i + 1} of the step)"
            ins = [self._arg(x, y, f"{where}, argument {j + 1}")
                   for j, (x, y) in enumerate(zip(args_a, args_b))]  # fmt: skip
            names = tuple(kw_b) if kw_b else ()
            ins += [self._arg(kw_a[k], kw_b[k], f"{where}, argument {k}") for k in names]
            outs: list[tuple[int, tuple]] = []
            self._results(result_a, result, (), outs)
            self._ops.append((fb, tuple(ins), names, tuple(outs)))
        self.generation = generation
        modules = {id(m): m for seen in b.modules.values() for m in seen.modules()}
        self.guards = [_guard(m) for m in modules.values()]  # Sequential calls its own
        from .tensor import _LEAF_HOOKS, _NODE_HOOKS, _POST_ACCUMULATE_HOOKS

        self.hooks = (_NODE_HOOKS, _LEAF_HOOKS, _POST_ACCUMULATE_HOOKS)  # empty when recorded
        self.cells, self.names = _free_variables(fn)
        self.grads = self._grads_read(modules.values())

    def _grads_read(self, modules: Any) -> list[tuple[Any, np.ndarray]]:
        """(parameter, its .grad array) for each gradient a kernel of the step reads as
        persistent memory (gradients accumulated over calls): a zero_grad outside the step
        that drops them must record the step again."""
        constants = {id(_owner(v)) for i, v in enumerate(self.values)
                     if i in self._constant and isinstance(v, np.ndarray)}  # fmt: skip
        return [
            (t, t.grad._array)
            for m in modules
            for t in m.__dict__["_parameters"].values()
            if t is not None and t.grad is not None and id(_owner(t.grad._array)) in constants
        ]

    def finish(self, result_a: Any, result_b: Any) -> None:
        """What the step returns, then when each value dies."""
        self.result = self._returned(result_a, result_b, "the step's result")
        # Note [Fusion in the plan]
        kept = self._constant | set(_indices(self.result)) | {i for x in self.inputs for i in x}
        self._ops, self.fused = fuse(
            self._ops, kept, lambda value: self._slot(value, constant=True), self._recorded
        )
        last: dict[int, int] = {}
        for k, (_, ins, _, outs) in enumerate(self._ops):
            for i in ins:
                last[i] = k
            for i, _ in outs:
                last.setdefault(i, k)
        for i in self.inputs:
            last.setdefault(i[-1], -1)
        kept = self._constant | set(_indices(self.result))
        release: list[list[int]] = [[] for _ in self._ops]
        for i, k in last.items():
            if i not in kept and k >= 0:
                release[k].append(i)
        constant = [i in self._constant for i in range(len(self.values))]
        self.replay = _core.Replay(self.values, constant)  # Note [Native replay]
        self.python_ops: list[str] = []  # what the replay calls through Python, in order
        for (fn, ins, names, outs), r in zip(self._ops, release):
            if not self.replay.add(fn, ins, names, [(i, list(path)) for i, path in outs], r):
                self.python_ops.append(_name(fn))
        del self._known, self._array_at, self._by_owner, self._ops, self._snapshots  # b's

    # -- building --
    def _recorded(self, i: int) -> tuple | None:
        """(shape, dtype) of value i if it is an array: as recording b made it, or a constant."""
        a = self._array_at.get(i)
        if a is None and i in self._constant:
            a = self.values[i]
        return (a.shape, a.dtype) if isinstance(a, np.ndarray) else None

    def _slot(self, value: Any = None, constant: bool = False) -> int:
        self.values.append(value if constant else None)
        i = len(self.values) - 1
        if constant:
            self._constant.add(i)
        return i

    def _name_array(self, i: int, array: np.ndarray) -> None:
        self._known[id(array)] = i
        self._array_at[i] = array
        self._by_owner.setdefault(id(_owner(array)), []).append(i)

    def _input(self, x: Any) -> tuple[int, ...]:
        """Value indices of an input: (array,) or (tensor, its array)."""
        if isinstance(x, np.ndarray):
            i = self._slot()
            self._name_array(i, x)
            return (i,)
        t, i = self._slot(), self._slot()
        self._known[id(x)] = t
        self._name_array(i, x._array)
        return (t, i)

    def _results(self, a: Any, value: Any, path: tuple, outs: list) -> None:
        """Where call results go (a: the same result in recording a). A number that differs
        between the recordings (a random stream's offset) is a value too: an argument
        equal to it in both recordings is taken to be it."""
        if isinstance(value, np.ndarray):
            i = self._slot()
            self._name_array(i, value)
            outs.append((i, path))
        elif isinstance(value, (tuple, list)):
            for k, item in enumerate(value):
                x = a[k] if isinstance(a, (tuple, list)) and len(a) == len(value) else None
                self._results(x, item, path + (k,), outs)
        elif isinstance(value, dict):
            for k, item in value.items():
                self._results(a.get(k) if isinstance(a, dict) else None, item, path + (k,), outs)
        elif _is_tensor(value):
            self._results(None, value._array, path + (None,), outs)  # None: the tensor's array
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and a != value:
            i = self._slot()
            self._numbers.append((a, value, i))
            outs.append((i, path))

    def _op(self, fn: Callable, ins: tuple, out: Any) -> int:
        i = self._slot()
        if isinstance(out, np.ndarray):
            self._name_array(i, out)
        self._ops.append((fn, ins, (), ((i, ()),)))
        return i

    def _arg(self, a: Any, b: Any, where: str) -> int:
        """The value index of argument b of recording b (a: the same argument in a)."""
        if isinstance(b, np.ndarray):
            return self._array(a, b, where)
        i = self._known.get(id(b))
        if i is not None:  # an input tensor
            return i
        if isinstance(b, (tuple, list)) and type(a) is type(b) and len(a) == len(b):
            items = [self._arg(x, y, f"{where}[{k}]") for k, (x, y) in enumerate(zip(a, b))]
            if all(i in self._constant for i in items):
                return self._slot(b, constant=True)
            return self._op(_pack, (self._slot(type(b), constant=True), *items), None)
        if a is b or _equal(a, b):
            return self._slot(b, constant=True)
        i = self._fed_number(a, b)
        if i is not None:
            return i
        if _is_tensor(b):
            raise _Refused(f"{where} is a tensor made during the step")
        raise _Refused(
            f"{where} changes between calls ({_short(a)}, then {_short(b)}): the replay "
            "would freeze a Python value the step computes"
        )

    def _fed_number(self, a: Any, b: Any) -> int | None:
        """The value index of the live result that was a in recording a and b in b."""
        for x, y, i in reversed(self._numbers):
            if _equal(x, a) and _equal(y, b):
                return i
        return None

    def _array(self, a: Any, b: np.ndarray, where: str) -> int:
        """The value index of array b (a: the same argument in recording a, a _Weak)."""
        i = self._known.get(id(b))
        if i is not None:
            return i
        if isinstance(a, np.ndarray):  # in the first call's result, which stays alive
            a = _Weak(a, {})
        elif not isinstance(a, _Weak):
            a = None
        if a is not None and a.array() is b:  # the same memory on every call: a parameter
            return self._slot(b, constant=True)
        for i in reversed(self._by_owner.get(id(_owner(b)), ())):
            offset = _address(b) - _address(self._array_at[i])
            if offset >= 0:  # a view of a value the step made, or of an input
                spec = self._slot((offset, b.shape, b.strides, b.dtype), constant=True)
                return self._op(_view, (i, spec), b)
        if id(_owner(b)) in self._snapshots:
            return self._snapshot(a, b, where)
        if a is not None and a.owner() is _owner(b) and a.layout == (
            _address(b), b.shape, b.strides):  # fmt: skip
            return self._slot(b, constant=True)  # a view of persistent memory, made anew
        raise _Refused(
            f"{where} (an array of shape {b.shape}, {b.dtype}) was made outside the kernels "
            "during the step (by NumPy in Python)"
        )

    def _snapshot(self, a: _Weak | None, b: np.ndarray, where: str) -> int:
        """b, or a view of an array given to snapshot(): a copy of its values then."""
        made, values = self._snapshots[id(_owner(b))]
        other = None if a is None else a.snapshot
        same = other is not None and other.dtype == values.dtype
        if not (same and np.array_equal(other, values, equal_nan=True)):
            raise _Refused(
                f"{where} (an array of shape {b.shape}, {b.dtype}) was made in Python from "
                "values that change between calls"
            )
        self._op(np.array, (self._slot(values, constant=True),), made)
        return self._array(a, b, where)

    def _returned(self, a: Any, b: Any, where: str) -> tuple:
        """How to rebuild the step's result b from the values (a: the first recording's)."""
        if isinstance(b, np.ndarray):
            return ("value", self._array(a, b, where))
        if _is_tensor(b):
            node = b._ctx
            if node is not None and node.backward is not None:
                raise _Refused(
                    f"{where} is a tensor whose graph a later backward could use: compile "
                    "the whole training step (forward, backward and optimizer step), or "
                    "run inference under pydl.no_grad()"
                )
            if not _is_tensor(a):
                raise _Refused(f"{where} changes type between calls")
            return ("tensor", self._array(a._array, b._array, where))
        if isinstance(b, (tuple, list)) and type(a) is type(b) and len(a) == len(b):
            items = [self._returned(x, y, f"{where}[{k}]") for k, (x, y) in enumerate(zip(a, b))]
            return ("seq", type(b), items)
        if isinstance(b, dict) and isinstance(a, dict) and a.keys() == b.keys():
            return ("dict", [(k, self._returned(a[k], b[k], f"{where}[{k!r}]")) for k in b])
        if a is b or _equal(a, b):
            return ("const", b)
        i = self._fed_number(a, b)
        if i is not None:
            return ("value", i)
        raise _Refused(
            f"{where} changes between calls ({_short(a)}, then {_short(b)}): return tensors, "
            "not Python numbers read from them"
        )

    # -- replay --
    def guards_hold(self) -> bool:
        if self.generation != generation or any(len(h) for h in self.hooks):
            return False
        for cell, value in self.cells:
            if cell.cell_contents is not value:
                return False
        for names, name, value in self.names:
            if names.get(name, _MISSING) is not value:
                return False
        for t, array in self.grads:
            if t.grad is None or t.grad._array is not array:
                return False
        return all(_module_holds(guard) for guard in self.guards)

    def run(self, inputs: list) -> Any:
        v = self.values.copy()
        for where, x in zip(self.inputs, inputs):
            if len(where) == 2:
                v[where[0]], v[where[1]] = x, x._array
            else:
                v[where[0]] = x
        self.replay.run(v)
        return _rebuild(self.result, v)


_MISSING = object()
_SETTINGS = (bool, int, float, str, type(None))
_HOOKS = ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks", "_backward_pre_hooks")


def _guard(module: Any) -> tuple:
    """What a module's replay depends on besides shapes: its settings (the scalar
    attributes: training, a dropout's p, a norm's momentum), no hooks, the same submodules,
    parameters and buffers, and the same array and requires_grad in each tensor."""
    d = module.__dict__
    settings = [(k, v) for k, v in d.items() if not k.startswith("_") and type(v) in _SETTINGS]
    tables = (d["_modules"], d["_parameters"], d["_buffers"])
    members = [(table, name, m) for table in tables for name, m in table.items()]
    tensors = [(t, t._array, t.requires_grad) for table in tables[1:] for t in table.values()
               if t is not None]  # fmt: skip
    return (d, settings, members, tensors)


def _module_holds(guard: tuple) -> bool:
    d, settings, members, tensors = guard
    for name, value in settings:
        now = d.get(name, _MISSING)
        if now is not value and now != value:
            return False
    for name in _HOOKS:
        if d[name]:
            return False
    for table, name, member in members:
        if table.get(name, _MISSING) is not member:
            return False
    for t, array, requires_grad in tensors:
        if t._array is not array or t.requires_grad is not requires_grad:
            return False
    return True


def _free_variables(fn: Any) -> tuple[list, list]:
    """(closure cells with their contents, (globals, name, value) for the global names the
    step's code reads): a step that closes over another model or optimizer than the one
    recorded (a new fold's) records again."""
    code, cells = getattr(fn, "__code__", None), []
    if code is None:
        return [], []
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            cells.append((cell, cell.cell_contents))
        except ValueError:  # not yet assigned
            pass
    names = fn.__globals__
    return cells, [(names, n, names[n]) for n in code.co_names if n in names]


def _indices(spec: tuple) -> list[int]:
    kind = spec[0]
    if kind in ("value", "tensor"):
        return [spec[1]]
    if kind == "seq":
        return [i for s in spec[2] for i in _indices(s)]
    if kind == "dict":
        return [i for _, s in spec[1] for i in _indices(s)]
    return []


def _rebuild(spec: tuple, v: list) -> Any:
    kind = spec[0]
    if kind == "tensor":
        from .tensor import _constant

        return _constant(v[spec[1]])
    if kind == "value":
        return v[spec[1]]
    if kind == "seq":
        return _pack(spec[1], *(_rebuild(s, v) for s in spec[2]))
    if kind == "dict":
        return {k: _rebuild(s, v) for k, s in spec[1]}
    return spec[1]


# ----- pydl.compile ---------------------------------------------------------------------
def _flatten(value: Any, inputs: list, key: list) -> None:
    """The arrays and tensors among a step's arguments (in order) and its cache key."""
    if isinstance(value, np.ndarray):
        inputs.append(value)
        key.append(("array", value.shape, value.strides, value.dtype))
    elif _is_tensor(value):
        inputs.append(value)
        a = value._array
        key.append(("tensor", a.shape, a.strides, a.dtype, value.requires_grad))
    elif isinstance(value, (tuple, list)):
        key.append((type(value), len(value)))
        for item in value:
            _flatten(item, inputs, key)
    elif isinstance(value, dict):
        key.append((dict, tuple(value)))
        for item in value.values():
            _flatten(item, inputs, key)
    else:
        try:
            hash(value)
            key.append((type(value), value))
        except TypeError:
            key.append(("object", id(value)))


class _Recording:
    """A first recording waiting for its second."""

    def __init__(self, trace: _Trace, result: Any, tries: int) -> None:
        self.trace, self.result, self.tries = trace, result, tries


class CompiledStep:
    """A step function under pydl.compile: recorded on its first two calls with each new
    signature, replayed from then on (Note [Whole-step capture])."""

    _MAX_PLANS = 8  # kept per signature (train and eval, say), the oldest dropped first
    _RECORDINGS = 8  # after this many recordings of a signature, it gives up if recording
    # took more than half its calls (what it reads changes on every call)

    def __init__(self, fn: Callable, fullgraph: bool) -> None:
        self._fn = fn
        self._fullgraph = fullgraph
        self._plans: dict[tuple, list[_Plan]] = {}
        self._first: dict[tuple, _Recording] = {}
        self._eager: dict[tuple, str] = {}  # signature -> why it runs eagerly
        self._counts: dict[tuple, list[int]] = {}  # signature -> [calls, recordings]
        self.replays = 0  # calls that replayed a recording
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _recorder_thread == threading.get_ident():  # inside a recording (or a live call
            return self._fn(*args, **kwargs)  # of one): the recording has these ops
        _, grad_mode, autocast = _engine or _engine_parts()
        inputs: list = []
        key: list = [grad_mode.enabled, autocast.bf16, backend.active]
        if args or kwargs:
            _flatten(args, inputs, key)
            _flatten(kwargs, inputs, key)
            if len(inputs) > 1:  # which inputs share memory: the recording's views assume it
                owners = [id(_owner(x if isinstance(x, np.ndarray) else x._array)) for x in inputs]
                key.append(tuple(owners.index(o) for o in owners))
        sig = tuple(key)
        if sig in self._eager:
            return self._fn(*args, **kwargs)
        counts = self._counts.get(sig) or self._counts.setdefault(sig, [0, 0])
        counts[0] += 1
        for plan in self._plans.get(sig, ()):
            if plan.guards_hold():
                self.replays += 1
                return plan.run(inputs)
        counts[1] += 1
        if counts[1] > self._RECORDINGS and 2 * counts[1] > counts[0]:
            why = "what it reads (modules, parameters, closure variables) keeps changing"
            self._give_up(sig, f"it was recorded {counts[1]} times in {counts[0]} calls: {why}")
            return self._fn(*args, **kwargs)
        trace, result = _record(self._fn, args, kwargs)
        try:
            self._learn(sig, trace, inputs, result)
        except _Refused as e:
            self._give_up(sig, str(e))
        return result

    def _learn(self, sig: tuple, trace: _Trace, inputs: list, result: Any) -> None:
        if trace.reason is not None:
            raise _Refused(trace.reason)
        first = self._first.pop(sig, None)
        if first is None or not _same_sequence(first.trace, trace):
            tries = 1 if first is None else first.tries + 1
            if tries > _RECORD_TRIES:
                why = _difference(first.trace, trace)
                raise _Refused(f"its kernels differ from call to call ({why})")
            _weaken(trace)
            self._first[sig] = _Recording(trace, result, tries)
            return
        try:
            plan = _Plan(self._fn, first.trace, trace, inputs)
            plan.finish(first.result, result)
        except _Refused:
            raise
        except Exception as e:  # noqa: BLE001 - a recording the plan cannot read: eager is safe
            raise _Refused(f"its recording could not be planned ({type(e).__name__}: {e})") from e
        del first, trace  # the recordings' arrays, then the pool's blocks that held them
        _core.empty_cache()
        plans = [p for p in self._plans.get(sig, ()) if p.generation == generation]
        self._plans[sig] = plans[-(self._MAX_PLANS - 1) :] + [plan]

    def _give_up(self, sig: tuple, reason: str) -> None:
        self._first.pop(sig, None)
        self._plans.pop(sig, None)
        self._eager[sig] = reason
        message = f"pydl.compile: {self.__name__} runs eagerly: {reason}"
        if self._fullgraph:
            raise CaptureError(message)
        warnings.warn(message, stacklevel=3)

    def __getattr__(self, name: str) -> Any:
        """The wrapped object's attributes: a compiled module's parameters(), train(),
        state_dict() (as torch.compile's wrapper forwards them)."""
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__dict__["_fn"], name)

    def why_eager(self) -> list[str]:
        """Why the step runs eagerly, for each signature that does (empty: all replay)."""
        return list(self._eager.values())


def _same_sequence(a: _Trace, b: _Trace) -> bool:
    return (
        len(a.calls) == len(b.calls)
        and all(
            _equal(x[0], y[0]) and len(x[1]) == len(y[1]) and list(x[2] or ()) == list(y[2] or ())
            for x, y in zip(a.calls, b.calls)
        )
        and all(m.training is b.modules[k].training for k, m in a.modules.items() if k in b.modules)
        and a.modules.keys() == b.modules.keys()
    )


def _difference(a: _Trace, b: _Trace) -> str:
    for k, (x, y) in enumerate(zip(a.calls, b.calls)):
        if not _equal(x[0], y[0]):
            return f"call {k + 1} was {_name(x[0])}, then {_name(y[0])}"
    if len(a.calls) != len(b.calls):
        return f"{len(a.calls)} calls, then {len(b.calls)}"
    return "a module changed between train and eval"


def compile(  # noqa: A001 - torch.compile's name
    fn: Callable | None = None,
    *,
    fullgraph: bool = False,
    dynamic: Any = None,
    backend: Any = None,
    mode: Any = None,
    options: Any = None,
    disable: bool = False,
) -> Any:
    """Capture a training step (forward, backward, optimizer step) and replay its kernels
    on later calls, as torch.compile is used: `step = pydl.compile(step)` or `@pydl.compile`.

    The first two calls with a new signature (shapes and dtypes of the tensor and array
    arguments, the other arguments' values, grad mode, autocast) run eagerly and are
    recorded; later calls replay the kernels with no Python per op, bit-identical to
    eager (Note [Whole-step capture]). A step the capture cannot reproduce runs eagerly
    with a one-line warning saying why; `fullgraph=True` raises CaptureError instead.
    Tensors the step returns come back without a graph. A replay is tied to the objects it
    recorded: the step's closure variables and globals are checked, but a new model reached
    through a container or an attribute (`state["model"] = other`) is not noticed, so
    compile a new step for a new model. dynamic, backend, mode and options are accepted for
    PyTorch's signature and do nothing; disable=True returns fn.
    """
    if fn is None:
        return lambda f: compile(f, fullgraph=fullgraph, disable=disable)
    if not callable(fn):
        raise TypeError(f"pydl.compile expects a function or a module, got {type(fn).__name__}")
    if disable:
        return fn
    return CompiledStep(fn, fullgraph)
