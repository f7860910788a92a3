"""What the TUI and the REPL share: model + kernel + engine lifecycle, commands, autosave.

UI-free and async: the front end awaits these coroutines on its own event loop (the kernel
client is asyncio) and gets engine events through ``on_event``, possibly from a model thread,
so the callback must be thread-safe (Textual's ``post_message`` is).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.engine import events
from assistant.engine.session import Session, Turn
from assistant.errors import AssistantError, report_bug
from assistant.frontends.commands import Command, help_text
from assistant.frontends.loading import load_model_for
from assistant.models import Model, engine_style
from assistant.sessions import store

if TYPE_CHECKING:
    from assistant.engine.engine import Engine
    from assistant.engine.options import Approve, Ask
    from assistant.execution import Kernel
    from assistant.mtpb.play import PlayVerdict
    from assistant.mtpb.problems import Problem

OnEvent = Callable[[events.EngineEvent], None]

# A user expression evaluated in the kernel after each turn: JSON [[name, type, repr], ...].
# reprlib keeps huge objects cheap; modules and IPython's own names are noise in the panel.
VARIABLES_EXPR = (
    "__import__('json').dumps(sorted([k, type(v).__name__, __import__('reprlib').repr(v)]"
    " for k, v in list(globals().items()) if not k.startswith('_')"
    " and k not in ('In', 'Out', 'get_ipython', 'exit', 'quit', 'open')"
    " and type(v).__name__ != 'module'))"
)

# Events after which the session has changed in a way worth keeping on disk.
_SAVE_ON = (
    events.AttemptStarted,
    events.ExecutionFinished,
    events.CheckFinished,
    events.TurnCommitted,
    events.TurnFailed,
    events.StateRestored,
)


@dataclass
class Pending:
    """Checks typed with /test and /expect, attached to the next turn."""

    tests: list[str] = field(default_factory=list)
    expect: Any = None
    has_expect: bool = False

    def clear(self) -> None:
        self.tests.clear()
        self.expect, self.has_expect = None, False


def literal(text: str) -> Any:
    """A Python literal if it parses as one, else the text itself (``/expect hello``)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def default_model_spec(settings: Settings) -> str:
    return settings.model or "reference"


