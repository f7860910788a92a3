"""The session's state in the prompt: the kernel's user variables, short, before the request.

A model that sees only past code has to work out what ``ordered`` holds now; a short note
saying ``ordered (list) = [8, 5, 3, 1]`` tells it. The note is bounded (``MAX_NAMES`` names,
``MAX_VALUE`` characters a value) and goes on the current request only, so earlier prompt
text stays the same and a backend's prefix cache still holds:

- chat style: a line before the request in the last user message,
  ``Variables so far: nums (list) = [5, 3, 8, 1]; fib (function)``;
- completion style: names and types only, in the request's own comment,
  ``# (so far: nums list, fib function)``: one short line, since a base model imitates
  longer comment blocks (the measured failure of a ``#   var: type = ...`` listing).

Whether it is on by default depends on the style, as measured (``STATE_DEFAULT``, README
"Interactive benchmark"); ``Settings.prompt_state`` overrides.
"""

from __future__ import annotations

import ast
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MAX_NAMES = 12
MAX_VALUE = 60
# Measured on the interactive benchmark (README): True where the state helped the style.
STATE_DEFAULT = {"chat": True, "completion": False}

# [[name, type, short repr], ...] for the user's names, newest first; modules, IPython's own
# names and the underscore names are left out. reprlib keeps a huge object cheap to show.
STATE_EXPR = (
    "(lambda r: __import__('json').dumps([[k, type(v).__name__,"
    " '' if callable(v) else r.repr(v)] for k, v in reversed(list(globals().items()))"
    " if not k.startswith('_') and k not in ('In', 'Out', 'get_ipython', 'exit', 'quit', 'open')"
    f" and type(v).__name__ != 'module'][:{MAX_NAMES}]))"
    "((lambda m: (setattr(m, 'maxstring', 40), setattr(m, 'maxother', 50),"
    " setattr(m, 'maxlist', 8), m)[-1])(__import__('reprlib').Repr()))"
)


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    value: str  # a short repr; "" for functions and classes

    def __post_init__(self) -> None:
        if len(self.value) > MAX_VALUE:
            object.__setattr__(self, "value", self.value[: MAX_VALUE - 3] + "...")


def default_for(style: str, setting: bool | None) -> bool:
    """Whether interactive prompts of ``style`` carry the state (``setting`` None: measured)."""
    return STATE_DEFAULT.get(style, False) if setting is None else setting


def parse(data: Any) -> tuple[Variable, ...]:
    """The kernel's answer to ``STATE_EXPR`` (a user_expressions entry) as variables."""
    if not isinstance(data, dict) or data.get("status") != "ok":
        return ()
    try:
        rows = json.loads(ast.literal_eval(data["data"]["text/plain"]))
    except (ValueError, SyntaxError, KeyError, TypeError):
        return ()
    found = [Variable(str(r[0]), str(r[1]), str(r[2])) for r in rows if len(r) == 3]
    return tuple(reversed(found[:MAX_NAMES]))  # oldest first, as the code made them


async def read(kernel: Any) -> tuple[Variable, ...]:
    """The kernel's user variables now; () when the kernel cannot say (never raises)."""
    from assistant.errors import AssistantError

    try:
        found = await kernel.evaluate({"state": STATE_EXPR})
    except AssistantError as exc:
        log.info("no state for the prompt: %s", exc)
        return ()
    return parse(found.get("state"))


def chat_note(variables: Sequence[Variable]) -> str:
    """``Variables so far: nums (list) = [5, 3, 8, 1]; fib (function)``; "" for none."""
    if not variables:
        return ""
    parts = [f"{v.name} ({v.type})" + (f" = {v.value}" if v.value else "") for v in variables]
    return "Variables so far: " + "; ".join(parts)


def completion_note(variables: Sequence[Variable]) -> str:
    """``(so far: nums list, fib function)``: names and types in one short line."""
    if not variables:
        return ""
    return "(so far: " + ", ".join(f"{v.name} {v.type}" for v in variables) + ")"


def with_state(text: str, variables: Sequence[Variable], style: str) -> str:
    """The request as the prompt shows it: the state note, then the user's words."""
    if style == "chat":
        note = chat_note(variables)
        return f"{note}\n\n{text.strip()}" if note else text
    note = completion_note(variables)
    return f"{text.strip()} {note}" if note else text
