"""The REPL driven through prompt-toolkit's pipe input, with a scripted model and a real kernel."""

from __future__ import annotations

from assistant.models.scripted import ScriptedModel

from .conftest import play_repl


async def test_repl_runs_turns_commands_and_refinement(tmp_path) -> None:
    model = ScriptedModel({"turns": ["n = 6\n", ["print(n * 'x')\n", "print(n * 7)\n"]]})
    keys = "set n\n/expect 42\nprint n times seven\n/help\n/nope\n/undo\n/quit\n"
    repl, text = await play_repl(keys, model, autosave=True)
    assert "[passed] turn 1" in text
    assert "refining: attempt 2 of 3" in text and "xxxxxx" in text and "42" in text
    assert "[passed] turn 2 (attempt 2)" in text
    assert "/expect VALUE" in text and "unknown command /nope" in text
    assert "undone; 1 turn(s) left" in text
    assert "variables: n: int" in text
    assert repl.ctl.session_path is not None and repl.ctl.session_path.exists()


async def test_repl_multiline_turn_and_eof_quits() -> None:
    model = ScriptedModel({"turns": ["m = 1\n"]})
    # Esc+Enter inserts a newline: a two-line turn, then Ctrl+D (EOF) quits.
    repl, _ = await play_repl("first line\x1b\rsecond line\r\x04", model)
    assert repl.ctl.session.turns[0].text == "first line\nsecond line"


async def test_repl_plays_an_mtpb_problem(mtpb_path) -> None:
    _, text = await play_repl("/mtpb 3 3\n/mtpb 999\n/quit\n")
    assert "verdict: PASS · expected 117120 · actual 117120" in text
    assert "/mtpb: no problem 999" in text
