"""``assistant repl``: the same engine and commands in line mode (prompt-toolkit).

Enter sends a line; Esc then Enter (or Alt+Enter) inserts a newline for multi-line turns;
Up/Down and Ctrl+R search the history file in the data folder. Code is printed highlighted
with pygments. Ctrl+C while a turn runs cancels it (and interrupts running code); Ctrl+D quits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant import paths
from assistant.config import Settings
from assistant.engine.session import Session
from assistant.errors import AssistantError, bug_message, report_bug
from assistant.frontends.commands import CommandError, parse, turn_text
from assistant.frontends.controller import Controller
from assistant.frontends.textview import TextView, describe_line
from assistant.sessions import store


def history_path() -> Path:
    return paths.data_dir(ensure=True) / "repl_history"


class Repl:
    def __init__(
        self,
        settings: Settings,
        *,
        model: Any = None,
        session: Session | None = None,
        session_path: Path | None = None,
        input: Any = None,
        output: Any = None,
        echo: Callable[[str], None] | None = None,
        history: Path | None = None,
    ) -> None:
        self.input, self.output, self.echo = input, output, echo
        self.history = history
        self.view = TextView(self.write, self.write_code)
        self.ctl = Controller(
            settings, self.view, model=model, session=session, session_path=session_path
        )
        self.ctl.ask = self.ask
        self._answers: Any = None

    # -- output ---------------------------------------------------------------------------
    def write(self, text: str) -> None:
        if self.echo is not None:
            self.echo(text)
            return
        from prompt_toolkit import print_formatted_text

        print_formatted_text(text, output=self.output)

    def write_code(self, code: str) -> None:
        if self.echo is not None:
            for line in code.rstrip("\n").splitlines():
                self.echo("    " + line)
            return
        from prompt_toolkit import print_formatted_text
        from prompt_toolkit.formatted_text import PygmentsTokens
        from pygments import lex
        from pygments.lexers.python import PythonLexer

        indented = "".join("    " + ln + "\n" for ln in code.rstrip("\n").splitlines())
        tokens = list(lex(indented, PythonLexer()))
        print_formatted_text(PygmentsTokens(tokens), end="", output=self.output)

    # -- loop -----------------------------------------------------------------------------
    def _session(self) -> Any:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory
        from prompt_toolkit.key_binding import KeyBindings

        keys = KeyBindings()

        @keys.add("escape", "enter")
        def _newline(event: Any) -> None:
            event.current_buffer.insert_text("\n")

        hist = FileHistory(str(self.history or history_path())) if self.echo is None else None
        return PromptSession(
            history=hist or InMemoryHistory(),
            key_bindings=keys,
            input=self.input,
            output=self.output,
            multiline=False,
            prompt_continuation="... ",
        )

    async def run(self) -> int:
        self.write("starting the kernel…")
        await self.ctl.start()
        self.write("model: " + describe_line(self.ctl.describe_model()))
        self.write(self.ctl.sandbox_notice())
        if self.ctl.session.turns:
            self.write(f"resuming session {self.ctl.session.id}:")
            for turn in self.ctl.session.turns:
                self.write(f"  [{turn.index + 1}] {turn.text}  ({turn.status})")
            await self.ctl.resume()
        self.write("Type a step in plain words; /help lists commands; Ctrl+D quits.")
        prompt = self._session()
        try:
            while True:
                try:
                    line = await prompt.prompt_async("› ")
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                if not await self.handle(line, prompt):
                    break
        finally:
            await self.ctl.close()
            if self.ctl.session_path is not None:
                self.write(f"session saved: {self.ctl.session_path}")
        return 0

    async def ask(self, prompt: str, password: bool) -> str:
        """input() in the running code: asked on the prompt line. Ctrl+C or Ctrl+D cancels
        the turn (the kernel gets an empty answer, then the interrupt)."""
        if self._answers is None:
            from prompt_toolkit import PromptSession

            # Its own session: answers (passwords too) stay out of the history file.
            self._answers = PromptSession(input=self.input, output=self.output)
        session = self._answers
        try:
            return str(await session.prompt_async(prompt or "input> ", is_password=password))
        except (KeyboardInterrupt, EOFError):
            self.write("input cancelled: the turn is stopped")
            self.view.input_cancelled = True
            self.ctl.cancel()
            from assistant.execution.cell import InputCancelled

            raise InputCancelled from None

    async def handle(self, line: str, prompt: Any) -> bool:
        """Run one input line; False means quit."""
        if not line.strip():
            return True
        try:
            cmd = parse(line)
        except CommandError as exc:
            self.write(str(exc))
            return True
        if cmd is None:
            await self._guarded(self.ctl.run_turn(turn_text(line)))
            self._show_variables(await self.ctl.variables())
            return True
        if cmd.name == "quit":
            return False
        if cmd.name == "edit":
            await self._edit(cmd.arg, prompt)
        else:
            try:
                self.write(await self._guarded(self.ctl.command(cmd)) or "")
            except (AssistantError, OSError) as exc:  # ModelError from /model, a full disk...
                self.write(f"/{cmd.name} failed: {exc}")
            except Exception as exc:
                # A bug in one command must not end the session the user is in: its traceback
                # goes to the log, the line here says where.
                self.write(f"/{cmd.name} failed: {bug_message(exc, report_bug(exc, cmd.name))}")
        return True

    async def _guarded(self, coro: Any) -> Any:
        """Await a turn with Ctrl+C mapped to cancel (generation stops, code is interrupted)."""
        loop = asyncio.get_running_loop()
        installed = False
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, self.ctl.cancel)
            installed = True
        try:
            return await coro
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGINT)

    async def _edit(self, arg: str, prompt: Any) -> None:
        turns = self.ctl.session.turns
        try:
            turn = turns[int(arg) - 1 if arg else -1]
        except (ValueError, IndexError):
            self.write(f"/edit: no turn {arg or 'yet'}")
            return
        best = turn.attempts[-1].best if turn.attempts else None
        code = turn.code or (best.code if best is not None else "")
        self.write("edit the code; Esc then Enter runs it")
        new = await prompt.prompt_async("edit> ", default=code, multiline=True)
        if new.strip():
            await self._guarded(self.ctl.edit(turn.index, new))
            self._show_variables(await self.ctl.variables())

    def _show_variables(self, rows: list[tuple[str, str, str]]) -> None:
        if rows:
            shown = ", ".join(f"{name}: {type_}" for name, type_, _ in rows[:8])
            more = f" (+{len(rows) - 8})" if len(rows) > 8 else ""
            self.write(f"  variables: {shown}{more}")


def main(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.logs import log_app_to_file

    log_app_to_file()
    loaded = store.resume_from_args(args)
    if loaded is None:
        return 1
    session, path = loaded
    return asyncio.run(Repl(settings, session=session, session_path=path).run())
