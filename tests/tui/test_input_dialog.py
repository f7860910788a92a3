"""input() in the TUI: the code's prompt in a dialog; Esc stops the turn."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.widgets import Input

from assistant.frontends.tui.screens.ask import AskScreen
from assistant.frontends.tui.widgets.transcript import Transcript

from .conftest import make_app, settle, submit


async def _wait_for_dialog(pilot: Any) -> AskScreen:
    for _ in range(200):
        if isinstance(pilot.app.screen, AskScreen):
            return pilot.app.screen
        await asyncio.sleep(0.05)
    raise AssertionError("no input dialog appeared")


async def test_input_is_answered_in_a_dialog(run_app: Any) -> None:
    app = make_app(["name = input('your name? ')\nprint('hi ' + name)\n"])
    async with run_app(app) as pilot:
        await submit(pilot, "greet someone", wait=False)
        dialog = await _wait_for_dialog(pilot)
        assert "your name?" in str(dialog.query_one("#ask-prompt").render())
        dialog.query_one(Input).value = "Ada"
        await pilot.press("enter")
        await settle(pilot)
        view = app.query_one(Transcript).turns[0]
        assert view.badge.state == "passed"
        cand = view.attempts[0].views[0]
        assert cand.result is not None and cand.result.stdout == "hi Ada\n"
        assert app.ctl.session.turns[0].inputs == ["Ada"]


async def test_escape_in_the_dialog_stops_the_turn(run_app: Any) -> None:
    app = make_app(["import time\nname = input('name? ')\ntime.sleep(30)\n"])
    async with run_app(app) as pilot:
        await submit(pilot, "wait for a name", wait=False)
        await _wait_for_dialog(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, AskScreen)
        assert app.ctl.session.turns[0].status != "passed"
