"""Data-parallel training across processes and machines over MPI, with
torch.distributed's names: init, get_rank, get_world_size, barrier, all_reduce, broadcast,
all_gather, destroy; DistributedDataParallel lives in pydl.nn.parallel (as PyTorch's).

MPI is the transport (mpi4py over MPICH or any MPI library: `pip install "pydl[mpi]"`);
launch with `mpiexec -n N python train.py`. Collectives act in place on tensors' NumPy
buffers, which MPI reads and writes without copies. Every rank must call the same
collectives in the same order (MPI matches them by order); call them from one thread at a
time.

Note [Rank faults]: an exception that nothing catches on one rank would leave the others
waiting forever in their next collective. init() therefore installs an excepthook that
prints the traceback and calls MPI_Abort on COMM_WORLD, which makes mpiexec end every
rank; a rank that is killed is ended the same way by mpiexec itself. Before the abort it
waits a second: the launcher forwards a rank's output asynchronously, and an immediate
abort lost the end of the traceback on the way (1 CI run in about 10: "ValueError: " and
nothing after it).
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from typing import Any

import numpy as np

from .. import _capture
from ..tensor import Tensor, bump_version
from .._dtypes import is_bfloat16, is_floating

__all__ = [
    "ReduceOp",
    "all_gather",
    "all_reduce",
    "barrier",
    "broadcast",
    "destroy",
    "destroy_process_group",
    "get_local_rank",
    "get_local_world_size",
    "get_rank",
    "get_world_size",
    "init",
    "init_process_group",
    "is_available",
    "is_initialized",
]

_INSTALL_HINT = 'pydl.distributed needs mpi4py and an MPI library: pip install "pydl[mpi]"'


class ReduceOp:
    """The reductions of all_reduce, by torch.distributed.ReduceOp's names."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class _World:
    """The process group: COMM_WORLD (or the communicator init() was given)."""

    def __init__(self, mpi: Any, comm: Any) -> None:
        self.mpi, self.comm = mpi, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        node = comm.Split_type(mpi.COMM_TYPE_SHARED)  # the ranks on this machine
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()


_lock = threading.Lock()  # guards _world: init and destroy from several threads
_world: _World | None = None
_previous_excepthook: Any = None


def _mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(_INSTALL_HINT) from e
    return MPI


def is_available() -> bool:
    """Whether mpi4py is installed (found without importing mpi4py.MPI, which would
    initialize MPI in this process)."""
    return importlib.util.find_spec("mpi4py") is not None


def init(comm: Any = None) -> None:
    """Join the process group of the MPI job this process was launched in (COMM_WORLD, or
    an mpi4py communicator), and abort the whole job on an uncaught exception (Note [Rank
    faults]). Run alone (not under mpiexec), this is a group of one."""
    global _world, _previous_excepthook
    mpi = _mpi()
    with _lock:
        if _world is not None:
            raise RuntimeError("pydl.distributed.init: the process group is already initialized")
        _world = _World(mpi, mpi.COMM_WORLD if comm is None else comm)
        if _previous_excepthook is None:
            _previous_excepthook = sys.excepthook
            sys.excepthook = _abort_on_uncaught


def init_process_group(backend: str = "mpi", **kwargs: Any) -> None:
    """torch.distributed.init_process_group's spelling of init(): backend must be "mpi"
    (rank, world size and addresses come from the MPI launcher, not from arguments)."""
    if backend != "mpi":
        raise ValueError(f"pydl.distributed supports the 'mpi' backend only, got {backend!r}")
    unknown = set(kwargs) - {"init_method", "timeout", "world_size", "rank"}
    if unknown:
        raise TypeError(f"init_process_group() got unexpected arguments {sorted(unknown)}")
    init()
    world = _require("init_process_group")
    for name, value in (("world_size", world.size), ("rank", world.rank)):
        given = kwargs.get(name, -1)
        if given not in (-1, None, value):
            destroy()
            raise ValueError(f"init_process_group: {name}={given}, but MPI launched {value}")


_ABORT_DELAY_S = 1.0


def _abort_on_uncaught(kind: type, value: BaseException, tb: Any) -> None:
    _previous_excepthook(kind, value, tb)
    world = _world
    if world is not None and world.size > 1:
        sys.stderr.write(f"pydl.distributed: rank {world.rank} failed; aborting the job\n")
        sys.stderr.flush()
        time.sleep(_ABORT_DELAY_S)  # let mpiexec forward the traceback (Note [Rank faults])
        world.comm.Abort(1)


