"""Slash commands over ACP: advertised from the shared table, run by the shared controller.

A prompt that starts with ``/`` is parsed by ``frontends.commands.parse`` and run by
``Controller.command`` (``/mtpb`` included), exactly as the TUI and the REPL run it; the reply
is sent as an agent message. Commands that need the terminal (``/edit`` opens an editor,
``/quit`` leaves the app) are not advertised, and say why when typed anyway.
"""

from __future__ import annotations

import logging
from pathlib import Path

from acp.helpers import update_available_commands
from acp.schema import (
    AvailableCommand,
    AvailableCommandInput,
    AvailableCommandsUpdate,
    UnstructuredCommandInput,
)

from assistant.errors import AssistantError, bug_message, report_bug
from assistant.frontends.commands import COMMANDS, Command
from assistant.frontends.controller import Controller

log = logging.getLogger(__name__)

# Not here: they need a terminal of their own.
TERMINAL_ONLY = {
    "edit": "/edit needs the TUI or the REPL's editor; send the corrected code as a new prompt",
    "quit": "/quit leaves the terminal app; close the session in your editor instead",
}


def available_commands() -> list[AvailableCommand]:
    out = []
    for spec in COMMANDS:
        if spec.name in TERMINAL_ONLY:
            continue
        _, _, hint = spec.usage.partition(" ")
        given = AvailableCommandInput(root=UnstructuredCommandInput(hint=hint)) if hint else None
        out.append(AvailableCommand(name=spec.name, description=spec.help, input=given))
    return out


def commands_update() -> AvailableCommandsUpdate:
    return update_available_commands(available_commands())


def export_target(ctl: Controller, arg: str) -> Path:
    """Where /export writes: relative to the session's folder (the client's cwd), not to
    wherever the client happened to start the agent process."""
    target = Path(arg or f"{ctl.session.id}.ipynb").expanduser()
    folder = ctl.settings.workdir
    return target if target.is_absolute() or not folder else Path(folder) / target


async def run_command(ctl: Controller, cmd: Command) -> str:
    """The text to show for a command; failures are reported, never raised."""
    if cmd.name in TERMINAL_ONLY:
        return TERMINAL_ONLY[cmd.name]
    if cmd.name == "export":
        cmd = Command("export", str(export_target(ctl, cmd.arg)))
    try:
        return await ctl.command(cmd)
    except (AssistantError, OSError) as exc:  # ModelError from /model, a full disk...
        return f"/{cmd.name} failed: {exc}"
    except Exception as exc:  # a bug in one command must not end the session
        return f"/{cmd.name} failed: {bug_message(exc, report_bug(exc, cmd.name))}"
