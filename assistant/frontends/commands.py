"""Slash commands shared by the TUI and the REPL: parsing and help text, no UI.

Both front ends turn a typed line into either a plain turn (natural language for the model)
or a ``Command``; what a command *does* lives in ``controller.Controller`` so both behave the
same. The table below is the single source for ``/help`` and the TUI's command palette.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.errors import AssistantError


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str
    help: str
    needs_arg: bool = False  # the palette inserts "/name " for these instead of running them


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help", "/help", "list the commands and keys"),
    CommandSpec(
        "test", "/test EXPR", "add an assert run after the next turn's code", needs_arg=True
    ),
    CommandSpec(
        "expect", "/expect VALUE", "the next turn must print VALUE (a Python literal)", True
    ),
    CommandSpec("checks", "/checks [drop N]", "list the last turn's checks; drop derived check N"),
    CommandSpec("retry", "/retry", "generate the last turn again"),
    CommandSpec("undo", "/undo", "drop the last turn and rebuild the kernel state"),
    CommandSpec("edit", "/edit [N]", "fix the code of turn N (default last) by hand and rerun"),
    CommandSpec("reset", "/reset", "new session: fresh kernel, empty transcript"),
    CommandSpec(
        "model", "/model SPEC", "switch model (reference, scripted:F, PATH.gguf, ...)", True
    ),
    CommandSpec("save", "/save", "save the session now (it is also autosaved)"),
    CommandSpec("export", "/export [FILE]", "write the session as .ipynb (default) or .py"),
    CommandSpec("mtpb", "/mtpb [ID]", "browse MTPB problems or play problem ID"),
    CommandSpec("quit", "/quit", "leave (the session stays saved)"),
)

BY_NAME = {c.name: c for c in COMMANDS}
ALIASES = {"h": "help", "?": "help", "q": "quit", "exit": "quit"}

KEYS_HELP = (
    "Enter send · Up/Down history · Esc cancel generation · Ctrl+C interrupt running code · "
    "Ctrl+P command palette · Ctrl+Q quit"
)


class CommandError(AssistantError, ValueError):
    """The line looked like a command but cannot be run as typed; the message says why.

    Still a ValueError: it was one before there was a common root.
    """


@dataclass(frozen=True)
class Command:
    name: str
    arg: str = ""


def parse(line: str) -> Command | None:
    """``None`` for a natural-language turn, else the command; unknown commands raise.

    A leading ``//`` escapes a turn that really starts with a slash.
    """
    text = line.strip()
    if not text.startswith("/") or text.startswith("//"):
        return None
    head, _, arg = text[1:].partition(" ")
    name = ALIASES.get(head.lower(), head.lower())
    spec = BY_NAME.get(name)
    if spec is None:
        close = [c.usage for c in COMMANDS if c.name.startswith(name[:2])] if name else []
        hint = f" (did you mean {', '.join(close)}?)" if close else " (try /help)"
        raise CommandError(f"unknown command /{head}{hint}")
    arg = arg.strip()
    if spec.needs_arg and not arg:
        raise CommandError(f"usage: {spec.usage}: {spec.help}")
    return Command(name, arg)


def turn_text(line: str) -> str:
    """The natural-language text of a non-command line (undoing the ``//`` escape)."""
    text = line.strip()
    return text[1:] if text.startswith("//") else text


def help_text() -> str:
    width = max(len(c.usage) for c in COMMANDS)
    rows = [f"  {c.usage:<{width}}  {c.help}" for c in COMMANDS]
    return "Commands:\n" + "\n".join(rows) + "\nKeys: " + KEYS_HELP
