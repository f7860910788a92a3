"""Nothing a front end does with an event (a UI bug, a failed autosave) may end a turn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.engine import events
from assistant.engine.events import ExecutionFinished, Notice, TurnCommitted
from assistant.execution import Kernel
from assistant.frontends.controller import Controller

pytestmark = [pytest.mark.kernel, pytest.mark.asyncio(loop_scope="module")]


async def test_a_raising_callback_does_not_break_the_turn(make_engine: Any) -> None:
    engine, _model, seen = make_engine({"turns": ["x = 1\n", "print(x + 1)\n"]})
    record = engine.on_event
    assert record is not None

    def flaky(event: events.Event) -> None:
        record(event)
        if isinstance(event, ExecutionFinished):
            raise RuntimeError("widget gone")

    engine.on_event = flaky
    first = await engine.run_turn("set x")
    second = await engine.run_turn("print x + 1", expect=2)
    assert first.committed and second.committed
    assert len(seen.of(TurnCommitted)) == 2
    notices = [n for n in seen.of(Notice) if "widget gone" in n.message]
    assert len(notices) == 1 and notices[0].level == "warning"  # reported once, not per event


async def test_a_failed_autosave_warns_and_keeps_the_last_good_file(
    kernel: Kernel, tmp_path: Path
) -> None:
    from assistant.models.scripted import ScriptedModel

    seen: list[Any] = []
    ctl = Controller(
        Settings(timeout=10),
        seen.append,
        model=ScriptedModel({"turns": ["y = 2\n", "print(y * 3)\n"]}),
        session_path=tmp_path / "s.json",
        autosave_enabled=True,
    )
    ctl.kernel = kernel
    ctl._build_engine()
    assert (await ctl.run_turn("set y")).committed
    good = (tmp_path / "s.json").read_text(encoding="utf-8")

    def broken(path: Path) -> Path:
        raise ValueError("cannot encode this")

    ctl.session.save = broken  # type: ignore[method-assign]
    turn = await ctl.run_turn("print y times three", expect=6)
    assert turn.committed
    warnings = [e for e in seen if isinstance(e, Notice) and "could not save" in e.message]
    assert len(warnings) == 1 and "cannot encode this" in warnings[0].message
    assert str(tmp_path / "s.json") in warnings[0].message
    assert (tmp_path / "s.json").read_text(encoding="utf-8") == good
    assert len(json.loads(good)["turns"]) == 1
