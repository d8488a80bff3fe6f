"""Kernel threads and the buffer cache: pydl.set_num_threads, get_num_threads, threads,
empty_cache.

threadpoolctl's `threadpool_limits(n)` limits them too (_register_with_threadpoolctl).

Note [Thread count] (cpp/core/parallel.h): set_num_threads sets the process-wide default,
as torch.set_num_threads does; `with pydl.threads(n):` sets the calling Python thread's
own count for the block, which kernels launched from that thread use instead, so one
thread's block does not change the threads of kernels another thread launches. In a
child process made by fork, kernels run on one thread until set_num_threads is called
(Note [Fork] in cpp/core/parallel.cpp).
"""

from __future__ import annotations

import contextlib
import ctypes
import operator
from collections.abc import Iterator

from . import _core

MAX_THREADS: int = _core.MAX_THREADS


def _thread_count(n: object, fn: str) -> int:
    """n as a thread count: an int (bool and float are TypeError) in 1..MAX_THREADS."""
    if isinstance(n, bool):
        raise TypeError(f"{fn} expects an int, got bool")
    try:
        count = operator.index(n)
    except TypeError:
        raise TypeError(f"{fn} expects an int, got {type(n).__name__}") from None
    if not 1 <= count <= MAX_THREADS:
        raise ValueError(f"{fn} expects 1 <= n <= {MAX_THREADS}, got {count}")
    return count


def set_num_threads(n: int) -> None:
    """Set the default number of threads pydl's kernels use (initially OMP_NUM_THREADS or
    the core count), for every thread not inside a `pydl.threads` block.

    Raises TypeError unless n is an int, ValueError unless 1 <= n <= 1024."""
    _core.set_num_threads(_thread_count(n, "set_num_threads"))


def get_num_threads() -> int:
    """The number of threads kernels launched from the calling thread use now."""
    return int(_core.get_num_threads())


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """`with pydl.threads(n):` runs the kernels the calling thread launches in the block
    on n threads; other threads keep theirs. Blocks nest; each restores the count it
    found. In a child made by fork, kernels stay on one thread until set_num_threads
    (Note [Fork]), inside a block too."""
    prev = _core.set_thread_override(_thread_count(n, "threads"))
    try:
        yield
    finally:
        _core.set_thread_override(prev)


def empty_cache() -> int:
    """Free the memory pydl keeps for reuse between steps (output buffers, GEMM and
    convolution scratch); returns the bytes freed."""
    return int(_core.empty_cache())


def _register_with_threadpoolctl() -> None:
    """Makes `threadpoolctl.threadpool_limits(n)` limit pydl's kernel threads as it limits
    NumPy's BLAS: a controller for pydl's extension module, found by threadpoolctl among
    the loaded libraries like any other. Nothing happens when threadpoolctl is not
    installed."""
    try:
        import threadpoolctl
    except ImportError:
        return

    class PydlController(threadpoolctl.LibController):
        user_api = "pydl"
        internal_api = "pydl"
        # the module's file name; other `_core` modules (SciPy's) lack the symbol in
        # check_symbols, so threadpoolctl passes over them once it has built their controller
        filename_prefixes = ("_core",)
        check_symbols = ("pydl_threadpool_get_num_threads",)

        def get_num_threads(self) -> int:
            return self.dynlib.pydl_threadpool_get_num_threads()

        def set_num_threads(self, num_threads: int) -> None:
            self.dynlib.pydl_threadpool_set_num_threads(num_threads)

        def get_version(self) -> str | None:
            # runs while the controller is built, before threadpoolctl checks the symbols
            version = getattr(self.dynlib, "pydl_threadpool_version", None)
            if version is None:
                return None
            version.restype = ctypes.c_char_p
            return version().decode()

    threadpoolctl.register(PydlController)
