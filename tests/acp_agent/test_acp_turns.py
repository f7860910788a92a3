"""A turn over ACP: streamed tokens, execute tool calls with code, output, verdict and diff, a
plan, the committed code in the message; permission asked, granted, refused or skipped."""

from __future__ import annotations

from pathlib import Path

from tests.acp_agent.conftest import RecordingClient, agent, new_session, prompt, script


def _texts(update) -> str:
    parts = []
    for item in update.content or []:
        if item.type == "content":
            parts.append(item.content.text)
        elif item.type == "diff":
            parts.append(f"diff {item.path}: {item.old_text!r} -> {item.new_text!r}")
    return "\n".join(parts)


async def test_turns_stream_run_refine_and_commit(tmp_path: Path) -> None:
    client = RecordingClient("allow_once")
    turns = [["x = 40\nprint(x + 2)"], ["raise ValueError('not yet')", "print(x * 10)"]]
    async with agent(client, script(tmp_path, turns)) as (conn, _):
        sid = await new_session(conn, tmp_path)
        assert await prompt(conn, sid, "set x to 40 and print x + 2") == "end_turn"
        kinds = client.kinds(sid)
        assert kinds[0] == "available_commands_update"
        assert "plan" in kinds and "agent_message_chunk" in kinds
        # tokens stream before the tool call that runs them
        assert kinds.index("agent_message_chunk") < kinds.index("tool_call")
        assert client.statuses(sid) == ["pending", "in_progress", "in_progress", "completed"]
        start = client.of(sid, "tool_call")[0]
        assert start.kind == "execute" and "x = 40" in _texts(start)
        last = client.of(sid, "tool_call_update")[-1]
        assert "42" in _texts(last) and last.raw_output["stdout"] == "42\n"
        assert "**Committed** (attempt 1; passed)" in client.message(sid)
        assert client.of(sid, "plan")[-1].entries[0].status == "completed"

        client.clear()
        assert await prompt(conn, sid, "print x times ten") == "end_turn"
        first, second = client.of(sid, "tool_call")
        assert second.title == "Run attempt 2"
        assert "diff turn-2.py" in _texts(second)  # refinement: the diff to the last attempt
        updates = client.of(sid, "tool_call_update")
        failed = [u for u in updates if u.tool_call_id == first.tool_call_id and u.status]
        assert failed[-1].status == "failed" and "ValueError: not yet" in _texts(failed[-1])
        assert "400" in _texts(updates[-1])
        message = client.message(sid)
        assert "*Attempt 2: refine after:" in message and "print(x * 10)" in message
        plan = client.of(sid, "plan")[-1].entries
        assert [e.content for e in plan] == ["Attempt 1: first try", "Attempt 2: refine"]


async def test_permission_asked_refused_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    code = f"open({str(marker)!r}, 'w').write('ran')\nprint('done')"
    client = RecordingClient("reject_once")
    async with agent(client, script(tmp_path, [[code]]), "--attempts", "2") as (conn, _):
        sid = await new_session(conn, tmp_path)
        assert await prompt(conn, sid, "write the file") == "end_turn"
        assert not marker.exists()
        _, call, options = client.questions[0]
        assert [o.option_id for o in options] == ["allow_once", "allow_always", "reject_once"]
        assert call.kind == "execute" and "ran.txt" in call.raw_input["code"]
        # the tool call was shown before the question about it
        assert call.tool_call_id == client.of(sid, "tool_call")[0].tool_call_id
        first = call.tool_call_id
        updates = [u for u in client.of(sid, "tool_call_update") if u.tool_call_id == first]
        assert updates[-1].status == "failed" and "refused by the user" in _texts(updates[-1])
        assert "in_progress" not in client.statuses(sid)
        assert "**Not committed**" in client.message(sid)


async def test_allow_always_stops_asking(tmp_path: Path) -> None:
    client = RecordingClient("allow_always")
    async with agent(client, script(tmp_path, ["print(1)", "print(2)"])) as (conn, _):
        sid = await new_session(conn, tmp_path)
        await prompt(conn, sid, "one")
        await prompt(conn, sid, "two")
        assert len(client.questions) == 1
        assert client.of(sid, "current_mode_update")[0].current_mode_id == "always"
        assert client.message(sid).count("**Committed**") == 2


async def test_setting_and_mode_run_without_asking(tmp_path: Path) -> None:
    client = RecordingClient(None)  # would refuse, if it were asked
    model = script(tmp_path, ["print(1)", "print(2)"])
    async with agent(client, model, ASSISTANT_ACP_PERMISSION="always") as (conn, _):
        made = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
        assert made.modes.current_mode_id == "always"
        await prompt(conn, made.session_id, "one")
        assert not client.questions
        await conn.set_session_mode(session_id=made.session_id, mode_id="ask")
        await prompt(conn, made.session_id, "two")
        assert len(client.questions) == 1  # asked, refused (cancelled question): not run
        assert client.message(made.session_id).count("**Committed**") == 1


async def test_code_runs_in_the_client_cwd(tmp_path: Path) -> None:
    client = RecordingClient("allow_once")
    (tmp_path / "data.txt").write_text("hello from the project")
    async with agent(client, script(tmp_path, ["print(open('data.txt').read())"])) as (conn, _):
        sid = await new_session(conn, tmp_path)
        await prompt(conn, sid, "read data.txt")
        assert "hello from the project" in _texts(client.of(sid, "tool_call_update")[-1])
