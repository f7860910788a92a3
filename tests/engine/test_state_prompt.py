"""The session's state in prompts (pure): bounded notes, where they go, MTPB prompts untouched."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.engine.options import EngineOptions
from assistant.engine.request import TurnContext, build_request
from assistant.engine.session import Turn
from assistant.engine.state import (
    MAX_VALUE,
    Variable,
    chat_note,
    completion_note,
    default_for,
    parse,
    with_state,
)

pytestmark = pytest.mark.unit

VARS = (Variable("nums", "list", "[5, 3, 8, 1]"), Variable("fib", "function", ""))


def test_notes() -> None:
    assert chat_note(VARS) == "Variables so far: nums (list) = [5, 3, 8, 1]; fib (function)"
    assert completion_note(VARS) == "(so far: nums list, fib function)"
    assert chat_note(()) == completion_note(()) == ""
    assert len(Variable("s", "str", "x" * 500).value) == MAX_VALUE


def test_with_state_by_style() -> None:
    assert with_state("Sort nums.", VARS, "chat").endswith("\n\nSort nums.")
    assert with_state("Sort nums.", VARS, "completion") == (
        "Sort nums. (so far: nums list, fib function)"
    )
    assert with_state("Sort nums.", (), "chat") == "Sort nums."


def test_parse_answers_and_bad_answers() -> None:
    good = {"status": "ok", "data": {"text/plain": repr('[["b", "int", "2"], ["a", "int", "1"]]')}}
    assert [v.name for v in parse(good)] == ["a", "b"]  # oldest first
    assert parse({"status": "error"}) == () == parse(None)
    assert parse({"status": "ok", "data": {"text/plain": "'not json'"}}) == ()


def test_defaults_follow_the_setting_first() -> None:
    assert default_for("chat", True) is True
    assert default_for("completion", False) is False
    assert default_for("chat", None) is True  # measured: helped the chat model
    assert default_for("completion", None) is False  # measured: hurt the completion model


def _request(style: str, state: tuple[Variable, ...], exact: bool = False) -> object:
    options = EngineOptions(prefix="", mtpb_exact=exact)
    ctx = TurnContext(options, style, Settings(), (), {}, state)  # type: ignore[arg-type]
    return build_request(ctx, Turn(0, "Sort nums."), 0)


def test_requests_carry_the_state_only_when_given() -> None:
    chat = _request("chat", VARS)
    assert chat.messages[-1]["content"].startswith("Variables so far: nums (list)")  # type: ignore[attr-defined]
    completion = _request("completion", VARS)
    assert completion.prompt == "# Sort nums. (so far: nums list, fib function)\n"  # type: ignore[attr-defined]
    assert _request("completion", (), exact=True).prompt == "# Sort nums.\n"  # type: ignore[attr-defined]
