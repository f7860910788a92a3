"""The engine on the fork runtime: a failed attempt is rolled back to a snapshot of the
committed state (a fork, milliseconds) instead of a restart and a replay of every turn."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.engine.engine import Engine
from assistant.engine.events import StateRestored
from assistant.execution import KernelConfig
from assistant.execution.forkserver import ForkServer
from assistant.models.scripted import ScriptedModel

pytestmark = pytest.mark.kernel


@pytest.mark.asyncio
async def test_failed_attempt_rolls_back_without_replay() -> None:
    script = {
        "turns": [
            "nc = 1",
            "nc += 10",
            [
                "nc += 1\nimport math\nmath.pi = 3\nraise ValueError('x')",
                "import math\nprint(nc, math.pi > 3)",
            ],
        ]
    }
    async with ForkServer(KernelConfig(timeout=10)) as server:
        prog = await server.open()
        events: list[object] = []
        engine = Engine(ScriptedModel(script), prog, Settings(timeout=10), on_event=events.append)  # type: ignore[arg-type]
        await engine.run_turn("One.")
        await engine.run_turn("Two.")
        turn = await engine.run_turn("Show.")
        info = [
            (a.reason, [(c.code, c.result and c.result.status, c.feedback) for c in a.candidates])
            for a in turn.attempts
        ]
        assert turn.status == "passed" and len(turn.attempts) == 2, info
        assert turn.attempts[1].candidates[0].result.stdout == "11 True\n"
        restored = [e for e in events if isinstance(e, StateRestored)]
        assert [(e.reason, e.replayed) for e in restored] == [("retry", [])]  # no replay
        assert prog.restarts == 0
        await prog.shutdown()
