"""The handle every register_*hook returns (torch.utils.hooks.RemovableHandle): tensor hooks
(pydl/tensor.py) and module hooks (pydl/nn/_hooks.py) keep theirs in ordered dicts by id."""

from __future__ import annotations

import itertools
from collections import OrderedDict


class RemovableHandle:
    """remove() unregisters the hook (also as a context manager: the hook lives for the
    `with` block). `extra`: another set of ids the hook's id is dropped from too."""

    _next_id = itertools.count()

    def __init__(self, hooks: OrderedDict, extra: set | None = None) -> None:
        self.hooks_dict_ref, self._extra = hooks, extra
        self.id = next(RemovableHandle._next_id)

    def remove(self) -> None:
        self.hooks_dict_ref.pop(self.id, None)
        if self._extra is not None:
            self._extra.discard(self.id)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
