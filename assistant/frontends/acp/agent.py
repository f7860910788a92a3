"""The ACP agent: protocol methods mapped onto sessions (``session.AcpSession``).

Each ``session/new`` starts its own model and kernel in the client's ``cwd`` (the user's
settings and ``--model`` apply), so one agent process serves several sessions at once, as
jupyter-ai uses it. ACP session ids are the assistant's session ids: ``session/load`` finds the
autosaved file by that id, replays its transcript as updates and rebuilds the kernel state.

Bad input is a JSON-RPC error that says what was wrong (unknown session, a prompt while one
runs, content this agent cannot read); the SDK itself answers malformed requests with
"Invalid params".
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, RequestError
from acp.interfaces import Client
from acp.schema import (
    AgentCapabilities,
    Implementation,
    InitializeResponse,
    LoadSessionResponse,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    SetSessionModeResponse,
)

from assistant import __version__
from assistant.config import Settings
from assistant.engine.session import Session, SessionError
from assistant.errors import AssistantError
from assistant.frontends.acp.permission import mode_state
from assistant.frontends.acp.session import AcpSession
from assistant.sessions import store

log = logging.getLogger(__name__)


def prompt_text(blocks: list[Any]) -> str:
    """The turn's text from the prompt's content blocks (text, links, embedded text files)."""
    parts: list[str] = []
    for block in blocks:
        kind = getattr(block, "type", None)
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource_link":
            parts.append(f"{block.name} ({block.uri})")
        elif kind == "resource" and hasattr(block.resource, "text"):
            parts.append(f"\n{block.resource.uri}:\n{block.resource.text}")
        else:
            raise RequestError.invalid_params(
                {"message": f"this agent reads text only: cannot use a {kind!r} content block"}
            )
    text = "\n".join(p for p in parts if p).strip()
    if not text:
        raise RequestError.invalid_params({"message": "the prompt has no text"})
    return text


class AssistantAgent:
    """Implements the SDK's ``Agent`` protocol (the methods it routes by name)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions: dict[str, AcpSession] = {}
        self.client: Client | None = None

    def on_connect(self, conn: Client) -> None:
        self.client = conn

    async def initialize(self, protocol_version: int, **kwargs: Any) -> InitializeResponse:
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=True,
                prompt_capabilities=PromptCapabilities(
                    image=False, audio=False, embedded_context=True
                ),
            ),
            agent_info=Implementation(
                name="assistant", title="MTPB programming assistant", version=__version__
            ),
            auth_methods=[],
        )

    async def new_session(self, cwd: str, **kwargs: Any) -> NewSessionResponse:
        session = await self._open(cwd, Session())
        # Queued now, written after this response (the SDK queues the response first, in
        # the same step as this return): the client knows the session id by then.
        session.advertise_commands()
        return NewSessionResponse(session_id=session.id, modes=mode_state(session.mode))

    async def load_session(self, cwd: str, session_id: str, **kwargs: Any) -> LoadSessionResponse:
        if session_id in self.sessions:
            raise RequestError.invalid_request(
                {"message": f"session {session_id} is already open in this agent"}
            )
        try:
            saved, path = store.load(session_id)
        except SessionError as exc:
            raise RequestError.invalid_params(
                {"sessionId": session_id, "message": str(exc)}
            ) from None
        session = await self._open(cwd, saved, path)
        await session.replay_history()
        try:
            await session.ctl.resume()
        finally:
            await session.flush()
        session.advertise_commands()
        return LoadSessionResponse(modes=mode_state(session.mode))

    async def prompt(self, prompt: list[Any], session_id: str, **kwargs: Any) -> PromptResponse:
        session = self._get(session_id)
        stop = await session.prompt(prompt_text(prompt))
        return PromptResponse(stop_reason=stop)

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        session = self.sessions.get(session_id)
        if session is None:  # a notification: nobody to answer with an error
            log.info("cancel for unknown session %s ignored", session_id)
            return
        session.cancel()

    async def set_session_mode(
        self, mode_id: str, session_id: str, **kwargs: Any
    ) -> SetSessionModeResponse:
        self._get(session_id).set_mode(mode_id)
        return SetSessionModeResponse()

    async def close(self) -> None:
        """The client went away: stop every turn, shut every kernel down."""
        sessions, self.sessions = list(self.sessions.values()), {}
        # All at once: a client gives an agent a couple of seconds before it kills it.
        closed = await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
        for session, result in zip(sessions, closed, strict=True):
            if isinstance(result, BaseException):  # the others were still closed
                log.error("closing session %s failed: %r", session.id, result)

    # -- helpers ----------------------------------------------------------------------------
    def _get(self, session_id: str) -> AcpSession:
        session = self.sessions.get(session_id)
        if session is None:
            open_ = ", ".join(self.sessions) or "none"
            raise RequestError.invalid_params(
                {"sessionId": session_id, "message": f"unknown session (open: {open_})"}
            )
        return session

    async def _open(self, cwd: str, saved: Session, path: Path | None = None) -> AcpSession:
        if self.client is None:
            raise RequestError.internal_error({"message": "no client connection"})
        folder = Path(cwd)
        if not folder.is_absolute() or not folder.is_dir():
            raise RequestError.invalid_params(
                {"cwd": cwd, "message": "cwd must be the absolute path of an existing folder"}
            )
        settings = dataclasses.replace(self.settings, workdir=str(folder))
        session = AcpSession(self.client, settings, saved, path)
        try:
            await session.start()
        except AssistantError as exc:  # a model that does not load, a kernel that won't start
            await session.close()
            raise RequestError.internal_error({"message": str(exc)}) from exc
        except BaseException:  # a bug, or the request cancelled: no kernel left behind
            await asyncio.shield(session.close())
            raise
        self.sessions[session.id] = session
        log.info("session %s opened in %s", session.id, folder)
        return session
