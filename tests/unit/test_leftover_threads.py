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
    # Linux usually hands the ended thread's ident to the next one; make it certain here (other
    # threads of the test process could take it first).
    gone._ident = program.ident  # type: ignore[attr-defined]
    try:
        # (other tests' threads may come and go meanwhile: only these two are looked at)
        assert program in state.left_threads(), (gone.ident, program.ident)
        assert gone not in state.left_threads()
    finally:
        stop.set()
        program.join()
    assert program not in state.left_threads()
