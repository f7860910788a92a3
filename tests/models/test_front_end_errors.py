"""Front ends show an AssistantError's message; a bug keeps its traceback.

A bad ``--model`` is the typical user error: the REPL and the CLI show the message (exit code
1, as when it escaped as a traceback), ``eval``/``replay`` say "cannot load model" (exit 2), and
``/model`` reports it and keeps the session. Anything else is a bug: the CLI lets Python print
the traceback; the interactive front ends log it and say where.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import cli
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.models.scripted import ScriptedModel

REPO = Path(__file__).resolve().parents[2]


def _run(*argv: str, code: str | None = None, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_HOME": str(home), "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "assistant.cli"]
    return subprocess.run(
        [*cmd, *argv],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.unit
def test_repl_with_a_bad_model_spec_shows_the_message(tmp_path: Path) -> None:
    r = _run("repl", "--model", "nonsense:spec", home=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "assistant: unknown model spec 'nonsense:spec'" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.unit
def test_an_unexpected_bug_still_shows_its_traceback(tmp_path: Path) -> None:
    code = (
        "import sys; from assistant import cli\n"
        "def boom(args, settings): raise KeyError('a bug')\n"
        "cli._handler = lambda command: boom\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    r = _run("sessions", code=code, home=tmp_path)
    assert r.returncode == 1
    assert "Traceback" in r.stderr and "KeyError: 'a bug'" in r.stderr


@pytest.mark.unit
def test_cli_main_catches_assistant_errors_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def raises(exc: BaseException) -> Any:
        def handler(args: Any, settings: Any) -> int:
            raise exc

        return lambda command: handler

    monkeypatch.setattr(cli, "_handler", raises(AssistantError("told to the user")))
    assert cli.main(["sessions"]) == 1
    monkeypatch.setattr(cli, "_handler", raises(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["sessions"])


@pytest.mark.unit
@pytest.mark.parametrize("command", ["eval", "replay"])
def test_eval_and_replay_with_a_bad_model_exit_2(
    command: str, mtpb_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [command, "--mtpb", str(mtpb_path), "--model", "nonsense:spec"]
    argv += ["--problems", "1"] if command == "eval" else ["1"]
    assert cli.main(argv) == 2
    assert "cannot load model 'nonsense:spec': unknown model spec" in capsys.readouterr().err


@pytest.fixture
def bug_log() -> Iterator[list[logging.LogRecord]]:
    """Records of the ``assistant`` logger (whatever handlers earlier tests left on it)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.ERROR)
    logger = logging.getLogger("assistant")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.mark.tui
async def test_repl_commands_report_errors_and_bugs(bug_log: list[logging.LogRecord]) -> None:
    from assistant.frontends.commands import Command
    from assistant.frontends.repl import Repl

    lines: list[str] = []
    model = ScriptedModel({"turns": ["pass\n"]}, name="scripted-test")
    repl = Repl(Settings(autosave=False), model=model, echo=lines.append)
    assert await repl.handle("/model nonsense:spec", None)
    assert lines[-1].startswith("/model failed: unknown model spec 'nonsense:spec'")
    assert repl.ctl.model is model and not bug_log  # the session keeps its model

    async def buggy(cmd: Command) -> str:
        raise KeyError("a bug")

    repl.ctl.command = buggy  # type: ignore[method-assign]
    assert await repl.handle("/reset", None)  # the REPL goes on
    assert lines[-1].startswith("/reset failed: internal error KeyError: 'a bug' (traceback")
    assert len(bug_log) == 1 and bug_log[0].exc_info is not None


@pytest.mark.kernel
@pytest.mark.tui
async def test_tui_reports_errors_and_bugs_and_keeps_going(
    bug_log: list[logging.LogRecord],
) -> None:
    import asyncio

    from assistant.frontends.commands import Command
    from assistant.frontends.tui.app import AssistantApp
    from assistant.frontends.tui.widgets.transcript import Transcript

    model = ScriptedModel({"turns": ["pass\n"]}, name="scripted-test")
    app = AssistantApp(Settings(timeout=15.0), model=model, history=[], autosave=False)

    async def idle(pilot: Any) -> None:
        for _ in range(400):
            await pilot.pause(0.05)
            if app.ready and not app.busy and not any(w.is_running for w in app.workers):
                return
        raise AssertionError("the app did not settle")

    async with app.run_test(size=(120, 40)) as pilot:
        try:
            await idle(pilot)
            notes = app.query_one(Transcript).notes
            app.run_command(Command("model", "nonsense:spec"))
            await idle(pilot)
            assert any(n.startswith("/model failed: unknown model spec") for n in notes), notes
            assert not bug_log

            async def buggy(cmd: Command) -> str:
                raise KeyError("a bug")

            app.ctl.command = buggy  # type: ignore[method-assign]
            app.run_command(Command("reset"))
            await idle(pilot)
            await asyncio.sleep(0.1)
            assert any("error: internal error KeyError: 'a bug' (traceback" in n for n in notes)
            assert len(bug_log) == 1 and bug_log[0].exc_info is not None
            assert not app.busy and app.is_running  # the app goes on
        finally:
            await app.ctl.close()
