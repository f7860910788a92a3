"""The event -> ACP update mapping (``frontends/acp/view.py``), one event sequence at a time."""

from __future__ import annotations

from assistant.engine import events as ev
from assistant.execution.result import ExecError, ExecResult
from assistant.frontends.acp.permission import decision
from assistant.frontends.acp.view import AcpView, code_block, verdict


def run(view: AcpView, *events: ev.EngineEvent) -> list:
    out = []
    for e in events:
        out += view.updates(e)
    return out


def kinds(updates: list) -> list[str]:
    return [u.session_update for u in updates]


def texts(update) -> list[str]:
    return [c.content.text for c in update.content if c.type == "content"]


def test_a_passing_turn() -> None:
    view = AcpView()
    ok = ExecResult(status="ok", stdout="42\n", duration=0.5)
    out = run(
        view,
        ev.TurnStarted(0, "print 42"),
        ev.AttemptStarted(0, 0, 3),
        ev.TokenChunk(0, 0, 0, "print("),
        ev.TokenChunk(0, 0, 0, "42)"),
        ev.CodeReady(0, 0, 0, "print(42)"),
        ev.ExecutionStarted(0, 0, 0),
        ev.ExecutionFinished(0, 0, 0, ok),
        ev.CheckFinished(0, 0, 0, True),
        ev.TurnCommitted(0, 0, 0, "print(42)"),
    )
    assert kinds(out) == [
        "plan",
        "agent_message_chunk",
        "agent_message_chunk",
        "agent_message_chunk",  # the fence closes before the tool call
        "tool_call",
        "tool_call_update",
        "tool_call_update",
        "tool_call_update",
        "plan",
        "agent_message_chunk",
    ]
    streamed = "".join(u.content.text for u in out[1:4])
    assert streamed == "```python\nprint(42)\n```\n"
    start = out[4]
    assert (start.kind, start.status, start.tool_call_id) == ("execute", "pending", "run-1")
    assert start.raw_input == {"code": "print(42)"}
    assert [u.status for u in out[5:8]] == ["in_progress", "in_progress", "completed"]
    assert out[7].raw_output == {"status": "ok", "duration": 0.5, "stdout": "42\n"}
    assert "42" in texts(out[6])[1] and texts(out[7])[-1] == "passed"
    assert [e.status for e in out[8].entries] == ["completed"]
    assert out[9].content.text.startswith("\n\n**Committed** (attempt 1; passed):\n```python")


def test_refinement_shows_a_diff_and_the_error() -> None:
    view = AcpView(fence=False)
    err = ExecResult(status="error", error=ExecError("NameError", "name 'x' is not defined"))
    out = run(
        view,
        ev.TurnStarted(1, "t"),
        ev.AttemptStarted(1, 0, 2),
        ev.CodeReady(1, 0, 0, "print(x)"),
        ev.ExecutionStarted(1, 0, 0),
        ev.ExecutionFinished(1, 0, 0, err),
        ev.CheckFinished(1, 0, 0, False, "NameError: name 'x' is not defined"),
        ev.AttemptStarted(1, 1, 2, reason="refine", feedback="# NameError: x"),
        ev.TokenChunk(1, 1, 0, "x = 1"),
        ev.CodeReady(1, 1, 0, "x = 1\nprint(x)"),
    )
    failed = out[4]
    assert failed.status == "failed" and "NameError" in texts(failed)[-1]
    assert failed.raw_output["error"] == "NameError: name 'x' is not defined"
    message, plan = out[5], out[6]
    assert message.content.text == "\n\n*Attempt 2: refine after: # NameError: x*\n\n"
    assert [(e.content, e.status) for e in plan.entries] == [
        ("Attempt 1: first try", "completed"),
        ("Attempt 2: refine", "in_progress"),
    ]
    assert out[7].content.text == "x = 1"  # no fence for chat models
    second = out[-1]
    assert second.title == "Run attempt 2" and second.tool_call_id == "run-2"
    diff = next(c for c in second.content if c.type == "diff")
    assert (diff.path, diff.old_text, diff.new_text) == ("turn-2.py", "print(x)", "x = 1\nprint(x)")


def test_only_candidate_zero_streams_and_ids_stay_unique_after_undo() -> None:
    view = AcpView()
    assert run(view, ev.TokenChunk(0, 0, 1, "other")) == []
    first = run(view, ev.CodeReady(0, 0, 0, "a"), ev.CodeReady(0, 0, 1, "b"))
    assert [u.title for u in first] == ["Run attempt 1", "Run attempt 1, candidate 2"]
    again = run(view, ev.TurnStarted(0, "after undo"), ev.CodeReady(0, 0, 0, "c"))
    assert again[-1].tool_call_id not in {u.tool_call_id for u in first}


