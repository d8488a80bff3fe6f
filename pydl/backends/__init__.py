"""torch.backends' accelerator queries for a CPU-only runtime (Note [Accelerator devices] in
pydl/_device.py). Not to be confused with `pydl.backend`, which picks the kernel backend."""

from . import mps

__all__ = ["mps"]
