"""The TUI's screens are built from plain data: what /edit and /mtpb open, or why they cannot."""

from __future__ import annotations

import pytest

from assistant.engine.session import Attempt, Candidate, Session
from assistant.frontends.tui.screens import CannotOpen
from assistant.frontends.tui.screens.edit import edit_screen
from assistant.frontends.tui.screens.mtpb import problem_browser


def test_edit_opens_on_the_last_turn_or_says_why_not() -> None:
    session = Session(model="m")
    with pytest.raises(CannotOpen, match="nothing to edit yet"):
        edit_screen(session.turns, "")
    first = session.new_turn("make x")
    first.code = "x = 1"
    second = session.new_turn("print x")  # failed: its best candidate's code is offered
    second.attempts.append(Attempt(index=0, candidates=[Candidate(index=0, code="print(y)")]))
    screen = edit_screen(session.turns, "")
    assert (screen.turn_index, screen.turn_text, screen.code) == (1, "print x", "print(y)")
    assert edit_screen(session.turns, "1").code == "x = 1"
    for bad in ("3", "two"):
        with pytest.raises(CannotOpen, match=rf"/edit: no turn '{bad}' \(1-2\)"):
            edit_screen(session.turns, bad)


def test_mtpb_browser_names_an_unknown_problem() -> None:
    with pytest.raises(CannotOpen, match=r"/mtpb: no problem '999' \(ids 1-"):
        problem_browser("999")
    assert problem_browser("3").selected == "3"
