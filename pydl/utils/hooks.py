"""torch.utils.hooks's name for the handle register_*hook returns."""

from .._hooks import RemovableHandle

__all__ = ["RemovableHandle"]
