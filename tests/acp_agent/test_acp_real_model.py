"""One turn over ACP with each built-in real model: tokens stream, code runs, the turn ends.

Real models may write wrong code: this checks the mechanics (streamed chunks, tool calls that
ran, a plan, an ``end_turn``), not the answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acp_agent.conftest import RecordingClient, agent, new_session, prompt


@pytest.mark.kernel
@pytest.mark.llama
@pytest.mark.real_model
@pytest.mark.parametrize("name", ["smollm2-135m", "gemma3-270m"])
async def test_one_turn_with_a_real_model(name: str, tmp_path: Path) -> None:
    client = RecordingClient("allow_once")
    flags = ("--max-tokens", "48", "--attempts", "1", "--seed", "1")
    async with agent(client, name, *flags) as (conn, _):
        sid = await new_session(conn, tmp_path)
        assert await prompt(conn, sid, "print the sum of 2 and 3", timeout=240) == "end_turn"
        kinds = client.kinds(sid)
        assert kinds.count("agent_message_chunk") >= 3  # streamed, not sent in one piece
        assert "plan" in kinds
        assert client.of(sid, "tool_call")  # every candidate is a tool call, even with no code
        assert client.statuses(sid)[-1] in ("completed", "failed")
        message = client.message(sid)
        assert "**Committed**" in message or "**Not committed**" in message
