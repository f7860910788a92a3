"""Undo and retry while views are still mounting (issue 20, defect 7).

A view that has entered the DOM but not yet composed when the transcript is rebuilt (undo,
/retry, a retried turn's TurnStarted) is pruned before it composes: Textual then refuses to
mount its children, and its Mount still arrives. The old ``CandidateView.on_mount`` looked its
parts up and crashed the app with ``NoMatches: '.code'``. The window is opened on purpose here
(no timing, no retry): each case adds a candidate to a composed attempt and rebuilds the
transcript in the same step, before the event loop runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from assistant.engine import events
from assistant.frontends.tui.widgets.transcript import Transcript

from .conftest import make_app, settle, submit


def _new_candidate(tr: Transcript, turn: int, candidate: int) -> None:
    """What a TokenChunk for a new candidate of a shown attempt does."""
    tr.on_transcript_engine_event(
        Transcript.EngineEvent(events.TokenChunk(turn, 0, candidate, "x = "))
    )


@pytest.mark.parametrize("rebuild", ["undo", "retry"])
async def test_rebuild_while_a_candidate_mounts(run_app: Any, rebuild: str) -> None:
    app = make_app(["a = 1\n", "b = 2\n", "b = 3\n"])
    async with run_app(app) as pilot:
        await submit(pilot, "a")
        await submit(pilot, "b")
        tr = app.query_one(Transcript)
        _new_candidate(tr, 1, 1)
        if rebuild == "undo":
            tr.show_session(app.ctl.session)  # what /undo and /reset post
        else:  # a retried turn starts afresh: its old view goes
            tr.on_transcript_engine_event(Transcript.EngineEvent(events.TurnStarted(1, "b")))
        await settle(pilot)
        assert app.is_running and app._exception is None
        # and the commands themselves, right after, still work
        await submit(pilot, f"/{rebuild}")
        assert app.is_running and app._exception is None
        await submit(pilot, "a again" if rebuild == "undo" else "b again")
        assert app.ctl.session.turns[-1].status == "passed"
