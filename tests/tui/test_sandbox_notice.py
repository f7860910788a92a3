"""The one line saying which sandbox is in force: REPL, TUI (when ``auto`` picked it) and
``assistant info``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.execution import sandbox
from assistant.models.scripted import ScriptedModel

from .conftest import SIZE, make_app, play_repl, settle

REPO = Path(__file__).resolve().parents[2]


async def test_repl_says_which_sandbox_is_in_force() -> None:
    _, text = await play_repl("/quit\n", ScriptedModel({"turns": []}))
    assert "sandbox: none (sandbox = 'none'): generated code runs with your user's rights" in text


@pytest.mark.kernel
async def test_tui_notes_what_auto_picked() -> None:
    from assistant.frontends.tui.widgets.transcript import Transcript

    app = make_app([], settings={"sandbox": "auto"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert sandbox.notice("auto") in app.query_one(Transcript).notes


def test_info_says_which_sandbox_is_in_force() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "info", "--sandbox", "auto"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert sandbox.notice("auto") in run.stdout
