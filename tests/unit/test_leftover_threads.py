"""A program's thread counts as left behind even when it took the ident of a kernel thread
that has ended (idents are reused at once on Linux)."""

from __future__ import annotations

import threading

import pytest

from assistant.execution.kernelcode import app_module

pytestmark = pytest.mark.unit


def test_a_thread_with_a_reused_ident_is_a_leftover() -> None:
    limits = app_module("limits")
    release = threading.Event()
    gone = threading.Thread(target=release.wait)
    gone.start()
    state = limits._Limits(None, None, None)  # the kernel's threads, the ended one among them
    release.set()
    gone.join()
    stop = threading.Event()
    program = threading.Thread(target=stop.wait)
    program.start()
    try:
        assert state.leftovers() == 1, (gone.ident, program.ident)
    finally:
        stop.set()
        program.join()
    assert state.leftovers() == 0
