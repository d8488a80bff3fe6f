"""torch.backends.mps's queries: pydl never runs on Apple's Metal (MPS) devices."""

from __future__ import annotations


def is_available() -> bool:
    """False: pydl runs on CPUs only."""
    return False


def is_built() -> bool:
    """False: pydl has no MPS support built in."""
    return False


__all__ = ["is_available", "is_built"]