def is_initialized() -> bool:
    return _world is not None


def _collective(fn: str) -> _World:
    """_require for a call that exchanges data, which pydl.compile cannot replay."""
    _capture.refuse(f"pydl.distributed.{fn} exchanges data with other processes in Python")
    return _require(fn)


def _require(fn: str) -> _World:
    world = _world
    if world is None:
        raise RuntimeError(
            f"pydl.distributed.{fn}: the process group is not initialized; call "
            "pydl.distributed.init() first"
        )
    return world


def destroy() -> None:
    """Leave the process group (MPI itself is finalized at exit)."""
    global _world
    with _lock:
        _world = None


destroy_process_group = destroy


def get_rank() -> int:
    return _require("get_rank").rank


def get_world_size() -> int:
    return _require("get_world_size").size


def get_local_rank() -> int:
    """This process's rank among the ranks on its machine."""
    return _require("get_local_rank").local_rank


def get_local_world_size() -> int:
    """How many ranks of the group run on this machine (its cores are theirs to share)."""
    return _require("get_local_world_size").local_size


def barrier() -> None:
    _collective("barrier").comm.Barrier()


def _buffer(t: Any, fn: str, name: str = "tensor") -> np.ndarray:
    """t's array, which MPI reads and writes in place: a C-contiguous tensor."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be a Tensor, not {type(t).__name__}")
    arr = t._array
    if not arr.flags.c_contiguous or not arr.flags.writeable:
        raise ValueError(f"{fn}(): {name} must be a contiguous, writable tensor")
    return arr


def _bits(arr: np.ndarray) -> np.ndarray:
    """arr as MPI can send it: bfloat16's bits as uint16 (MPI has no bfloat16)."""
    return arr.view(np.uint16) if is_bfloat16(arr.dtype) else arr


def _mpi_op(mpi: Any, op: str) -> Any:
    ops = {"sum": mpi.SUM, "avg": mpi.SUM, "product": mpi.PROD, "min": mpi.MIN, "max": mpi.MAX}
    if op not in ops:
        raise ValueError(f"all_reduce(): op must be one of {sorted(ops)}, got {op!r}")
    return ops[op]


def all_reduce(tensor: Tensor, op: str = ReduceOp.SUM) -> None:
    """Reduce `tensor` over all ranks, in place, leaving the result on every rank."""
    world = _collective("all_reduce")
    arr = _buffer(tensor, "all_reduce")
    if op == ReduceOp.AVG and not is_floating(arr.dtype):
        raise ValueError(f"all_reduce(): op 'avg' needs a floating tensor, got {arr.dtype}")
    # MPI has no bfloat16: a bfloat16 tensor is reduced in float32 and rounded once
    acc = arr.astype(np.float32) if is_bfloat16(arr.dtype) else arr
    world.comm.Allreduce(world.mpi.IN_PLACE, acc, op=_mpi_op(world.mpi, op))
    if op == ReduceOp.AVG:
        acc /= world.size
    if acc is not arr:
        arr[...] = acc
    bump_version(tensor)


def broadcast(tensor: Tensor, src: int = 0) -> None:
    """Copy rank src's `tensor` into every rank's, in place."""
    world = _collective("broadcast")
    if not 0 <= src < world.size:
        raise ValueError(f"broadcast(): src must be in [0, {world.size - 1}], got {src}")
    world.comm.Bcast(_bits(_buffer(tensor, "broadcast")), root=src)
    bump_version(tensor)


def all_gather(tensor_list: list, tensor: Tensor) -> None:
    """Fill tensor_list[r] with rank r's `tensor` (one entry per rank, of its shape and
    dtype), as torch.distributed.all_gather."""
    world = _collective("all_gather")
    arr = _buffer(tensor, "all_gather")
    if len(tensor_list) != world.size:
        raise ValueError(
            f"all_gather(): tensor_list has {len(tensor_list)} entries for {world.size} ranks"
        )
    outs = [_buffer(t, "all_gather", "tensor_list entry") for t in tensor_list]
    for out in outs:
        if out.shape != arr.shape or out.dtype != arr.dtype:
            raise ValueError(
                f"all_gather(): every tensor_list entry must have the tensor's shape "
                f"{arr.shape} and dtype {arr.dtype}, got {out.shape} {out.dtype}"
            )
    gathered = np.empty((world.size,) + arr.shape, arr.dtype)
    world.comm.Allgather(_bits(arr), _bits(gathered))
    for t, out, part in zip(tensor_list, outs, gathered):
        out[...] = part
        bump_version(t)
