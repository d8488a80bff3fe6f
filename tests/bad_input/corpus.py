"""The bad-input corpus: cases, and how one is run and classified (Note [Bad-input corpus]).

Note [Bad-input corpus]: every case is a call that must either raise a clear exception (the
type PyTorch would raise, or ValueError/TypeError/IndexError, whose message matches the
case's pattern: the argument, the value, what was expected) or, for `works` cases (unusual
but valid input: non-contiguous and negative-stride arrays, zero-size, Python scalars and
lists), return normally and pass the case's own check. A case runs in a child process
(runner.py), so a crash or a hang is classified, not suffered: the test session survives and
says which case did it. Anything but `clear` / `ok` fails CI:

    clear     raised the expected type, message matched      (required of `bad` cases)
    ok        returned and its check passed                   (required of `works` cases)
    unclear   raised another type, or a message that does not say what was wrong
    accepted  a `bad` case returned normally: bad input silently accepted
    wrong     a `works` case raised or failed its check
    printed   the library wrote to stdout/stderr (it may print only progress bars asked for)
    crash     the child died (a signal, an abort)
    hang      the case ran past the timeout

Cases live in cases_*.py, each a list CASES built with `bad` and `works`; ids are unique.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import pydl


@dataclass(frozen=True)
class Case:
    id: str
    fn: Callable[[], Any]
    raises: tuple[type[BaseException], ...] | None  # None: a `works` case
    match: str = ""  # a regex the message must contain (searched case-insensitively)

    def run(self) -> tuple[str, str]:
        """Runs the case here and classifies it: (class, detail)."""
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                result = self.fn()
        except BaseException as e:  # noqa: BLE001 - SystemExit from the CLI is a case too
            if isinstance(e, KeyboardInterrupt):
                raise
            message = f"{type(e).__name__}: {e}"
            if isinstance(e, SystemExit):  # argparse: the message is on stderr
                message += "\n" + err.getvalue()
            if self.raises is None:
                return "wrong", traceback.format_exc(limit=-3)
            if not isinstance(e, self.raises):
                return "unclear", f"expected {_names(self.raises)}, got {message}"
            if not re.search(self.match, message, re.IGNORECASE | re.DOTALL):
                return "unclear", f"message does not match {self.match!r}: {message}"
            if not isinstance(e, SystemExit) and (out.getvalue() or err.getvalue()):
                return "printed", _printed(out, err)
            return "clear", message
        if out.getvalue() or err.getvalue():
            return "printed", _printed(out, err)
        if self.raises is not None:
            return "accepted", f"returned {_short(result)}; expected {_names(self.raises)}"
        return "ok", ""


def _names(types: tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in types)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 200 else text[:200] + "..."


def _printed(out: io.StringIO, err: io.StringIO) -> str:
    return f"stdout {out.getvalue()[-300:]!r} stderr {err.getvalue()[-300:]!r}"


def _as_tuple(raises: type | tuple[type, ...]) -> tuple[type, ...]:
    return raises if isinstance(raises, tuple) else (raises,)


def bad(cases: list[Case], id: str, fn: Callable[[], Any], raises, match: str) -> None:
    """A bad input: fn must raise `raises` (a type or a tuple) with a message matching
    `match`, which should name the argument and the value."""
    cases.append(Case(id, fn, _as_tuple(raises), match))


def works(cases: list[Case], id: str, fn: Callable[[], Any]) -> None:
    """Unusual but valid input: fn must return normally; it asserts what it checks."""
    cases.append(Case(id, fn, None))


# ----- helpers the case files share ----------------------------------------------------------


def oracle_torch():
    """PyTorch, the oracle of the cases that compare with it; None where it is not installed
    (CI's first run: the case then checks only that pydl runs, up to the comparison), except
    under PYDL_REQUIRE_ORACLES=1, where its absence is an error (tests/conftest.py's rule)."""
    try:
        import torch
    except ImportError:
        if os.environ.get("PYDL_REQUIRE_ORACLES") == "1":
            raise
        return None
    return torch


def randn_array(*shape, seed=0, dtype=np.float32):
    """A NumPy array of normal samples."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def randn(*shape, dtype=np.float32, seed=0):
    """A pydl tensor of normal samples."""
    return pydl.tensor(randn_array(*shape, seed=seed, dtype=dtype))


def ints(*values):
    """An int64 pydl tensor of these values."""
    return pydl.tensor(np.array(values, np.int64))


def assert_close(a, b, tol=1e-4):
    a = a.numpy() if hasattr(a, "numpy") else np.asarray(a)
    np.testing.assert_allclose(a, np.asarray(b), rtol=tol, atol=tol)
