"""Fixtures for the TUI tests: an app on a scripted model and a real kernel, and helpers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from assistant.config import Settings
from assistant.frontends.tui.app import AssistantApp
from assistant.models.scripted import ScriptedModel

SIZE = (120, 40)


def settings(**overrides: Any) -> Settings:
    # sandbox pinned: "auto" would differ between machines (and show a note in snapshots)
    base: dict[str, Any] = {"timeout": 15.0, "demo_delay": 0.0, "attempts": 3, "sandbox": "none"}
    base.update(overrides)
    return Settings(**base)


async def play_repl(keys: str, model: Any = None, **overrides: Any) -> tuple[Any, str]:
    """A REPL fed ``keys`` through prompt-toolkit's pipe input until it quits (exit status 0
    asserted): the REPL and everything it echoed."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from assistant.frontends.repl import Repl

    lines: list[str] = []
    with create_pipe_input() as pipe:
        kw: dict[str, Any] = {} if model is None else {"model": model}
        repl = Repl(
            settings(**overrides), input=pipe, output=DummyOutput(), echo=lines.append, **kw
        )
        pipe.send_text(keys)
        assert await repl.run() == 0
    return repl, "\n".join(lines)


def make_app(turns: list[Any], *, model: Any = None, **kw: Any) -> AssistantApp:
    model = model or ScriptedModel({"turns": turns}, name="scripted-test")
    opts: dict[str, Any] = {"history": [], "autosave": True}
    opts.update({k: v for k, v in kw.items() if k in ("session", "session_path", "demo", "fast")})
    if "autosave" in kw:
        opts["autosave"] = kw["autosave"]
    return AssistantApp(settings(**kw.get("settings", {})), model=model, **opts)


async def settle(pilot: Any, timeout: float = 30.0) -> None:
    """Wait until the app has booted and no engine work is running, then let messages drain."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        await pilot.pause(0.05)
        workers = [w for w in app.workers if w.group == "engine" and not w.is_finished]
        if app.ready and not app.busy and not workers and _drained(app):
            await pilot.pause(0.1)
            if _drained(app):
                return
    raise AssertionError("the app did not settle in time")


def _drained(app: Any) -> bool:
    """No engine event waits in the transcript's queue and every code view has rendered."""
    from assistant.frontends.tui.widgets.transcript import Transcript
    from assistant.frontends.tui.widgets.turn import CandidateView

    transcript = app.query_one(Transcript)
    if not transcript._message_queue.empty():
        return False
    views: list[CandidateView] = [
        c for t in transcript.turns.values() for a in t.attempts.values() for c in a.views.values()
    ]
    return all(v.rendered for v in views)


async def submit(pilot: Any, line: str, wait: bool = True) -> None:
    pilot.app.prompt.value = line
    await pilot.press("enter")
    if wait:
        await settle(pilot)


@pytest.fixture
def run_app() -> Callable[..., Any]:
    """``async with run_app(app) as pilot``: runs the app and always shuts its kernel down."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def runner(app: AssistantApp) -> AsyncIterator[Any]:
        async with app.run_test(size=SIZE) as pilot:
            try:
                await settle(pilot)
                yield pilot
            finally:
                await app.ctl.close()

    return runner