class Controller:
    def __init__(
        self,
        settings: Settings,
        on_event: OnEvent,
        *,
        model: Model | None = None,
        session: Session | None = None,
        session_path: Path | None = None,
        autosave_enabled: bool | None = None,
    ) -> None:
        self.settings = settings
        self.on_event = on_event
        self.model = model
        self.session = session or Session()
        self.session_path = session_path
        self.autosave = settings.autosave if autosave_enabled is None else autosave_enabled
        self.kernel: Kernel | None = None
        self.engine: Engine | None = None
        self.pending = Pending()
        self.save_error: str | None = None
        # Set by interactive front ends before start(): answers input() in the running code.
        # Every engine the controller builds gets it (EngineOptions.ask).
        self.ask: Ask | None = None
        # Set by front ends that must ask before code runs (the ACP agent): EngineOptions.approve.
        self.approve: Approve | None = None
        # True: /reset and /mtpb keep the session's id (the ACP client knows it by that id,
        # and session/load finds its file by it); the new transcript replaces the old file.
        self.keep_session_id = False

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        from assistant.execution import Kernel

        if self.model is None:
            # the one loading path of every front end: the user's n_ctx, threads, GPU layers,
            # seed and --chat reach the backend here as they do in `eval`
            spec = default_model_spec(self.settings)
            self.model = await asyncio.to_thread(load_model_for, self.settings, spec)
        self.session.model = self.session.model or getattr(self.model, "name", "")
        self.kernel = Kernel(self.settings.kernel_config())
        await self.kernel.start()
        self._build_engine()

    def _build_engine(self) -> None:
        from assistant.engine.engine import Engine
        from assistant.engine.options import EngineOptions

        assert self.model is not None, "start() loads the model first"
        assert self.kernel is not None, "start() starts the kernel first"
        style = engine_style(self.model, self.settings.chat)
        from assistant.engine.state import default_for

        options = EngineOptions(
            ask=self.ask,
            approve=self.approve,
            derived_checks=self.settings.derived_checks,
            prompt_state=default_for(style, self.settings.prompt_state),
        )
        self.engine = Engine(
            self.model,
            self.kernel,
            self.settings,
            self.session,
            self._event,
            style,
            options=options,
        )

    @property
    def _started(self) -> Engine:
        """The engine, which start() builds before anything can run."""
        if self.engine is None:
            raise RuntimeError("the controller is not started: call start() first")
        return self.engine

    async def close(self) -> None:
        self.save()
        if self.kernel is not None:
            await self.kernel.shutdown()
            self.kernel = None
        if self.model is not None:
            self.model.close()

    def sandbox_notice(self) -> str:
        """One line: which sandbox generated code runs in (``auto`` resolved) and what it means."""
        from assistant.execution.sandbox import notice

        return notice(self.settings.sandbox, self.settings.kernel)

    def describe_model(self) -> dict[str, Any]:
        if self.model is None:
            return {}
        try:
            return dict(self.model.describe())
        except Exception as exc:  # a backend failing to describe itself must not kill the UI
            return {"backend": "?", "warnings": [f"describe() failed: {exc}"]}

    # -- events and saving ----------------------------------------------------------------
    def _event(self, event: events.EngineEvent) -> None:
        if isinstance(event, _SAVE_ON):
            self.save()
        self.on_event(event)

    def save(self) -> Path | None:
        """Autosave; never raises. A failure (full disk, unwritable folder, text JSON cannot
        hold) keeps the last good file (the write is atomic) and is shown once as a warning."""
        if not self.autosave or not self.session.turns:
            return None
        try:
            if self.session_path is None:
                self.session_path = store.session_path(self.session)
            path = self.session.save(self.session_path)
        except Exception as exc:  # a failed save must never break the turn that triggered it
            error = f"could not save the session ({type(exc).__name__}: {exc}); "
            error += f"the last good copy is kept at {self.session_path}"
            if error != self.save_error:
                self.save_error = error
                turn = len(self.session.turns) - 1
                with contextlib.suppress(Exception):  # a broken UI callback must not either
                    self.on_event(events.Notice(turn, "warning", error))
            return None
        self.save_error = None
        return path

    # -- turns ----------------------------------------------------------------------------
    async def run_turn(self, text: str, **kwargs: Any) -> Turn:
        if self.pending.tests:
            kwargs.setdefault("tests", list(self.pending.tests))
        if self.pending.has_expect:
            kwargs.setdefault("expect", self.pending.expect)
        self.pending.clear()
        try:
            return await self._started.run_turn(text, **kwargs)
        finally:
            self.save()

    def cancel(self) -> None:
        if self.engine is not None:
            self.engine.cancel()

    async def interrupt(self) -> None:
        if self.kernel is not None:
            await self.kernel.interrupt()

    async def resume(self) -> None:
        """Rebuild the kernel state of a loaded session by replaying its committed turns."""
        if self.session.committed_turns():
            await self._started.restore("resume")

    async def variables(self) -> list[tuple[str, str, str]]:
        if self.kernel is None:
            return []
        try:
            found = await self.kernel.evaluate({"vars": VARIABLES_EXPR})
            data = found.get("vars", {})
            if data.get("status") != "ok":
                return []
            text = ast.literal_eval(data["data"]["text/plain"])
            return [(str(r[0]), str(r[1]), str(r[2])) for r in json.loads(text)]
        except AssistantError:  # a dead or busy kernel: the turn itself reports that
            return []
        except Exception as exc:  # the panel is informative only: never break a turn over it
            report_bug(exc, "variables panel")
            return []

    # -- commands -------------------------------------------------------------------------
    async def command(self, cmd: Command) -> str:
        """Run a command the front ends share; returns what to tell the user."""
        name, arg = cmd.name, cmd.arg
        if name == "help":
            return help_text()
        if name == "test":
            self.pending.tests.append(arg)
            return f"test for the next turn: {arg} ({len(self.pending.tests)} pending)"
        if name == "expect":
            self.pending.expect, self.pending.has_expect = literal(arg), True
            return f"the next turn must print {self.pending.expect!r}"
        if name == "checks":
            return self.checks(arg)
        if name == "retry":
            if not self.session.turns:
                return "nothing to retry yet"
            await self._started.retry()
            return "retried the last turn"
        if name == "undo":
            if not self.session.turns:
                return "nothing to undo"
            await self._started.undo()
            self.save()
            return f"undone; {len(self.session.turns)} turn(s) left"
        if name == "reset":
            return await self.reset()
        if name == "model":
            return await self.switch_model(arg)
        if name == "save":
            self.autosave = True
            path = self.save()
            return f"saved to {path}" if path else "nothing to save yet"
        if name == "export":
            return self.export(arg)
        if name == "mtpb":
            return await self.play_mtpb(arg)
        return f"/{name} is not available here"

    def checks(self, arg: str) -> str:
        """``/checks``: the last turn's checks, numbered; ``/checks drop N`` drops derived N."""
        from assistant.engine.derived import DerivedCheck

        if not self.session.turns:
            return "no turn yet: checks are read from each turn's words when it runs"
        turn = self.session.turns[-1]
        words = arg.split()
        if words:
            if len(words) != 2 or words[0] != "drop" or not words[1].isdigit():
                return "usage: /checks [drop N]"
            n = int(words[1])
            if not 1 <= n <= len(turn.derived):
                return f"no derived check {n} (this turn has {len(turn.derived)})"
            dropped = turn.derived.pop(n - 1)
            turn.derived_dropped.append(dropped)
            self.save()
            what = DerivedCheck.from_dict(dropped).describe()
            return f"dropped derived check {n} ({what}); /retry runs the turn with the rest"
        lines = [f"checks of turn {turn.index + 1}:"]
        lines += [f"  test: {t}" for t in turn.tests]
        if turn.has_expect:
            lines.append(f"  expected printed value: {turn.expect!r}")
        for i, d in enumerate(turn.derived, 1):
            check = DerivedCheck.from_dict(d)
            lines.append(f"  {i}. derived: {check.describe()}  (from: {check.phrase!r})")
        lines += [
            f"  dropped: {DerivedCheck.from_dict(d).describe()}" for d in turn.derived_dropped
        ]
        if len(lines) == 1:
            lines.append("  none: only errors count for this turn")
        return "\n".join(lines)

    async def edit(self, turn_index: int, code: str) -> Turn:
        result = await self._started.edit(turn_index, code)
        self.save()
        return result

    async def reset(self) -> str:
        self.save()
        fresh = Session(model=getattr(self.model, "name", ""))
        if self.keep_session_id:
            fresh.id = self.session.id
        else:
            self.session_path = None
        self.session = fresh
        self.pending.clear()
        if self.kernel is not None:
            await self.kernel.restart()
        self._build_engine()
        return "new session: fresh kernel, empty transcript"

    async def switch_model(self, spec: str) -> str:
        new = await asyncio.to_thread(load_model_for, self.settings, spec or None)
        old, self.model = self.model, new
        if old is not None:
            old.close()
        self.session.model = new.name
        self._build_engine()
        from assistant.models.builtin import BUILTINS

        notice = BUILTINS[spec].notice if spec in BUILTINS else ""
        return f"model: {new.name}" + (f" ({notice})" if notice else "")

    async def play_mtpb(self, arg: str) -> str:
        """/mtpb ID [CASE]: play an MTPB problem in a fresh session and return the verdict;
        /mtpb alone lists the problems. The REPL and the ACP agent run it; the TUI opens its
        problem browser instead and plays the choice with ``play`` below."""
        from assistant.mtpb.problems import DataNotFound, load_problems, resolve_path

        try:
            loaded = load_problems(resolve_path(None))
        except DataNotFound as exc:
            return str(exc)
        parts = arg.split()
        if not parts:
            rows = [f"  {p.id:>3}  {p.name:<32.32} {p.category}" for p in loaded.problems]
            note = "/mtpb ID [CASE 1-5] plays one (reference solutions unless a model is set)"
            return "\n".join([*rows, note])
        problem = loaded.by_id().get(parts[0])
        case = int(parts[1]) - 1 if len(parts) > 1 and parts[1].isdigit() else 0
        if problem is None or not 0 <= case < len(problem.inputs):
            return f"/mtpb: no problem {parts[0]} with test case {case + 1}"
        reference = not self.settings.model or self.settings.model == "reference"
        return (await self.play(problem, case, reference)).text

    async def play(self, problem: Problem, case: int, reference: bool) -> PlayVerdict:
        """A fresh session, then the problem's turns with upstream's prompts and grading."""
        from assistant.mtpb.play import play_problem

        await self.reset()
        return await play_problem(self, problem, case, reference)

    def export(self, target: str) -> str:
        from assistant.sessions.export import export_session

        if not self.session.committed_turns():
            return "nothing to export: no committed turns yet"
        out = Path(target).expanduser() if target else Path(f"{self.session.id}.ipynb")
        path = export_session(self.session, out)
        return f"exported to {path}"
