"""The REPL against hostile generated code: text UTF-8 cannot hold, failed saves, input()."""

from __future__ import annotations

from assistant.engine.session import Session
from assistant.models.scripted import ScriptedModel

from .conftest import play_repl


async def test_lone_surrogates_are_saved_and_the_session_goes_on() -> None:
    """print('\\ud800') used to make autosave raise UnicodeEncodeError out of the engine's event
    callback: the REPL exited 1 and the follow-up turn never ran."""
    model = ScriptedModel(
        {
            "turns": [
                "base = 41\n",
                "odd = 'a\\udcff'\nprint('\\ud800', odd)\n",
                "print(base + 1)\n",
            ]
        }
    )
    keys = "set base\nprint odd text\nprint base plus one\n/quit\n"
    repl, text = await play_repl(keys, model, autosave=True)
    assert "[passed] turn 2" in text and "[passed] turn 3" in text
    assert "could not save" not in text
    path = repl.ctl.session_path
    assert path is not None
    saved = Session.load(path)
    assert [t.status for t in saved.turns] == ["passed"] * 3
    best = saved.turns[1].attempts[0].best
    assert best is not None and best.result is not None
    assert best.result.stdout == "\\ud800 a\\udcff\n"  # shown escaped, never lost
    assert best.result.last_printed is not None
    assert best.result.last_printed.value == "\ud800"  # the value itself, exactly
    assert best.result.printed is not None and best.result.printed[1].value == "a\udcff"


async def test_input_is_asked_on_the_prompt_line_and_replayed_without_asking() -> None:
    model = ScriptedModel(
        {"turns": ["name = input('your name? ')\n", "print('hello ' + name)\n", "name\n"]}
    )
    keys = (
        "ask for a name\nAda\n/expect 'hello Ada'\ngreet\n/expect 'hello Ada'\n/undo\n"
        "greet again\n/quit\n"
    )
    repl, text = await play_repl(keys, model)
    assert "StdinNotImplementedError" not in text
    assert "[passed] turn 1" in text and "[passed] turn 2" in text
    first = repl.ctl.session.turns[0]
    assert first.inputs == ["Ada"]
    # /undo replays turn 1 in a fresh kernel with the recorded answer (asking would have
    # eaten the next line), so greeting again still passes
    assert "undone; 1 turn(s) left" in text
    assert [t.status for t in repl.ctl.session.turns] == ["passed", "passed"]
    assert repl.ctl.session.turns[1].text == "greet again"


async def test_ctrl_c_at_an_input_prompt_is_a_clean_cancel() -> None:
    """Issue 20, 11b: Ctrl+C at the code's input() prompt cancels the turn. The code gets no
    (empty) answer to run on with, and the user sees a cancel, not ipykernel's traceback."""
    model = ScriptedModel(
        {"turns": ["name = input('name? ')\nprint('hi ' + name)\n", "after = 1\nprint(after)\n"]}
    )
    repl, text = await play_repl("ask the name\n\x03then go on\n/quit\n", model)
    assert "input cancelled: the turn is stopped" in text
    assert "input() cancelled: the code stopped" in text and "[cancelled] turn 1" in text
    assert "ipykernel" not in text and "Traceback" not in text and "kernelbase" not in text
    assert "  | hi" not in text  # the code never ran on with an empty answer
    turns = repl.ctl.session.turns
    assert turns[0].status == "cancelled" and "[passed] turn 2" in text
    cand = turns[0].attempts[0].candidates[0]
    assert cand.result is not None and cand.result.error is not None
    assert cand.result.error.evalue == "input() cancelled"
