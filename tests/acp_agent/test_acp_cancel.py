"""session/cancel: generation stops, running code is interrupted, the prompt answers
``cancelled`` at once, and the session goes on from the state before the cancelled turn."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.acp_agent.conftest import RecordingClient, agent, new_session, prompt, script

LONG = "total = 0\n" + "".join(f"total += {i}\n" for i in range(200)) + "print(total)"


async def test_cancel_mid_generation(tmp_path: Path) -> None:
    client = RecordingClient("allow_once")
    model = script(tmp_path, [LONG, "print('after')"], delay=0.05)  # ~9 s to stream it all
    async with agent(client, model) as (conn, _):
        sid = await new_session(conn, tmp_path)
        turn = asyncio.ensure_future(prompt(conn, sid, "sum them"))
        await client.wait_for(lambda: bool(client.of(sid, "agent_message_chunk")))
        started = time.monotonic()
        await conn.cancel(session_id=sid)
        assert await asyncio.wait_for(turn, 30) == "cancelled"
        assert time.monotonic() - started < 5
        assert not client.of(sid, "tool_call")  # nothing was run
        client.clear()
        assert await prompt(conn, sid, "say after") == "end_turn"
        assert "**Committed**" in client.message(sid)


async def test_cancel_mid_execution_keeps_the_state_before_the_turn(tmp_path: Path) -> None:
    client = RecordingClient("allow_once")
    turns = [
        "x = 1\nprint(x)",
        "x = 99\nimport time\nprint('sleeping', flush=True)\ntime.sleep(60)",
        "print(x)",
    ]
    log = tmp_path / "agent.log"
    async with agent(client, script(tmp_path, turns), ASSISTANT_LOG=str(log)) as (conn, _):
        sid = await new_session(conn, tmp_path)
        assert await prompt(conn, sid, "x is 1") == "end_turn"
        turn = asyncio.ensure_future(prompt(conn, sid, "x is 99, then wait"))
        await client.wait_for(lambda: client.statuses(sid).count("in_progress") >= 3)
        started = time.monotonic()
        await conn.cancel(session_id=sid)
        assert await asyncio.wait_for(turn, 30) == "cancelled"
        assert time.monotonic() - started < 10, log.read_text()
        client.clear()
        assert await prompt(conn, sid, "print x") == "end_turn"
        last = client.of(sid, "tool_call_update")[-1]
        assert last.status == "completed" and last.raw_output["stdout"] == "1\n"


async def test_cancel_while_the_question_is_open(tmp_path: Path) -> None:
    """A client that never answers the permission question: cancel still ends the prompt."""
    gate = asyncio.Event()

    class Silent(RecordingClient):
        async def request_permission(self, session_id, tool_call, options, **kwargs):
            self.questions.append((session_id, tool_call, options))
            async with self._changed:
                self._changed.notify_all()
            await gate.wait()  # never set: only the agent's cancel ends the wait
            raise AssertionError("unreachable")

    client = Silent()
    async with agent(client, script(tmp_path, ["print(1)", "print(2)"])) as (conn, _):
        sid = await new_session(conn, tmp_path)
        turn = asyncio.ensure_future(prompt(conn, sid, "one"))
        await client.wait_for(lambda: bool(client.questions))
        await conn.cancel(session_id=sid)
        assert await asyncio.wait_for(turn, 30) == "cancelled"
        await conn.set_session_mode(session_id=sid, mode_id="always")
        assert await prompt(conn, sid, "two") == "end_turn"
