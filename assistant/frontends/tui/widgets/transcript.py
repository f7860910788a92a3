"""The scrolling transcript: turns built live from engine events, or from a saved session.

Engine events reach it as ``Transcript.EngineEvent`` messages (``post_message`` is
thread-safe, so the engine may emit from a model thread); they bubble on to the app, which
refreshes the variables panel when a turn ends.
"""

from __future__ import annotations

import sys
from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from assistant.engine import events
from assistant.engine.session import Session, Turn
from assistant.frontends.tui.widgets.turn import AttemptView, CandidateView, TurnView

if sys.version_info >= (3, 11):
    from typing import assert_never
else:
    from typing_extensions import assert_never


class Transcript(VerticalScroll):
    class EngineEvent(Message):
        def __init__(self, event: events.EngineEvent) -> None:
            super().__init__()
            self.event = event

    class ShowSession(Message):
        """Rebuild from the record; posted after engine events so it lands after them."""

        def __init__(self, session: Session) -> None:
            super().__init__()
            self.session = session

    class Note(Message):
        def __init__(self, text: str, level: str = "info") -> None:
            super().__init__()
            self.text = text
            self.level = level

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dirty: set[CandidateView] = set()
        self.turns: dict[int, TurnView] = {}
        self.notes: list[str] = []  # every note shown, for tests and /save messages

    def on_mount(self) -> None:
        self.anchor()  # keep following new output until the user scrolls up
        self.set_interval(1 / 12, self.flush)

    # -- helpers --------------------------------------------------------------------------
    def turn(self, index: int, text: str = "") -> TurnView:
        view = self.turns.get(index)
        if view is None:
            view = self.turns[index] = TurnView(index, text)
            self.mount(view)
        return view

    def _candidate(self, turn: int, attempt: int, candidate: int) -> CandidateView:
        return self.turn(turn).attempt(attempt).candidate(candidate)

    def note(self, message: str, level: str = "info") -> Static:
        style = {"warning": "yellow", "error": "bold red"}.get(level, "dim")
        widget = Static(Text(message, style=style), classes=f"note -{level}")
        self.notes.append(message)
        self.mount(widget)
        self.follow()
        return widget

    def follow(self) -> None:
        """Jump to the end and stick there: a new turn is where the user's attention goes."""
        self.call_after_refresh(self.scroll_end, animate=False)
        self.anchor()

    def flush(self) -> None:
        for view in list(self.dirty):
            view.flush()
        self.dirty.clear()

    def clear_turns(self) -> None:
        self.dirty.clear()
        self.turns.clear()
        self.remove_children()

    # -- events ---------------------------------------------------------------------------
    def on_transcript_show_session(self, message: ShowSession) -> None:
        message.stop()
        self.show_session(message.session)

    def on_transcript_note(self, message: Note) -> None:
        message.stop()
        self.note(message.text, message.level)

    def on_transcript_engine_event(self, message: EngineEvent) -> None:
        e = message.event
        # Exhaustive: an event type added to EngineEvent is a type error here until handled.
        match e:
            case events.TurnStarted():
                self._on_TurnStarted(e)
            case events.AttemptStarted():
                self._on_AttemptStarted(e)
            case events.TokenChunk():
                self._on_TokenChunk(e)
            case events.CodeReady():
                self._on_CodeReady(e)
            case events.CopyRejected():
                self._on_CopyRejected(e)
            case events.ExecutionStarted():
                self._on_ExecutionStarted(e)
            case events.ExecutionFinished():
                self._on_ExecutionFinished(e)
            case events.CheckFinished():
                self._on_CheckFinished(e)
            case events.CandidatesRanked():
                self._on_CandidatesRanked(e)
            case events.TurnCommitted():
                self._on_TurnCommitted(e)
            case events.TurnFailed():
                self._on_TurnFailed(e)
            case events.StateRestored():
                self._on_StateRestored(e)
            case events.Notice():
                self._on_Notice(e)
            case events.InputRequested():
                pass  # the app's dialog asks (AssistantApp._ask) and notes the answer
            case _:
                assert_never(e)

    def _on_TurnStarted(self, e: events.TurnStarted) -> None:
        old = self.turns.pop(e.turn, None)
        if old is not None:  # a retry runs the same turn again: start it afresh
            old.remove()
        self.turn(e.turn, e.text)
        self.follow()

    def _on_AttemptStarted(self, e: events.AttemptStarted) -> None:
        turn = self.turn(e.turn)
        view = turn.attempt(e.attempt, e.max_attempts, e.feedback)
        if e.reason == "edit":
            view.set_title_note("edited by hand")
            turn.badge.set_state("running", "running edit")
        elif e.attempt == 0:
            turn.badge.set_state("running", "generating")
        else:
            label = f"refining: attempt {e.attempt + 1} of {e.max_attempts}"
            turn.badge.set_state("refining", label)

    def _on_TokenChunk(self, e: events.TokenChunk) -> None:
        view = self._candidate(e.turn, e.attempt, e.candidate)
        view.append(e.text)
        self.dirty.add(view)

    def _on_CodeReady(self, e: events.CodeReady) -> None:
        turn = self.turn(e.turn)
        previous = turn.previous_code(e.attempt) if e.attempt > 0 else None
        self._candidate(e.turn, e.attempt, e.candidate).set_code(e.code, previous)
        self.dirty.discard(self._candidate(e.turn, e.attempt, e.candidate))

    def _on_CopyRejected(self, e: events.CopyRejected) -> None:
        turn = self.turn(e.turn)
        turn.badge.set_state("copy-rejected", f"copy rejected (= attempt {e.copies_attempt + 1})")
        turn.attempt(e.attempt).set_title_note(
            f"copy of attempt {e.copies_attempt + 1} rejected, resampling"
        )

    def _on_ExecutionStarted(self, e: events.ExecutionStarted) -> None:
        self.turn(e.turn).badge.set_state("running", "running code")

    def _on_ExecutionFinished(self, e: events.ExecutionFinished) -> None:
        self._candidate(e.turn, e.attempt, e.candidate).set_result(e.result)

    def _on_CheckFinished(self, e: events.CheckFinished) -> None:
        feedback = e.feedback
        if e.label and not e.passed and not e.no_code and not e.label.startswith("failed"):
            feedback = e.label + (f"\n{feedback}" if feedback else "")
        cand = self._candidate(e.turn, e.attempt, e.candidate)
        cand.set_verdict(e.passed, feedback, e.no_code, e.label)
        if e.no_code:
            self.turn(e.turn).badge.set_state("no-code", "no code written")

    def _on_CandidatesRanked(self, e: events.CandidatesRanked) -> None:
        self.turn(e.turn).attempt(e.attempt).rank(e.order, e.scores)

    def _on_TurnCommitted(self, e: events.TurnCommitted) -> None:
        self.turn(e.turn).badge.set_state("passed", f"passed (attempt {e.attempt + 1})")

    def _on_TurnFailed(self, e: events.TurnFailed) -> None:
        state = "cancelled" if e.kind == "cancelled" else "failed"
        label = "failed: no code" if e.kind == "no code" else None
        self.turn(e.turn).badge.set_state(
            "no-code" if label else state, label
        )  # the reason goes in a note: badges stay short
        if state == "failed" and not (self.notes and self.notes[-1] in e.reason):
            self.note(f"turn {e.turn + 1} failed: {e.reason}", "warning")

    def _on_StateRestored(self, e: events.StateRestored) -> None:
        turns = ", ".join(str(i + 1) for i in e.replayed) or "none"
        msg = f"kernel state rebuilt ({e.reason}): replayed turns {turns}"
        if e.failed:
            msg += "; these no longer pass: " + ", ".join(str(i + 1) for i in e.failed)
        self.note(msg, "warning" if e.failed else "info")

    def _on_Notice(self, e: events.Notice) -> None:
        self.note(e.message, e.level)

    # -- saved sessions -------------------------------------------------------------------
    def show_session(self, session: Session) -> None:
        """Rebuild the transcript from the record (resume, undo, edit)."""
        self.clear_turns()
        for turn in session.turns:
            view = self.turns[turn.index] = _turn_from_record(turn)
            self.mount(view)


