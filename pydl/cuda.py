"""torch.cuda's queries, answered for a CPU-only runtime (Note [Accelerator devices] in
pydl/_device.py): no CUDA device is ever available."""

from __future__ import annotations


def is_available() -> bool:
    """False: pydl runs on CPUs only."""
    return False


def device_count() -> int:
    """0: pydl sees no CUDA devices."""
    return 0


__all__ = ["device_count", "is_available"]
