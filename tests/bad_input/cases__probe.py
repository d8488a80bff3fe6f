"""Cases that misbehave on purpose, one per classification, so test_corpus can check that
the runner tells them apart. test_case skips them (their ids start with `_probe.`)."""

import ctypes
import time

from corpus import bad, works

CASES: list = []


def _crash():
    ctypes.string_at(0)  # reads address 0: SIGSEGV


def _wrong():
    assert 1 + 1 == 3


bad(CASES, "_probe.crash", _crash, ValueError, "")
bad(CASES, "_probe.hang", lambda: time.sleep(3600), ValueError, "")
bad(CASES, "_probe.accepted", lambda: None, ValueError, "")
bad(CASES, "_probe.unclear_type", lambda: {}["key"], ValueError, "")
bad(CASES, "_probe.unclear_message", lambda: int("x"), ValueError, "names the argument")
bad(CASES, "_probe.printed", lambda: print("hello") or int("x"), ValueError, "")
works(CASES, "_probe.wrong", _wrong)
bad(CASES, "_probe.clear", lambda: int("x"), ValueError, "invalid literal")
works(CASES, "_probe.ok", lambda: None)
