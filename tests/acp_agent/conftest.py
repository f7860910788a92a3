"""Drive ``assistant acp`` as a client would: spawned with the SDK's ``spawn_agent_process``.

The SDK passes the child only a few environment variables (HOME, PATH, ...), so everything the
agent needs is passed explicitly: this checkout on PYTHONPATH, the test run's ASSISTANT_HOME
(sessions saved by one agent process are loaded by the next), the models folder, offline hub.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, spawn_agent_process
from acp.schema import AllowedOutcome, DeniedOutcome, RequestPermissionResponse

REPO = Path(__file__).resolve().parents[2]
MODELS = Path(os.environ.get("ASSISTANT_MODELS_DIR", REPO / ".cache" / "models"))


def agent_env(**extra: str) -> dict[str, str]:
    env = {
        "PYTHONPATH": str(REPO),
        "ASSISTANT_HOME": os.environ["ASSISTANT_HOME"],
        "ASSISTANT_MODELS_DIR": str(MODELS),
        "HF_HUB_OFFLINE": "1",
        "ASSISTANT_TIMEOUT": "30",
        "ASSISTANT_THREADS": "2",
    }
    env.update(extra)
    return env


def script(tmp_path: Path, turns: list[Any], **extra: Any) -> str:
    path = tmp_path / f"script-{len(list(tmp_path.glob('script-*')))}.json"
    path.write_text(json.dumps({"turns": turns, **extra}), encoding="utf-8")
    return f"scripted:{path}"


Chooser = Callable[[Any, list[Any]], "str | None"]


class RecordingClient:
    """A client that records every update and answers permission questions with ``choose``
    (an option id, or None for a cancelled question)."""

    def __init__(self, choose: str | Chooser | None = "allow_once") -> None:
        self.updates: dict[str, list[Any]] = {}
        self.questions: list[tuple[str, Any, list[Any]]] = []
        self.choose = choose
        self._changed = asyncio.Condition()

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.setdefault(session_id, []).append(update)
        async with self._changed:
            self._changed.notify_all()

    async def request_permission(
        self, session_id: str, tool_call: Any, options: list[Any], **kwargs: Any
    ) -> RequestPermissionResponse:
        self.questions.append((session_id, tool_call, options))
        async with self._changed:
            self._changed.notify_all()
        chosen = self.choose(tool_call, options) if callable(self.choose) else self.choose
        if chosen is None:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=chosen)
        )

    async def wait_for(self, check: Callable[[], bool], timeout: float = 60) -> None:
        async def waiting() -> None:
            async with self._changed:
                await self._changed.wait_for(check)

        await asyncio.wait_for(waiting(), timeout)

    # -- reading what arrived ---------------------------------------------------------------
    def kinds(self, session_id: str) -> list[str]:
        return [u.session_update for u in self.updates.get(session_id, [])]

    def of(self, session_id: str, kind: str) -> list[Any]:
        return [u for u in self.updates.get(session_id, []) if u.session_update == kind]

    def message(self, session_id: str) -> str:
        return "".join(u.content.text for u in self.of(session_id, "agent_message_chunk"))

    def statuses(self, session_id: str) -> list[str]:
        calls = self.of(session_id, "tool_call") + self.of(session_id, "tool_call_update")
        return [c.status for c in calls if c.status]

    def clear(self) -> None:
        self.updates.clear()


@asynccontextmanager
async def agent(
    client: RecordingClient, model: str, *args: str, **env: str
) -> AsyncIterator[tuple[Any, Any]]:
    """(connection, process) of a running ``assistant acp``, initialized."""
    command = [sys.executable, "-m", "assistant.cli", "acp", "--model", model, *args]
    # The SDK waits 2 s for the agent to exit after stdin closes, then sends SIGTERM: on a busy
    # machine shutting the kernels down takes longer, and the exit status then tells nothing.
    async with spawn_agent_process(
        client,
        command[0],
        *command[1:],
        env=agent_env(**env),
        cwd=str(REPO),
        transport_kwargs={"shutdown_timeout": 60.0},
    ) as (conn, proc):
        init = await asyncio.wait_for(conn.initialize(protocol_version=PROTOCOL_VERSION), 60)
        assert init.protocol_version == PROTOCOL_VERSION
        yield conn, proc


async def new_session(conn: Any, cwd: Path) -> str:
    made = await asyncio.wait_for(conn.new_session(cwd=str(cwd), mcp_servers=[]), 120)
    return str(made.session_id)


async def prompt(conn: Any, session_id: str, text: str, timeout: float = 120) -> str:
    from acp import text_block

    done = await asyncio.wait_for(
        conn.prompt(session_id=session_id, prompt=[text_block(text)]), timeout
    )
    return str(done.stop_reason)
