"""Pilot tests: every command and key of the TUI, on a scripted model and a real kernel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, TextArea

from assistant.engine.session import Session
from assistant.frontends.tui.screens.edit import EditScreen
from assistant.frontends.tui.widgets.side import SidePanel
from assistant.frontends.tui.widgets.transcript import Transcript
from assistant.frontends.tui.widgets.turn import AttemptView, TurnView

from .conftest import make_app, settle, submit


def variables(app: Any) -> dict[str, tuple[str, str]]:
    table = app.query_one(SidePanel).query_one(DataTable)
    rows = [table.get_row_at(i) for i in range(table.row_count)]
    return {str(r[0]): (str(r[1]), str(r[2])) for r in rows}


def turn_view(app: Any, index: int) -> TurnView:
    return app.query_one(Transcript).turns[index]


async def test_turn_runs_shows_output_variables_and_history(run_app: Any) -> None:
    app = make_app(["x = 41 + 1\nprint(x)\n"])
    async with run_app(app) as pilot:
        await submit(pilot, "make x the answer and print it")
        view = turn_view(app, 0)
        assert view.badge.state == "passed"
        cand = view.attempts[0].views[0]
        assert cand.result is not None and cand.result.stdout == "42\n"
        assert variables(app)["x"] == ("int", "42")
        assert app.ctl.session.turns[0].code == "x = 41 + 1\nprint(x)"
        await pilot.press("up")
        assert app.prompt.value == "make x the answer and print it"
        await pilot.press("down")
        assert app.prompt.value == ""


async def test_failed_attempt_is_refined_with_feedback_and_diff(run_app: Any) -> None:
    app = make_app([["y = 1 / 0\n", "y = 1 / 1\n"]])
    async with run_app(app) as pilot:
        await submit(pilot, "divide")
        view = turn_view(app, 0)
        assert sorted(view.attempts) == [0, 1]
        assert "ZeroDivisionError" in view.attempts[1].feedback
        second = view.attempts[1].views[0]
        assert second.previous == "y = 1 / 0" and second.diff_shown
        assert view.badge.label == "passed (attempt 2)"


async def test_test_and_expect_commands_drive_refinement(run_app: Any) -> None:
    app = make_app([["z = 2\n", "z = 3\n"], ["print(z + 1)\n", "print(z + 2)\n"]])
    async with run_app(app) as pilot:
        await submit(pilot, "/test assert z == 3")
        await submit(pilot, "set z")
        assert app.ctl.session.turns[0].tests == ["assert z == 3"]
        assert sorted(turn_view(app, 0).attempts) == [0, 1]
        await submit(pilot, "/expect 5")
        await submit(pilot, "print z plus something")
        turn = app.ctl.session.turns[1]
        assert turn.has_expect and turn.expect == 5 and turn.status == "passed"
        assert turn.code == "print(z + 2)"


async def test_undo_and_retry(run_app: Any) -> None:
    app = make_app(["a = 1\n", "b = 2\n"])
    async with run_app(app) as pilot:
        await submit(pilot, "a")
        await submit(pilot, "b")
        assert "b" in variables(app)
        await submit(pilot, "/undo")
        assert len(app.ctl.session.turns) == 1
        assert list(app.query_one(Transcript).turns) == [0]
        assert "b" not in variables(app) and "a" in variables(app)
        await submit(pilot, "/retry")
        assert app.ctl.session.turns[0].status == "passed"
        assert len(app.ctl.session.turns[0].attempts) == 2  # old attempts are kept


async def test_edit_fixes_code_by_hand_and_reruns(run_app: Any) -> None:
    app = make_app(["w = 'wrong'\n"])
    async with run_app(app) as pilot:
        await submit(pilot, "set w")
        await submit(pilot, "/edit", wait=False)
        await pilot.pause(0.2)
        assert isinstance(app.screen, EditScreen)
        app.screen.query_one(TextArea).text = "w = 'right'\n"
        await pilot.press("ctrl+s")
        await settle(pilot)
        turn = app.ctl.session.turns[0]
        assert turn.edited and turn.code == "w = 'right'\n"
        assert variables(app)["w"] == ("str", "'right'")
        assert turn_view(app, 0).badge.label == "passed (edited)"


async def test_edit_escape_changes_nothing(run_app: Any) -> None:
    app = make_app(["v = 1\n"])
    async with run_app(app) as pilot:
        await submit(pilot, "v")
        await submit(pilot, "/edit 1", wait=False)
        await pilot.pause(0.2)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, EditScreen)
        assert not app.ctl.session.turns[0].edited


async def test_help_reset_save_and_export(run_app: Any, tmp_path: Path) -> None:
    app = make_app(["q = [1, 2]\nprint(q)\n"])
    async with run_app(app) as pilot:
        await submit(pilot, "/help")
        notes = app.query_one(Transcript).notes
        assert any("/expect VALUE" in n for n in notes)
        await submit(pilot, "make q")
        await submit(pilot, "/save")
        saved = app.ctl.session_path
        assert saved is not None and saved.exists()
        assert json.loads(saved.read_text())["turns"][0]["status"] == "passed"
        out = tmp_path / "s.ipynb"
        await submit(pilot, f"/export {out}")
        assert out.exists() and "q = [1, 2]" in out.read_text()
        old_id = app.ctl.session.id
        await submit(pilot, "/reset")
        assert app.ctl.session.id != old_id and not app.ctl.session.turns
        assert not app.query_one(Transcript).turns
        assert "q" not in variables(app)


async def test_unknown_command_and_busy_input_are_reported(run_app: Any) -> None:
    app = make_app(["pass\n"])
    async with run_app(app) as pilot:
        await submit(pilot, "/frobnicate")
        assert any("unknown command /frobnicate" in n for n in app.query_one(Transcript).notes)


async def test_model_command_switches_backend(run_app: Any) -> None:
    app = make_app(["pass\n"])
    async with run_app(app) as pilot:
        await submit(pilot, "/model reference")
        assert app.ctl.model is not None and app.ctl.model.name != "scripted-test"
        await submit(pilot, "/model nonsense:spec")
        assert any("/model failed" in n for n in app.query_one(Transcript).notes)


async def test_palette_runs_commands(run_app: Any) -> None:
    app = make_app(["c = 1\n"])
    async with run_app(app) as pilot:
        await submit(pilot, "c")
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"/undo")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert not app.ctl.session.turns
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"/test")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.prompt.value == "/test "


async def test_escape_cancels_generation(run_app: Any) -> None:
    from assistant.models.scripted import ScriptedModel

    slow = ScriptedModel({"turns": ["s = 1\n" * 50]}, chunk_size=1, delay=0.02)
    app = make_app([], model=slow)
    async with run_app(app) as pilot:
        await submit(pilot, "slow", wait=False)
        await pilot.pause(0.4)
        await pilot.press("escape")
        await settle(pilot)
        assert app.ctl.session.turns[0].status == "cancelled"
        assert turn_view(app, 0).badge.state == "cancelled"


async def test_ctrl_c_interrupts_running_code(run_app: Any) -> None:
    code = "import time\nfor _ in range(300):\n    time.sleep(0.1)\n"
    app = make_app([code], settings={"attempts": 1})
    async with run_app(app) as pilot:
        await submit(pilot, "loop forever", wait=False)
        for _ in range(100):
            await pilot.pause(0.05)
            if turn_view(app, 0).badge.label == "running code":
                break
        await pilot.pause(0.3)
        await pilot.press("ctrl+c")
        await settle(pilot)
        result = turn_view(app, 0).attempts[0].views[0].result
        assert result is not None and result.error is not None
        assert result.error.ename == "KeyboardInterrupt"
        assert app.ctl.session.turns[0].status == "failed"


async def test_candidates_are_ranked_and_browsable(run_app: Any) -> None:
    cands = [{"code": "k = 1 / 0\n", "logprob": -0.1}, {"code": "k = 2\n", "logprob": -0.5}]
    app = make_app([[cands]], settings={"candidates": 2})
    async with run_app(app) as pilot:
        await submit(pilot, "k")
        attempt = turn_view(app, 0).attempts[0]
        assert set(attempt.views) == {0, 1} and attempt.order
        shown = [i for i, v in attempt.views.items() if v.display]
        assert shown == [attempt.order[0]]
        attempt.focus()
        await pilot.press("right")
        shown2 = [i for i, v in attempt.views.items() if v.display]
        assert shown2 == [attempt.order[1]]
        assert isinstance(attempt, AttemptView)


async def test_resume_replays_committed_turns(run_app: Any) -> None:
    first = make_app(["r = 10\n", "r2 = r * 2\n"])
    async with run_app(first) as pilot:
        await submit(pilot, "r")
        await submit(pilot, "r2")
        path = first.ctl.session_path
    assert path is not None
    session = Session.load(path)
    app = make_app([], session=session, session_path=path)
    async with run_app(app) as pilot:
        await settle(pilot)
        assert sorted(app.query_one(Transcript).turns) == [0, 1]
        assert any("replayed turns 1, 2" in n for n in app.query_one(Transcript).notes)
        assert variables(app)["r2"] == ("int", "20")


async def test_demo_plays_all_turns_in_the_tui(run_app: Any) -> None:
    from assistant.frontends.demo_problem import BUILTIN, demo_model

    app = make_app([], model=demo_model(BUILTIN, 0.0), demo=BUILTIN, fast=True, autosave=False)
    async with run_app(app) as pilot:
        await settle(pilot)
        assert [t.status for t in app.ctl.session.turns] == ["passed"] * 4
        assert len(turn_view(app, 1).attempts) == 2  # the deliberate refinement
        assert variables(app)["top"] == ("list", "['the', 'and', 'cat']")


async def test_mtpb_browser_filters_and_plays_reference(run_app: Any) -> None:
    from assistant.frontends.tui.screens.mtpb import ProblemBrowser

    app = make_app(["pass\n"])
    async with run_app(app) as pilot:
        await submit(pilot, "/mtpb", wait=False)
        await pilot.pause(0.5)
        browser = app.screen
        assert isinstance(browser, ProblemBrowser)
        browser.query_one("#mtpb-filter").value = "Fibonacci"
        await pilot.pause(0.2)
        assert browser._shown and all("fibonacci" in p.name.lower() for p in browser._shown)
        await pilot.press("escape")
        await pilot.pause(0.2)
        await submit(pilot, "/mtpb 3", wait=False)
        await pilot.pause(0.5)
        assert isinstance(app.screen, ProblemBrowser) and app.screen.current.id == "3"
        await pilot.press("2")
        await settle(pilot)
        notes = app.query_one(Transcript).notes
        assert any(n.startswith("verdict: PASS") for n in notes), notes
        assert app.ctl.session.meta["mtpb"] == {"problem": "3", "case": 1}
        assert all(t.status == "passed" for t in app.ctl.session.turns)


async def test_comment_only_answer_shows_no_code_not_passed(run_app: Any) -> None:
    app = make_app([["# line 2\n", "# line 3\n"]])
    async with run_app(app) as pilot:
        await submit(pilot, "sort nums")
        view = turn_view(app, 0)
        assert view.badge.state == "no-code" and "no code" in view.badge.label
        cand = view.attempts[0].views[0]
        assert cand.no_code and cand.verdict is not None and not cand.verdict[0]
        assert app.ctl.session.turns[0].code is None
