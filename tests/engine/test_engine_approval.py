"""``EngineOptions.approve``: asked before each candidate runs; a refusal never reaches the kernel."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.engine.approval import REFUSED
from assistant.engine.events import CheckFinished, ExecutionStarted, TurnCommitted
from assistant.engine.options import EngineOptions

pytestmark = [pytest.mark.kernel, pytest.mark.asyncio(loop_scope="module")]


async def test_refused_runs_are_failed_attempts_never_executed(make_engine, tmp_path) -> None:
    marker = tmp_path / "ran"
    asked: list[tuple[int, int, int, str]] = []

    async def approve(turn: int, attempt: int, cand: int, code: str) -> bool:
        asked.append((turn, attempt, cand, code))
        return attempt == 1  # refuse the first attempt, allow the refinement

    script = {"turns": [[f"open({str(marker)!r}, 'w').write('x')\nprint(1)", "print(2)"]]}
    engine, _, events = make_engine(
        script, settings=Settings(timeout=10, attempts=3), options=EngineOptions(approve=approve)
    )
    turn = await engine.run_turn("do it")
    assert not marker.exists()  # the refused code never ran
    assert [a[:3] for a in asked] == [(0, 0, 0), (0, 1, 0)]
    first = turn.attempts[0].candidates[0]
    assert not first.passed and first.feedback == REFUSED
    assert first.result is not None and first.result.message == REFUSED
    checks = events.of(CheckFinished)
    assert checks[0].passed is False and checks[0].feedback == REFUSED
    assert [e.attempt for e in events.of(ExecutionStarted)] == [1]
    assert turn.status == "passed" and turn.code == "print(2)"
    assert events.of(TurnCommitted)[0].attempt == 1


async def test_all_refused_fails_the_turn(make_engine) -> None:
    async def refuse(turn: int, attempt: int, cand: int, code: str) -> bool:
        return False

    engine, _, events = make_engine(
        {"turns": [["print(1)", "print(2)"]]},
        settings=Settings(timeout=10, attempts=2),
        options=EngineOptions(approve=refuse),
    )
    turn = await engine.run_turn("do it")
    assert turn.status == "failed"
    assert not events.of(ExecutionStarted)
    # the undo of a failed turn needs no restore: nothing ran
    assert engine.dirty is False
