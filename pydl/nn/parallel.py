"""DistributedDataParallel, as torch.nn.parallel's: one model replica per MPI rank, each on
its own shard of the batch, their gradients averaged during backward (pydl.distributed).

Note [Gradient buckets]: the parameters that require grad are grouped, in the reverse of
their registration order (about the order backward produces their gradients), into
buckets of about bucket_cap_mb each, one dtype per bucket. Each parameter has a
gradient-ready hook (Note [Gradient-ready hooks] in pydl/tensor.py); when every parameter of
a bucket has its gradient, the bucket's gradients are copied into its flat buffer and a
non-blocking MPI_Iallreduce (sum) starts on it while the backward pass goes on. When the
last bucket has started, the same hook waits for all of them in order, divides by the world
size and copies the averages back into `.grad`: when backward() returns, every rank holds
the same averaged gradients, and optimizer.step() needs no change.

Every rank must start the same buckets in the same order (MPI matches collectives by
order), which holds when the ranks run the same model with the same graph. A parameter
that gets no gradient in a pass (unused in the loss) leaves its bucket unstarted, and the
optimizer step after that backward uses the gradients as they are, not averaged; the next
forward raises, as PyTorch's DDP does (without find_unused_parameters).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import distributed as dist
from .._dtypes import is_bfloat16
from ..tensor import Tensor, bump_version, no_grad
from .module import Module


def _bucket_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of a bucket of gradients of dtype: MPI has no bfloat16, so bfloat16
    gradients are summed in a float32 bucket and rounded once."""
    return np.dtype(np.float32) if is_bfloat16(dtype) else dtype


class _Bucket:
    def __init__(self, params: list) -> None:
        self.params = params
        self.buffer = np.empty(
            sum(p._array.size for p in params), _bucket_dtype(params[0]._array.dtype)
        )
        # (parameter, its gradient's place in the buffer, in the parameter's shape)
        self.slots, start = [], 0
        for p in params:
            self.slots.append((p, self.buffer[start : start + p._array.size].reshape(p.shape)))
            start += p._array.size
        self.ready = 0
        self.request: Any = None


class DistributedDataParallel(Module):
    """Wrap `module` for data-parallel training over the ranks of pydl.distributed (call
    pydl.distributed.init() first). At construction rank 0's parameters and buffers are
    broadcast to all ranks; each backward averages the gradients across ranks in buckets
    of about bucket_cap_mb MB, overlapped with the rest of the backward pass (Note
    [Gradient buckets]); broadcast_buffers: rank 0's buffers (BatchNorm's running
    statistics) are broadcast before each forward. no_sync() skips the averaging, for
    gradient accumulation."""

    def __init__(
        self,
        module: Module,
        bucket_cap_mb: float = 4.0,
        broadcast_buffers: bool = True,
        **torch_only: Any,
    ) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel: module must be a pydl.nn.Module, got "
                f"{type(module).__name__}"
            )
        unknown = set(torch_only) - {"device_ids", "output_device", "find_unused_parameters"}
        if unknown or torch_only.get("find_unused_parameters"):
            raise TypeError(
                "DistributedDataParallel: unsupported arguments "
                f"{sorted(unknown) or ['find_unused_parameters=True']}"
            )
        if not bucket_cap_mb > 0:
            raise ValueError(
                f"DistributedDataParallel: bucket_cap_mb must be > 0, got {bucket_cap_mb}"
            )
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        self._world = dist._require("DistributedDataParallel")
        with no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(t, 0)
        params = [p for p in module.parameters() if p.requires_grad]
        self._buckets = _make_buckets(params[::-1], bucket_cap_mb * 2**20)
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._started = 0  # buckets started in this backward pass
        # The hooks reach this wrapper weakly and leave with it: the hook registry holds
        # them strongly, and through a bound method it would keep the wrapper, the model
        # and its parameters alive forever.
        me = weakref.ref(self)

        def grad_ready(p: Tensor) -> None:
            ddp = me()
            if ddp is not None:
                ddp._grad_ready(p)

        handles = [p.register_post_accumulate_grad_hook(grad_ready) for p in params]
        weakref.finalize(self, _remove_all, handles)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self._started or any(b.ready for b in self._buckets):
            raise RuntimeError(
                "DistributedDataParallel: the previous backward pass did not finish reducing "
                "gradients: some parameters received no gradient (they were not used to "
                "produce the loss). Every parameter that requires grad must take part in "
                "every step."
            )
        if self.broadcast_buffers and self._world.size > 1:
            with no_grad():
                for b in self.module.buffers():
                    dist.broadcast(b, 0)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside keep their gradients local (accumulating into .grad); the
        first backward after it averages the accumulated gradients."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def _grad_ready(self, p: Tensor) -> None:
        if not self.require_backward_grad_sync:
            return
        mpi = self._world.mpi
        if self._started:  # MPI moves non-blocking collectives on only inside MPI calls
            mpi.Request.Testall([b.request for b in self._buckets if b.request is not None])
        bucket = self._bucket_of[id(p)]
        bucket.ready += 1
        if bucket.ready < len(bucket.params):
            return
        for q, slot in bucket.slots:
            slot[...] = q.grad._array
        bucket.request = self._world.comm.Iallreduce(mpi.IN_PLACE, bucket.buffer, op=mpi.SUM)
        self._started += 1
        if self._started == len(self._buckets):
            self._finish()

    def _finish(self) -> None:
        for bucket in self._buckets:
            bucket.request.Wait()
            bucket.request, bucket.ready = None, 0
            bucket.buffer /= self._world.size
            for q, slot in bucket.slots:
                q.grad._array[...] = slot
                bump_version(q.grad)
        self._started = 0


def _remove_all(handles: list) -> None:
    for h in handles:
        h.remove()


def _make_buckets(params: list, cap_bytes: float) -> list[_Bucket]:
    """Consecutive runs of params of one dtype, each closed once it holds cap_bytes."""
    buckets, run, size = [], [], 0
    for p in params:
        if run and (size >= cap_bytes or p._array.dtype != run[0]._array.dtype):
            buckets.append(_Bucket(run))
            run, size = [], 0
        run.append(p)
        size += p._array.size * _bucket_dtype(p._array.dtype).itemsize
    if run:
        buckets.append(_Bucket(run))
    return buckets
