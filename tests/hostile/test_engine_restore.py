"""After a kernel death the Engine restores the committed turns (restart + replay)."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.engine.engine import Engine
from assistant.engine.events import Event, ExecutionFinished, StateRestored
from assistant.execution import Kernel
from assistant.models.scripted import ScriptedModel

from .conftest import config

pytestmark = pytest.mark.asyncio(loop_scope="package")

SCRIPT = {
    "turns": [
        "base = 41",
        # attempt 0 kills the kernel; the refinement then needs the replayed ``base``
        ["import os\nos._exit(1)", "base + 1"],
        "import ctypes\nctypes.string_at(0)",  # a segfault on every attempt
        "base * 2",
    ]
}


async def test_engine_replays_committed_turns_after_a_death() -> None:
    events: list[Event] = []
    kernel = await Kernel(config(timeout=5)).start()
    try:
        engine = Engine(
            ScriptedModel(SCRIPT), kernel, settings=Settings(timeout=5), on_event=events.append
        )
        await engine.run_turn("set base")
        turn = await engine.run_turn("one more", expect=42, attempts=2)
        assert turn.committed and turn.code == "base + 1"
        finished = [e.result for e in events if isinstance(e, ExecutionFinished)]
        assert [(r.status, r.restarted) for r in finished[1:3]] == [("died", True), ("ok", False)]
        restored = [e for e in events if isinstance(e, StateRestored)]
        assert restored and restored[0].reason == "kernel died" and restored[0].replayed == [0]

        crashed = await engine.run_turn("crash", attempts=1)
        assert not crashed.committed
        doubled = await engine.run_turn("double", expect=82, attempts=1)
        assert doubled.committed  # ``base`` is back although the last cell killed the kernel
    finally:
        await kernel.shutdown()