def test_cancel_closes_the_fence_and_fails_unfinished_runs() -> None:
    view = AcpView()
    out = run(
        view,
        ev.AttemptStarted(0, 0, 1),
        ev.TokenChunk(0, 0, 0, "x ="),
        ev.CodeReady(0, 0, 0, "x = 1"),
        ev.ExecutionStarted(0, 0, 0),
        ev.Notice(0, "info", "generation cancelled"),
        ev.TurnFailed(0, "cancelled", "cancelled"),
    )
    unfinished = [u for u in out if u.session_update == "tool_call_update"][-1]
    assert unfinished.status == "failed" and texts(unfinished)[-1] == "not finished: cancelled"
    assert out[-1].content.text == "\n\n**Not committed**: cancelled\n"
    assert kinds(out).count("agent_thought_chunk") == 1


def test_copies_rankings_restores_notices_and_input() -> None:
    view = AcpView()
    run(view, ev.CodeReady(0, 1, 0, "x"))
    copy = run(view, ev.CopyRejected(0, 1, 0, "x", 0))[0]
    assert copy.status == "failed" and "same as the faulty code of attempt 1" in texts(copy)[-1]
    ranked = run(view, ev.CandidatesRanked(0, 1, [1, 0]))[0]
    assert ranked.content.text == "candidates ranked (best first): 2, 1\n"
    restored = run(view, ev.StateRestored(2, [0, 1], "undo", failed=[1]))[0]
    assert restored.content.text == (
        "kernel state rebuilt (undo): replayed turns 1, 2; no longer passing: 2\n"
    )
    warning = run(view, ev.Notice(0, "warning", "disk full"))[0]
    assert warning.session_update == "agent_message_chunk" and "**warning**" in warning.content.text
    run(view, ev.InputRequested(0, 1, 0, "name? "))
    assert view.last_input == view.call_id(0, 1, 0)


def test_verdicts_and_code_blocks() -> None:
    assert verdict(ev.CheckFinished(0, 0, 0, True, "", 2, 2)) == "passed, 2/2 tests"
    assert verdict(ev.CheckFinished(0, 0, 0, False, "boom", 1, 2)) == "failed, 1/2 tests: boom"
    assert code_block("s = '```'").startswith("````python")


def test_permission_decisions() -> None:
    from acp.schema import AllowedOutcome, DeniedOutcome, RequestPermissionResponse

    def answer(option: str | None) -> RequestPermissionResponse:
        if option is None:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=option)
        )

    assert decision(answer("allow_once")) == "allow_once"
    assert decision(answer("allow_always")) == "allow_always"
    assert decision(answer("reject_once")) == "reject"
    assert decision(answer("something else")) == "reject"
    assert decision(answer(None)) == "reject"
    assert decision(None) == "reject"


def test_prompt_text_from_content_blocks() -> None:
    import pytest
    from acp import RequestError, image_block, resource_link_block, text_block
    from acp.helpers import embedded_text_resource, resource_block

    from assistant.frontends.acp.agent import prompt_text

    blocks = [
        text_block("sum the numbers in"),
        resource_link_block("data.csv", "file:///p/data.csv"),
        resource_block(embedded_text_resource("file:///p/notes.txt", "use ints")),
    ]
    assert prompt_text(blocks) == (
        "sum the numbers in\ndata.csv (file:///p/data.csv)\n\nfile:///p/notes.txt:\nuse ints"
    )
    with pytest.raises(RequestError, match="Invalid params"):
        prompt_text([image_block("AAAA", "image/png")])
    with pytest.raises(RequestError, match="Invalid params"):
        prompt_text([text_block("   ")])


def test_advertised_commands_come_from_the_shared_table() -> None:
    from assistant.frontends.acp.commands import available_commands
    from assistant.frontends.commands import COMMANDS

    shown = {c.name: c for c in available_commands()}
    assert set(shown) == {c.name for c in COMMANDS} - {"edit", "quit"}
    assert shown["mtpb"].input is not None and shown["mtpb"].input.root.hint == "[ID]"
    assert shown["undo"].input is None


def test_history_of_a_saved_session() -> None:
    from assistant.engine.session import Attempt, Candidate, Turn

    ok = ExecResult(status="ok", stdout="3\n")
    bad = ExecResult(status="error", error=ExecError("NameError", "y"))
    turns = [
        Turn(
            0,
            "add",
            status="passed",
            code="print(1 + 2)",
            attempts=[
                Attempt(0, candidates=[Candidate(0, "print(y)", result=bad, feedback="NameError")]),
                Attempt(1, candidates=[Candidate(0, "print(1 + 2)", result=ok, passed=True)]),
            ],
        ),
        Turn(1, "never ran", status="cancelled"),
    ]
    out = AcpView().history(turns)
    assert kinds(out) == [
        "user_message_chunk",
        "tool_call",
        "tool_call",
        "agent_message_chunk",
        "user_message_chunk",
        "agent_message_chunk",
    ]
    failed, passed = out[1], out[2]
    assert (failed.status, passed.status) == ("failed", "completed")
    assert failed.title == "Run attempt 1" and texts(failed)[-1] == "NameError"
    assert passed.raw_output["stdout"] == "3\n" and passed.tool_call_id != failed.tool_call_id
    assert out[3].content.text.startswith("**Committed** (turn 1)")
    assert out[5].content.text == "**Not committed** (turn 2: cancelled)\n"
