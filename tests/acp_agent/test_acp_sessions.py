"""Slash commands, session/load, two sessions in one agent, input(), bad input, and a client
that goes away mid-turn (nothing left running)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import pytest
from acp import RequestError, image_block, text_block

from assistant.execution import reaper
from tests.acp_agent.conftest import RecordingClient, agent, new_session, prompt, script


async def test_slash_commands(tmp_path: Path) -> None:
    client = RecordingClient("allow_once")
    turns = ["y = 6 * 7\nprint(y)", "z = 1\nprint(z)"]
    async with agent(client, script(tmp_path, turns)) as (conn, _):
        sid = await new_session(conn, tmp_path)
        await client.wait_for(lambda: bool(client.of(sid, "available_commands_update")))
        names = [c.name for c in client.of(sid, "available_commands_update")[0].available_commands]
        assert {"test", "expect", "undo", "retry", "reset", "mtpb", "export"} <= set(names)
        assert "edit" not in names and "quit" not in names
        assert await prompt(conn, sid, "/test y == 42") == "end_turn"
        assert "test for the next turn: y == 42" in client.message(sid)
        await prompt(conn, sid, "/expect 42")
        await prompt(conn, sid, "y is six times seven")
        assert "**Committed** (attempt 1; passed, 1/1 tests)" in client.message(sid)
        await prompt(conn, sid, "/export")  # into the session's folder, the client's cwd
        assert (tmp_path / f"{sid}.ipynb").is_file()
        await prompt(conn, sid, "/export out/code.py")
        assert "print(y)" in (tmp_path / "out" / "code.py").read_text()
        client.clear()
        await prompt(conn, sid, "/retry")
        assert "retried the last turn" in client.message(sid)
        assert client.of(sid, "tool_call")[0].title == "Run attempt 2"
        client.clear()
        await prompt(conn, sid, "/undo")
        assert "undone; 0 turn(s) left" in client.message(sid)
        await prompt(conn, sid, "/nope")
        assert "unknown command /nope" in client.message(sid)
        await prompt(conn, sid, "/edit")
        assert "/edit needs the TUI" in client.message(sid)
        await prompt(conn, sid, "/help")
        assert "/mtpb [ID]" in client.message(sid)
        other = script(tmp_path, ["print('from the other model')"])
        await prompt(conn, sid, f"/model {other}")
        assert "model: scripted:script-1.json" in client.message(sid)
        await prompt(conn, sid, "say hello")
        assert client.of(sid, "tool_call_update")[-1].raw_output["stdout"] == (
            "from the other model\n"
        )


async def test_mtpb_command_plays_a_problem(tmp_path: Path, mtpb_path: Path) -> None:
    client = RecordingClient("allow_always")
    async with agent(client, "reference") as (conn, _):
        sid = await new_session(conn, tmp_path)
        assert await prompt(conn, sid, "/mtpb 3 2", timeout=240) == "end_turn"
        assert "verdict: PASS" in client.message(sid)
        assert client.message(sid).count("**Committed**") >= 2
        # the session keeps its id across the reset /mtpb does: it can still be used
        assert await prompt(conn, sid, "/mtpb 999") == "end_turn"
        assert "/mtpb: no problem 999" in client.message(sid)


async def test_load_replays_history_and_rebuilds_the_kernel(tmp_path: Path) -> None:
    client = RecordingClient("allow_once")
    model = script(tmp_path, ["secret = 41\nprint(secret)", "print(secret + 1)"])
    async with agent(client, model) as (conn, _):
        sid = await new_session(conn, tmp_path)
        await prompt(conn, sid, "keep a secret")
    later = RecordingClient("allow_once")
    async with agent(later, model) as (conn, _):
        with pytest.raises(RequestError):  # unknown ids are an error, not an empty session
            await conn.load_session(cwd=str(tmp_path), session_id="no-such-session")
        await asyncio.wait_for(conn.load_session(cwd=str(tmp_path), session_id=sid), 120)
        kinds = later.kinds(sid)
        assert kinds[0] == "user_message_chunk"
        assert later.of(sid, "user_message_chunk")[0].content.text == "keep a secret"
        assert "secret = 41" in later.message(sid)
        assert later.of(sid, "tool_call")[0].status == "completed"  # its run, finished
        assert "kernel state rebuilt (resume): replayed turns 1" in "".join(
            u.content.text for u in later.of(sid, "agent_thought_chunk")
        )
        later.clear()
        assert await prompt(conn, sid, "one more") == "end_turn"
        last = later.of(sid, "tool_call_update")[-1]
        assert last.raw_output["stdout"] == "42\n"


async def test_two_sessions_at_once(tmp_path: Path) -> None:
    client = RecordingClient("allow_once")
    code = "import os\nname = os.path.basename(os.getcwd())\nprint(name)"
    a, b = tmp_path / "alpha", tmp_path / "beta"
    a.mkdir(), b.mkdir()
    async with agent(client, script(tmp_path, [code, "print(name * 2)"])) as (conn, _):
        sa, sb = await asyncio.gather(new_session(conn, a), new_session(conn, b))
        assert sa != sb
        await asyncio.gather(prompt(conn, sa, "where am I"), prompt(conn, sb, "where am I"))
        await asyncio.gather(prompt(conn, sa, "twice"), prompt(conn, sb, "twice"))
        out_a = client.of(sa, "tool_call_update")[-1].raw_output["stdout"]
        out_b = client.of(sb, "tool_call_update")[-1].raw_output["stdout"]
        assert (out_a, out_b) == ("alphaalpha\n", "betabeta\n")


async def test_input_is_asked_through_the_client(tmp_path: Path) -> None:
    def choose(call, options):
        if "input" in (call.title or ""):
            return "allow_once" if len(client.questions) < 3 else "reject_once"
        return "allow_once"

    client = RecordingClient(choose)
    code = "name = input('name? ')\nprint('hello', repr(name))"
    async with agent(client, script(tmp_path, [code, code]), "--attempts", "1") as (conn, _):
        sid = await new_session(conn, tmp_path)
        assert await prompt(conn, sid, "greet") == "end_turn"
        asked = client.questions[1][1]
        assert "name? " in asked.title
        assert [o.option_id for o in client.questions[1][2]] == ["allow_once", "reject_once"]
        assert client.of(sid, "tool_call_update")[-1].raw_output["stdout"] == "hello ''\n"
        # "stop the run": the turn ends at once instead of waiting for an answer
        assert await prompt(conn, sid, "greet again", timeout=30) == "end_turn"
        assert "input() was not answered: the run stops" in client.message(sid)
        assert "**Not committed**: cancelled" in client.message(sid)


async def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    client = RecordingClient("allow_once")
    model = script(tmp_path, ["import time\ntime.sleep(30)"], delay=0.0)
    async with agent(client, model) as (conn, _):
        with pytest.raises(RequestError, match="Invalid params") as bad_cwd:
            await conn.new_session(cwd="relative/path", mcp_servers=[])
        assert "absolute path" in str(bad_cwd.value.data)
        sid = await new_session(conn, tmp_path)
        with pytest.raises(RequestError) as unknown:
            await prompt(conn, "no-such-session", "hello")
        assert "unknown session" in str(unknown.value.data)
        with pytest.raises(RequestError) as image:
            await conn.prompt(session_id=sid, prompt=[image_block("AAAA", "image/png")])
        assert "text only" in str(image.value.data)
        with pytest.raises(RequestError, match="Invalid params"):  # malformed content block
            await conn._conn.send_request(
                "session/prompt", {"sessionId": sid, "prompt": [{"type": "text"}]}
            )
        await conn.cancel(session_id="no-such-session")  # a notification: ignored, logged
        with pytest.raises(RequestError) as mode:
            await conn.set_session_mode(session_id=sid, mode_id="yolo")
        assert "unknown mode 'yolo'" in str(mode.value.data)
        running = asyncio.ensure_future(prompt(conn, sid, "sleep"))
        await client.wait_for(lambda: "in_progress" in client.statuses(sid))
        with pytest.raises(RequestError) as busy:
            await conn.prompt(session_id=sid, prompt=[text_block("another")])
        assert "already running" in str(busy.value.data)
        await conn.cancel(session_id=sid)
        assert await asyncio.wait_for(running, 30) == "cancelled"


async def test_client_going_away_leaves_nothing_running(tmp_path: Path) -> None:
    """The code starts a child, then asks for input(); the client never answers and leaves."""
    asked = asyncio.Event()

    class Leaving(RecordingClient):
        async def request_permission(self, session_id, tool_call, options, **kwargs):
            if "input" not in (tool_call.title or ""):
                return await super().request_permission(session_id, tool_call, options)
            asked.set()
            await asyncio.Event().wait()  # never answers: the client goes away instead

    client = Leaving("allow_once")
    code = "import subprocess\nsubprocess.Popen(['sleep', '300'])\ninput('wait? ')"
    async with agent(client, script(tmp_path, [code])) as (conn, proc):
        sids = [await new_session(conn, tmp_path), await new_session(conn, tmp_path)]
        turn = asyncio.ensure_future(prompt(conn, sids[0], "start a child and wait"))
        await asyncio.wait_for(asked.wait(), 60)
        left = reaper.descendants(proc.pid)
        assert len(left) >= 3  # two kernels and the sleep the code started
    # leaving the block closed stdin: the agent cancels, shuts its kernels down and exits
    assert proc.returncode == 0
    assert [pid for pid in left if reaper.running(pid)] == []
    with contextlib.suppress(ConnectionError):
        await turn


async def test_sigterm_mid_turn_cleans_up_and_exits_0(tmp_path: Path) -> None:
    """An editor stopping its agent with SIGTERM while code waits at input(): every kernel and
    the child the code started are gone, and the exit is a clean one."""
    asked = asyncio.Event()

    class Waiting(RecordingClient):
        async def request_permission(self, session_id, tool_call, options, **kwargs):
            if "input" not in (tool_call.title or ""):
                return await super().request_permission(session_id, tool_call, options)
            asked.set()
            await asyncio.Event().wait()

    code = "import subprocess\nsubprocess.Popen(['sleep', '300'])\ninput('wait? ')"
    async with agent(Waiting("allow_once"), script(tmp_path, [code])) as (conn, proc):
        sid = await new_session(conn, tmp_path)
        turn = asyncio.ensure_future(prompt(conn, sid, "start a child and wait"))
        await asyncio.wait_for(asked.wait(), 60)
        left = reaper.descendants(proc.pid)
        assert len(left) >= 2  # the kernel and the sleep the code started
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    assert [pid for pid in left if reaper.running(pid)] == []
    with contextlib.suppress(ConnectionError, RequestError):
        await turn


async def test_a_model_that_does_not_load_is_a_clear_error(tmp_path: Path) -> None:
    client = RecordingClient("allow_once")
    async with agent(client, f"scripted:{tmp_path / 'missing.json'}") as (conn, proc):
        with pytest.raises(RequestError, match="Internal error") as failed:
            await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
        assert "scripted model file not found" in str(failed.value.data)
        pids = reaper.descendants(proc.pid)
        assert [pid for pid in pids if reaper.running(pid)] == []  # its kernel is gone too


async def test_client_going_away_mid_generation(tmp_path: Path) -> None:
    client = RecordingClient("allow_once")
    model = script(tmp_path, ["x = 1\n" * 400], delay=0.05)  # ~10 s of streaming
    async with agent(client, model) as (conn, proc):
        sid = await new_session(conn, tmp_path)
        turn = asyncio.ensure_future(prompt(conn, sid, "stream for a while"))
        await client.wait_for(lambda: bool(client.of(sid, "agent_message_chunk")))
        left = reaper.descendants(proc.pid)
        assert left  # its kernel
    assert [pid for pid in left if reaper.running(pid)] == []
    with contextlib.suppress(ConnectionError):
        await turn
