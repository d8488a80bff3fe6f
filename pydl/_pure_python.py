"""PYDL_PURE_PYTHON=1: import pydl's modules from their .py sources, bypassing the
Cython-compiled engine modules beside them (Note [Compiled engine] in CMakeLists.txt), so
the readable source can be run, debugged and tested as is on an install that has both."""

from __future__ import annotations

import importlib.util
import os
import sys
from importlib.machinery import ModuleSpec


class _SourceFirst:
    """A meta path finder: a pydl module that has a .py source loads from it."""

    @staticmethod
    def find_spec(name: str, path: list[str] | None, target: object = None) -> ModuleSpec | None:
        if path is None or not name.startswith("pydl."):
            return None
        leaf = name.rpartition(".")[2]
        for folder in path:
            if os.path.isfile(os.path.join(folder, leaf, "__init__.py")):
                return None  # a package comes first, as for Python's own finder
            source = os.path.join(folder, leaf + ".py")
            if os.path.isfile(source):
                return importlib.util.spec_from_file_location(name, source)
        return None  # the C++ core: the usual finders


def requested() -> bool:
    """PYDL_PURE_PYTHON set to anything but "" or "0"."""
    return os.environ.get("PYDL_PURE_PYTHON", "0") not in ("", "0")


def install() -> None:
    if not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst())