def _turn_from_record(turn: Turn) -> TurnView:
    previous: str | None = None
    attempts: list[AttemptView] = []
    for attempt in turn.attempts:
        c_views = []
        for cand in attempt.candidates:
            c_view = CandidateView(cand.index)
            c_view.set_code(cand.code, previous if attempt.index > 0 else None)
            if cand.result is not None:
                c_view.set_result(cand.result)
            if cand.result is not None or cand.feedback:
                c_view.set_verdict(cand.passed, cand.feedback, cand.no_code)
            c_views.append(c_view)
        a_view = AttemptView(attempt.index, len(turn.attempts), attempt.told, c_views)
        if attempt.reason == "edit":
            a_view.set_title_note("edited by hand")
        if attempt.chosen is not None and len(c_views) > 1:
            a_view.order = [attempt.chosen] + [
                c.index for c in attempt.candidates if c.index != attempt.chosen
            ]
        best = attempt.best
        previous = best.code if best is not None else previous
        attempts.append(a_view)
    view = TurnView(turn.index, turn.text, attempts)
    label = {"passed": "passed", "failed": "failed", "cancelled": "cancelled"}.get(turn.status)
    if turn.edited and turn.status == "passed":
        label = "passed (edited)"
    view.badge.set_state(turn.status if turn.status != "pending" else "running", label)
    return view
