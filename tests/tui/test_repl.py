"""The REPL driven through prompt-toolkit's pipe input, with a scripted model and a real kernel."""

from __future__ import annotations

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from assistant.models.scripted import ScriptedModel
from assistant.repl import Repl

from .conftest import settings


async def test_repl_runs_turns_commands_and_refinement(tmp_path) -> None:
    lines: list[str] = []
    model = ScriptedModel({"turns": ["n = 6\n", ["print(n * 'x')\n", "print(n * 7)\n"]]})
    with create_pipe_input() as pipe:
        repl = Repl(
            settings(autosave=True),
            model=model,
            input=pipe,
            output=DummyOutput(),
            echo=lines.append,
        )
        pipe.send_text("set n\n/expect 42\nprint n times seven\n/help\n/nope\n/undo\n/quit\n")
        assert await repl.run() == 0
    text = "\n".join(lines)
    assert "[passed] turn 1" in text
    assert "refining: attempt 2 of 3" in text and "xxxxxx" in text and "42" in text
    assert "[passed] turn 2 (attempt 2)" in text
    assert "/expect VALUE" in text and "unknown command /nope" in text
    assert "undone; 1 turn(s) left" in text
    assert "variables: n: int" in text
    assert repl.ctl.session_path is not None and repl.ctl.session_path.exists()


async def test_repl_multiline_turn_and_eof_quits() -> None:
    lines: list[str] = []
    model = ScriptedModel({"turns": ["m = 1\n"]})
    with create_pipe_input() as pipe:
        repl = Repl(settings(), model=model, input=pipe, output=DummyOutput(), echo=lines.append)
        # Esc+Enter inserts a newline: a two-line turn, then Ctrl+D (EOF) quits.
        pipe.send_text("first line\x1b\rsecond line\r")
        pipe.send_text("\x04")
        assert await repl.run() == 0
    assert repl.ctl.session.turns[0].text == "first line\nsecond line"


async def test_repl_plays_an_mtpb_problem(mtpb_path) -> None:
    lines: list[str] = []
    with create_pipe_input() as pipe:
        repl = Repl(settings(), input=pipe, output=DummyOutput(), echo=lines.append)
        pipe.send_text("/mtpb 3 3\n/mtpb 999\n/quit\n")
        assert await repl.run() == 0
    text = "\n".join(lines)
    assert "verdict: PASS · expected 117120 · actual 117120" in text
    assert "/mtpb: no problem 999" in text
