"""The questions the agent asks its client: may this code run, and what to do about input().

Both go through ``session/request_permission``, the one question every ACP client can show.

Running code: allow once, allow always (the session switches to the "always" mode and stops
asking), reject. The option ids are the kinds' names (``allow_once``, ``allow_always``,
``reject_once``), which jupyter-ai's persona matches on.

``input()`` in the running code: a permission question cannot carry typed text, so the choice is
to go on with an empty line or to stop the run (the turn is cancelled). Either way the kernel
gets an answer at once: the run never hangs on a question nobody can answer.

Session modes say whether to ask at all: "ask" (the default, or ``acp_permission = "ask"``)
and "always" (``acp_permission = "always"``, or chosen in the client's mode picker).
"""

from __future__ import annotations

from typing import Literal

from acp import text_block, tool_content
from acp.schema import (
    AllowedOutcome,
    PermissionOption,
    RequestPermissionResponse,
    SessionMode,
    SessionModeState,
    ToolCallUpdate,
)

from assistant.frontends.acp.view import code_block

Decision = Literal["allow_once", "allow_always", "reject"]

RUN_OPTIONS = [
    PermissionOption(option_id="allow_once", name="Run it", kind="allow_once"),
    PermissionOption(option_id="allow_always", name="Always run code", kind="allow_always"),
    PermissionOption(option_id="reject_once", name="Don't run it", kind="reject_once"),
]
INPUT_CONTINUE = "allow_once"
INPUT_OPTIONS = [
    PermissionOption(option_id=INPUT_CONTINUE, name="Continue with empty input", kind="allow_once"),
    PermissionOption(option_id="reject_once", name="Stop the run", kind="reject_once"),
]

MODES = {
    "ask": SessionMode(id="ask", name="Ask", description="ask before running generated code"),
    "always": SessionMode(
        id="always", name="Run without asking", description="run generated code without asking"
    ),
}


def mode_state(current: str) -> SessionModeState:
    return SessionModeState(current_mode_id=current, available_modes=list(MODES.values()))


def run_question(call_id: str, title: str, code: str) -> ToolCallUpdate:
    return ToolCallUpdate(
        tool_call_id=call_id,
        title=title,
        kind="execute",
        status="pending",
        content=[tool_content(text_block(code_block(code)))],
        raw_input={"code": code},
    )


def input_question(call_id: str, prompt: str, password: bool) -> ToolCallUpdate:
    what = "a password" if password else "input"
    shown = f": {prompt!r}" if prompt else ""
    note = (
        f"The running code asks for {what}{shown}. This client cannot type an answer: "
        "go on with an empty line, or stop the run."
    )
    return ToolCallUpdate(
        tool_call_id=call_id,
        title=f"The code asks for {what}{shown}",
        kind="execute",
        content=[tool_content(text_block(note))],
    )


def decision(response: RequestPermissionResponse | None) -> Decision:
    """What the user chose; a cancelled question (or none at all) is a rejection."""
    if response is None or not isinstance(response.outcome, AllowedOutcome):
        return "reject"
    chosen = response.outcome.option_id
    if chosen == "allow_always":
        return "allow_always"
    if chosen == "allow_once":
        return "allow_once"
    return "reject"
