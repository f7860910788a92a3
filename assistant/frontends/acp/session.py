"""One ACP session: a controller (model + kernel + engine), its view, and the client it talks to.

Everything the session sends goes through one FIFO (``send``), drained by one task in order, so
streamed tokens, tool calls and the final message reach the client in the order the engine
emitted them, whatever thread an event came from. ``flush()`` waits until everything queued so
far is written: a prompt answers only after its updates, a permission question only after the
tool call it is about.

One prompt at a time per session (a second one is refused with a JSON-RPC error, not queued);
``cancel()`` stops generation between tokens, interrupts running code, answers any pending
question as rejected, and the prompt ends with ``cancelled``. The engine keeps its invariant:
the kernel is rebuilt to the committed state before anything runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acp import RequestError, update_agent_message_text
from acp.helpers import SessionUpdate, update_current_mode
from acp.interfaces import Client
from acp.schema import (
    PermissionOption,
    RequestPermissionResponse,
    StopReason,
    ToolCallUpdate,
)

from assistant.config import Settings
from assistant.engine import events
from assistant.engine.session import Session
from assistant.frontends.acp import permission
from assistant.frontends.acp.commands import commands_update, run_command
from assistant.frontends.acp.view import AcpView
from assistant.frontends.commands import CommandError, parse, turn_text
from assistant.frontends.controller import Controller
from assistant.models import engine_style

log = logging.getLogger(__name__)


class AcpSession:
    def __init__(
        self,
        client: Client,
        settings: Settings,
        session: Session,
        session_path: Path | None = None,
    ) -> None:
        self.client = client
        self.ctl = Controller(settings, self.on_event, session=session, session_path=session_path)
        self.ctl.keep_session_id = True  # the client knows the session by this id: keep it
        self.ctl.ask = self.ask
        self.ctl.approve = self.approve
        self.id = session.id
        self.mode = settings.acp_permission
        self.view = AcpView()
        self.busy = False
        self.cancelling = False
        self._queue: asyncio.Queue[SessionUpdate | asyncio.Future[None]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._sender = asyncio.ensure_future(self._send_all())
        self._question: asyncio.Future[Any] | None = None
        self._turn: asyncio.Future[None] | None = None
        self._client_gone = False

    async def start(self) -> None:
        await self.ctl.start()
        self._restyle()

    def _restyle(self) -> None:
        """Fence streamed tokens for completion models; a chat model writes its own fences."""
        if self.ctl.model is not None:
            style = engine_style(self.ctl.model, self.ctl.settings.chat)
            self.view.fence = style == "completion"

    # -- sending ----------------------------------------------------------------------------
    def send(self, update: SessionUpdate | asyncio.Future[None]) -> None:
        """Queue an update; safe from any thread, and in order with every other send."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, update)

    def on_event(self, event: events.EngineEvent) -> None:
        for update in self.view.updates(event):
            self.send(update)

    async def flush(self) -> None:
        if self._sender.done():  # closed: nothing will be written any more
            return
        done: asyncio.Future[None] = self._loop.create_future()
        self.send(done)
        await done

    async def _send_all(self) -> None:
        while True:
            item = await self._queue.get()
            if isinstance(item, asyncio.Future):
                if not item.done():
                    item.set_result(None)
                continue
            if self._client_gone:
                continue
            try:
                await self.client.session_update(session_id=self.id, update=item)
            except Exception as exc:  # the client went away: keep draining, stop writing
                log.info("session %s: updates no longer delivered (%s)", self.id, exc)
                self._client_gone = True

    # -- turns and commands -----------------------------------------------------------------
    async def prompt(self, text: str) -> StopReason:
        if self.busy:
            raise RequestError.invalid_request(
                {"message": "a prompt is already running in this session: wait or cancel it"}
            )
        self.busy, self.cancelling = True, False
        # Its own task, so that when the request is cancelled (the client went away) the turn
        # still ends the engine's way: generation stopped, code interrupted, the thread done.
        self._turn = asyncio.ensure_future(self._run(text))
        try:
            await asyncio.shield(self._turn)
        except asyncio.CancelledError:
            self.cancel()
            raise
        finally:
            await self.flush()
            self.busy = False
        return "cancelled" if self.cancelling else "end_turn"

    async def _run(self, text: str) -> None:
        try:
            cmd = parse(text)
        except CommandError as exc:
            self.send(update_agent_message_text(str(exc)))
            return
        if cmd is None:
            await self.ctl.run_turn(turn_text(text))
            return
        reply = await run_command(self.ctl, cmd)
        if cmd.name == "model":
            self._restyle()
        if cmd.name == "mtpb" and self.cancelling:
            reply += " (cancelled)"
        self.send(update_agent_message_text(reply + "\n"))

    def cancel(self) -> None:
        if self._turn is None or self._turn.done():
            return
        self.cancelling = True
        self.ctl.cancel()
        if self._question is not None:
            self._question.cancel()

    def set_mode(self, mode: str) -> None:
        if mode not in permission.MODES:
            known = ", ".join(permission.MODES)
            raise RequestError.invalid_params({"message": f"unknown mode {mode!r} ({known})"})
        self.mode = mode
        self.send(update_current_mode(mode))

    def advertise_commands(self) -> None:
        self.send(commands_update())

    # -- what the engine asks ----------------------------------------------------------------
    async def _ask_client(self, question: ToolCallQuestion) -> RequestPermissionResponse | None:
        """The client's answer, or None when the question was cancelled or failed."""
        await self.flush()  # the tool call it is about is shown first
        if self.cancelling:
            return None
        task = asyncio.ensure_future(
            self.client.request_permission(
                session_id=self.id, tool_call=question.call, options=question.options
            )
        )
        self._question = task
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            self._question = None
        if task.cancelled():
            return None
        try:
            return task.result()
        except Exception as exc:  # the client refused the request or went away: reject
            log.info("session %s: permission request failed: %s", self.id, exc)
            return None

    async def approve(self, turn: int, attempt: int, candidate: int, code: str) -> bool:
        """EngineOptions.approve: ask the client unless the mode is "always"."""
        if self.mode == "always":
            return True
        call_id = self.view.call_id(turn, attempt, candidate) or self.view.next_id()
        title = f"Run attempt {attempt + 1}" + (f", candidate {candidate + 1}" if candidate else "")
        question = ToolCallQuestion(
            permission.run_question(call_id, title, code), permission.RUN_OPTIONS
        )
        choice = permission.decision(await self._ask_client(question))
        if choice == "allow_always":
            self.set_mode("always")
        return choice != "reject"

    async def ask(self, prompt: str, password: bool) -> str:
        """EngineOptions.ask: input() in the running code; an empty line, or stop the run."""
        call_id = self.view.last_input or self.view.next_id("input")
        question = ToolCallQuestion(
            permission.input_question(call_id, prompt, password), permission.INPUT_OPTIONS
        )
        answer = await self._ask_client(question)
        if permission.decision(answer) == "reject":
            self.send(update_agent_message_text("\n\ninput() was not answered: the run stops\n"))
            self.ctl.cancel()
        return ""

    # -- load and close ---------------------------------------------------------------------
    async def replay_history(self) -> None:
        """A loaded session's transcript as updates (``AcpView.history``), all sent."""
        for update in self.view.history(self.ctl.session.turns):
            self.send(update)
        await self.flush()

    async def close(self) -> None:
        """Stop the turn, wait until it has stopped (the model thread too), then shut down."""
        self.cancel()
        if self._turn is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._turn
        try:
            await self.ctl.close()
        finally:
            self._sender.cancel()


@dataclass(frozen=True)
class ToolCallQuestion:
    """A permission question: the tool call it is about and the options offered."""

    call: ToolCallUpdate
    options: list[PermissionOption]
