"""The full-screen app: transcript, input line, side panel; the engine runs in async workers.

The kernel client is asyncio, so engine work runs as async workers on the app's loop (model
decoding itself happens in the engine's thread); engine events arrive as messages posted to
the transcript. One ``Worker.StateChanged`` handler reports failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from assistant.config import Settings
from assistant.engine import events
from assistant.engine.session import Session, SessionError
from assistant.errors import AssistantError, bug_message, report_bug
from assistant.frontends.commands import (
    Command,
    CommandError,
    CommandSpec,
    help_text,
    parse,
    turn_text,
)
from assistant.frontends.controller import Controller
from assistant.frontends.demo_problem import TURN_PAUSE_FACTOR, DemoProblem, turn_kwargs
from assistant.frontends.tui.history import load_history, save_history
from assistant.frontends.tui.palette import SlashCommands
from assistant.frontends.tui.screens import CannotOpen
from assistant.frontends.tui.screens.edit import edit_screen
from assistant.frontends.tui.widgets.prompt_input import PromptInput
from assistant.frontends.tui.widgets.side import SidePanel
from assistant.frontends.tui.widgets.transcript import Transcript

if TYPE_CHECKING:
    from assistant.frontends.tui.screens.mtpb import MtpbChoice
    from assistant.models import Model

NO_MODEL_HINT = (
    "No model configured, so only the MTPB reference solutions are loaded: they answer "
    "benchmark turns, not free-form ones. Type /model PATH.gguf (or openai:URL#MODEL) to "
    "use a model, /mtpb to play a benchmark problem, /help for more. "
    "`assistant demo` shows a guided example."
)


class AssistantApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses may live elsewhere
    TITLE = "assistant"
    COMMANDS = App.COMMANDS | {SlashCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel generation"),
        Binding("ctrl+c", "interrupt", "Interrupt code", priority=True),
        Binding("ctrl+f", "skip", "Skip pacing", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        model: Model | None = None,
        session: Session | None = None,
        session_path: Path | None = None,
        demo: DemoProblem | None = None,
        fast: bool = False,
        autosave: bool | None = None,
        history: list[str] | None = None,
        autoplay: MtpbChoice | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.demo = demo
        self.autoplay = autoplay  # an MtpbChoice to play once the kernel is up (demo --problem)
        self.fast = fast
        self.busy = False
        self.ready = False
        self.history = history
        self.ctl = Controller(
            settings,
            self._on_engine_event,
            model=model,
            session=session,
            session_path=session_path,
            autosave_enabled=autosave,
        )
        self.ctl.ask = self._ask

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Transcript(id="transcript")
                yield PromptInput(
                    history=self.history if self.history is not None else load_history(),
                    placeholder="starting the kernel…",
                    id="prompt",
                )
            yield SidePanel(id="side")
        yield Footer()

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    def on_mount(self) -> None:
        self.sub_title = "demo" if self.demo is not None else ""
        self.prompt.focus()
        # Start the kernel after the first frame is on screen: startup feels instant.
        self.call_after_refresh(self._boot)

    # -- engine plumbing ------------------------------------------------------------------
    async def _ask(self, prompt: str, password: bool) -> str:
        """input() in the running code: a dialog; Esc cancels the turn."""
        from assistant.frontends.tui.screens.ask import AskScreen

        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

        def done(value: str | None) -> None:
            if not answer.done():
                answer.set_result(value)

        self.push_screen(AskScreen(prompt, password), done)
        value = await answer
        if value is None:
            self.note("input cancelled: the turn is stopped", "warning")
            self.ctl.cancel()
            from assistant.execution.cell import InputCancelled

            raise InputCancelled
        self.note(f"input: {prompt}{'(hidden)' if password else value}")
        return value

    def _on_engine_event(self, event: events.EngineEvent) -> None:
        self.transcript.post_message(Transcript.EngineEvent(event))

    def note(self, message: str, level: str = "info") -> None:
        self.transcript.note(message, level)

    def _set_busy(self, busy: bool, placeholder: str | None = None) -> None:
        self.busy = busy
        if placeholder is None:
            placeholder = (
                "working… Esc cancels generation, Ctrl+C interrupts the code"
                if busy
                else "describe the next step, or /help"
            )
        self.prompt.placeholder = placeholder

    @work(exclusive=True, group="engine", exit_on_error=False)
    async def _boot(self) -> None:
        self._set_busy(True, "starting the kernel…")
        # The Jupyter client imports take a moment: keep them off the loop.
        await asyncio.to_thread(importlib.import_module, "jupyter_client.manager")
        await self.ctl.start()
        self.query_one(SidePanel).show_backend(self.ctl.describe_model())
        if self.settings.sandbox == "auto":  # what the default picked on this machine
            self.note(self.ctl.sandbox_notice())
        self.sub_title = self.ctl.session.model if self.demo is None else "demo"
        if self.ctl.session.turns:
            self.transcript.show_session(self.ctl.session)
            await self.ctl.resume()
            await self._refresh_variables()
        self.ready = True
        if self.demo is None and not self.settings.model and not self.ctl.session.turns:
            self.note(NO_MODEL_HINT, "warning")
        if self.demo is not None:
            await self._play_demo(self.demo)
        self._set_busy(False)
        if self.autoplay is not None:
            self.play_mtpb(self.autoplay)

    async def _play_demo(self, problem: DemoProblem) -> None:
        self.note(
            f"Demo: {problem.name}, {len(problem.turns)} turns. Ctrl+F skips the pacing.",
        )
        for i, turn in enumerate(problem.turns):
            self._set_busy(True, f"demo: turn {i + 1} of {len(problem.turns)} (Ctrl+F: faster)")
            if i and not self.fast:
                await asyncio.sleep(self.settings.demo_delay * TURN_PAUSE_FACTOR)
            await self.ctl.run_turn(turn.text, **turn_kwargs(problem, i))
            await self._refresh_variables()
        self.note(
            "Demo finished. Scroll up to review it; /export FILE writes it as a notebook; "
            "/model SPEC switches to a real model; Ctrl+Q quits."
        )

    async def _refresh_variables(self) -> None:
        self.query_one(SidePanel).show_variables(await self.ctl.variables())

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "engine":
            return
        if event.state == WorkerState.ERROR:
            err = event.worker.error
            if isinstance(err, AssistantError):  # the message is written for the user
                self.note(f"error: {err}", "error")
            elif err is not None:  # a bug: the traceback goes to the log, the app keeps going
                self.note(f"error: {bug_message(err, report_bug(err, event.worker.name))}", "error")
            self._set_busy(False)
        elif event.state == WorkerState.CANCELLED:
            self._set_busy(False)

    # -- input ----------------------------------------------------------------------------
    @on(PromptInput.Submitted, "#prompt")
    def _submitted(self, event: PromptInput.Submitted) -> None:
        line = event.value
        if not line.strip():
            return
        try:
            cmd = parse(line)
        except CommandError as exc:
            self.note(str(exc), "warning")
            return
        if self.busy and not (cmd and cmd.name in ("help", "test", "expect", "quit")):
            self.note("busy: wait for the current step, or Esc to cancel it", "warning")
            return
        self.prompt.remember(line)
        save_history(line)
        self.prompt.value = ""
        if cmd is None:
            self._run_turn(turn_text(line))
        else:
            self.run_command(cmd)

    @work(exclusive=True, group="engine", exit_on_error=False)
    async def _run_turn(self, text: str) -> None:
        self._set_busy(True)
        try:
            await self.ctl.run_turn(text)
            await self._refresh_variables()
        finally:
            self._set_busy(False)

    def run_command(self, cmd: Command) -> None:
        if cmd.name == "quit":
            self.run_worker(self.action_quit(), group="quit")
        elif cmd.name == "help":
            self.note(help_text())
        elif cmd.name == "edit":
            self._open_editor(cmd.arg)
        elif cmd.name == "mtpb":
            self._open_mtpb(cmd.arg)
        else:
            self._command(cmd)

    @work(exclusive=True, group="engine", exit_on_error=False)
    async def _command(self, cmd: Command) -> None:
        self._set_busy(True)
        try:
            message = await self.ctl.command(cmd)
            if cmd.name in ("undo", "reset", "retry"):
                self.transcript.post_message(Transcript.ShowSession(self.ctl.session))
                await self._refresh_variables()
            if cmd.name == "model":
                self.query_one(SidePanel).show_backend(self.ctl.describe_model())
                self.sub_title = self.ctl.session.model
            self.transcript.post_message(Transcript.Note(message))
        except (SessionError, OSError, ValueError) as exc:
            self.note(str(exc), "error")
        except AssistantError as exc:  # e.g. ModelError from /model: report, keep the session
            self.note(f"/{cmd.name} failed: {exc}", "error")
        # anything else is a bug: _worker_changed reports it with its traceback
        finally:
            self._set_busy(False)

    @on(SlashCommands.Chosen)
    def _palette_chosen(self, event: SlashCommands.Chosen) -> None:
        self.palette_command(event.spec)

    def palette_command(self, spec: CommandSpec) -> None:
        """From the command palette: run it, or prefill the input when it needs an argument."""
        if spec.needs_arg:
            self.prompt.value = f"/{spec.name} "
            self.prompt.cursor_position = len(self.prompt.value)
            self.prompt.focus()
        else:
            self.run_command(Command(spec.name))

    # -- /edit and /mtpb ------------------------------------------------------------------
    def _open_editor(self, arg: str) -> None:
        try:
            screen = edit_screen(self.ctl.session.turns, arg)
        except CannotOpen as exc:
            self.note(str(exc), "warning")
            return

        def done(new_code: str | None) -> None:
            if new_code is not None:
                self._run_edit(screen.turn_index, new_code)

        self.push_screen(screen, done)

    @work(exclusive=True, group="engine", exit_on_error=False)
    async def _run_edit(self, index: int, code: str) -> None:
        self._set_busy(True)
        try:
            await self.ctl.edit(index, code)
            self.transcript.post_message(Transcript.ShowSession(self.ctl.session))
            await self._refresh_variables()
        finally:
            self._set_busy(False)

    def _open_mtpb(self, arg: str) -> None:
        from assistant.frontends.tui.screens.mtpb import problem_browser

        try:
            browser = problem_browser(arg)
        except CannotOpen as exc:
            self.note(str(exc), "warning")
            return

        def chosen(choice: MtpbChoice | None) -> None:
            if choice is not None:
                self.play_mtpb(choice)

        self.push_screen(browser, chosen)

    def play_mtpb(self, choice: MtpbChoice) -> None:
        if self.busy:
            self.note("busy: wait for the current step, or Esc to cancel it", "warning")
            return
        self._play_mtpb(choice)

    @work(exclusive=True, group="engine", exit_on_error=False)
    async def _play_mtpb(self, choice: MtpbChoice) -> None:
        self._set_busy(True, f"MTPB problem {choice.problem.id}: playing…")
        try:
            self.transcript.clear_turns()
            self.note(
                f"MTPB {choice.problem.id}. {choice.problem.name}, test case {choice.case + 1}, "
                f"{'reference solutions' if choice.reference else self.ctl.session.model}"
            )
            # the play of /mtpb in the REPL and the ACP agent: a fresh session, then the turns
            verdict = await self.ctl.play(choice.problem, choice.case, choice.reference)
            self.transcript.post_message(
                Transcript.Note(verdict.text, "info" if verdict.passed else "warning")
            )
            await self._refresh_variables()
        finally:
            self._set_busy(False)

    # -- keys -----------------------------------------------------------------------------
    def action_cancel(self) -> None:
        if self.busy:
            self.ctl.cancel()
            self.note("cancelling…")

    async def action_interrupt(self) -> None:
        await self.ctl.interrupt()
        self.note("interrupt sent to the kernel")

    def action_skip(self) -> None:
        self.fast = True
        model: Any = self.ctl.model
        if hasattr(model, "delay"):
            model.delay = 0.0

    async def action_quit(self) -> None:
        self.ctl.cancel()
        # Quitting must always work, even when the kernel does not answer.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ctl.close(), timeout=5)
        self.exit(0)
