"""SVG snapshots (pytest-textual-snapshot) at a fixed size, cursor blink off, stable content.

Update after an intended visual change: ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from assistant.execution import reaper
from assistant.frontends.tui.app import AssistantApp
from assistant.frontends.tui.widgets.turn import AttemptView

from .conftest import SIZE, make_app, settle, submit

APPS: list[AssistantApp] = []


@pytest.fixture(autouse=True)
def _kill_kernels() -> Iterator[None]:
    """The snapshot runner owns the app's loop, so stop its kernel by pid afterwards."""
    yield
    for app in APPS:
        pid = app.ctl.kernel.pid if app.ctl.kernel is not None else None
        if pid:
            reaper.kill_group(pid)
            reaper.unregister(pid)
    APPS.clear()


def _app(*args: Any, **kwargs: Any) -> AssistantApp:
    app = make_app(*args, autosave=False, **kwargs)
    APPS.append(app)
    return app


async def _ready(pilot: Any) -> None:
    pilot.app.prompt.cursor_blink = False
    await settle(pilot)


async def _still(pilot: Any) -> None:
    """Let layout and the stream flush timer finish before the shot.

    Every snapshot's content fits its terminal: scroll positions depend on timing.
    """
    await pilot.pause(0.3)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.3)
    transcript = pilot.app.transcript
    assert transcript.virtual_size.height <= transcript.size.height, "content must fit"


def test_demo_finished(snap_compare: Any) -> None:
    from assistant.frontends.demo_problem import BUILTIN, demo_model

    app = _app([], model=demo_model(BUILTIN, 0.0), demo=BUILTIN, fast=True)

    async def run(pilot: Any) -> None:
        await _ready(pilot)
        await _still(pilot)

    assert snap_compare(app, terminal_size=(120, 100), run_before=run)


def test_refinement_with_diff(snap_compare: Any) -> None:
    app = _app(
        [["total = sum(range(1, 11)) + offset\n", "total = sum(range(1, 11))\nprint(total)\n"]]
    )

    async def run(pilot: Any) -> None:
        await _ready(pilot)
        await submit(pilot, "add up the numbers 1 to 10")
        await _still(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_help_and_candidates(snap_compare: Any) -> None:
    cands = [
        {"code": "best = max([3, 9, 4])\n", "logprob": -0.1},
        {"code": "best = 9\n", "logprob": -0.9},
    ]
    app = _app([[cands]], settings={"candidates": 2})

    async def run(pilot: Any) -> None:
        await _ready(pilot)
        await submit(pilot, "find the largest of 3, 9 and 4")
        await submit(pilot, "/help")
        pilot.app.query_one(AttemptView).focus()
        await pilot.press("right")
        pilot.app.prompt.focus()
        await _still(pilot)

    # /help lists every command: one row taller than the others since /checks
    assert snap_compare(app, terminal_size=(SIZE[0], SIZE[1] + 2), run_before=run)


def test_edit_screen(snap_compare: Any) -> None:
    app = _app(["greeting = 'hello'\nprint(greeting.upper())\n"])

    async def run(pilot: Any) -> None:
        await _ready(pilot)
        await submit(pilot, "shout hello")
        await submit(pilot, "/edit", wait=False)
        await pilot.pause(0.3)
        pilot.app.screen.query_one("TextArea").cursor_blink = False
        await _still(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
