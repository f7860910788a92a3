"""A turn's policy without a kernel or a model: ``loop.py`` through a fake ``AttemptHost``,
pure request building and code cuts, options swapped for a while, and the engine's log."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest

from assistant.config import Settings
from assistant.engine.engine import Engine
from assistant.engine.events import CopyRejected, Event, TurnCommitted, TurnFailed
from assistant.engine.loop import AttemptHost, attempt_turn
from assistant.engine.options import EngineOptions
from assistant.engine.ranking import ExecutionRanker, Ranker
from assistant.engine.request import COMPLETION_STOPS, TurnContext, build_request
from assistant.engine.session import Attempt, Candidate, Session, Turn
from assistant.engine.truncation import extract_code
from assistant.execution.result import ExecResult
from assistant.models.base import Completion, ModelError, Request
from assistant.models.scripted import ScriptedModel


class FakeHost:
    """Answers each attempt from ``answers`` (the last repeats); code containing "ok" passes."""

    def __init__(self, answers: list[str], fail: Exception | None = None) -> None:
        self.answers, self.fail = answers, fail
        self.requests: list[Request] = []
        self.events: list[Event] = []
        self.ran: list[str] = []
        self.committed: list[str] = []
        self._ranker = ExecutionRanker()

    @property
    def ranker(self) -> Ranker:
        return self._ranker

    @property
    def cancelled(self) -> bool:
        return False

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def cancel(self) -> None:
        pass

    async def generate(self, request: Request, n: int, turn: int, attempt: int) -> list[Completion]:
        if self.fail is not None:
            raise self.fail
        self.requests.append(request)
        text = self.answers[min(len(self.requests) - 1, len(self.answers) - 1)]
        return [Completion(text=text) for _ in range(n)]

    async def run_candidate(self, turn: Turn, attempt: Attempt, cand: Candidate) -> None:
        self.ran.append(cand.code)
        ok = "ok" in cand.code
        cand.result = ExecResult(status="ok" if ok else "error", message="" if ok else "boom")
        cand.passed, cand.feedback = ok, "" if ok else "boom"

    async def commit(self, turn: Turn, attempt: Attempt, cand: Candidate) -> None:
        turn.code, turn.status = cand.code, "passed"
        self.committed.append(cand.code)


def _context(**options: Any) -> TurnContext:
    return TurnContext(EngineOptions(**options), "completion", Settings(), history=(), meta={})


@pytest.mark.unit
async def test_the_loop_needs_only_its_host() -> None:
    host = FakeHost(["x = 1/0", "x = 1/0", "ok = 2"])
    turn = Session().new_turn("Two.")
    checked: AttemptHost = host  # the protocol is all the loop asks for
    await attempt_turn(checked, turn, _context(), budget=3, n=1)
    assert host.committed == ["ok = 2"] and turn.status == "passed"
    # the copy was resampled, not run, and did not use up the budget
    assert host.ran == ["x = 1/0", "ok = 2"]
    assert [a.reason for a in turn.attempts] == ["first", "refine", "resample"]
    assert len([e for e in host.events if isinstance(e, CopyRejected)]) == 1


@pytest.mark.unit
async def test_max_resamples_comes_from_the_options() -> None:
    host = FakeHost(["x = 1/0"])
    turn = Session().new_turn("Fails.")
    await attempt_turn(host, turn, _context(max_resamples=0), budget=2, n=1)
    # no resample allowed: the copy counts as the second (failed) attempt
    assert len(host.requests) == 2 and host.ran == ["x = 1/0"] and turn.status == "failed"


@pytest.mark.unit
async def test_a_model_error_fails_the_turn_in_the_loop() -> None:
    host = FakeHost(["ok"], fail=ModelError("server gone"))
    turn = Session().new_turn("Any.")
    await attempt_turn(host, turn, _context(), budget=1, n=1)
    failed = [e for e in host.events if isinstance(e, TurnFailed)]
    assert turn.status == "failed" and failed[0].kind == "model error"


@pytest.mark.unit
def test_requests_are_a_pure_function_of_the_context() -> None:
    turn = Session().new_turn("Print one.")
    plain = build_request(_context(prefix=""), turn, 0)
    assert plain.prompt == "# Print one.\n" and plain.stop == COMPLETION_STOPS
    whole = build_request(_context(prefix="", whole_program=True), turn, 0)
    assert whole.stop == []
    exact = build_request(_context(prefix="", mtpb_exact=True), Session().new_turn("Hi "), 0)
    assert exact.prompt == "# Hi \n"  # upstream's turn line keeps the trailing space
    meta = TurnContext(EngineOptions(), "chat", Settings(), meta={"sample": 2, "turn": 9})
    chat = build_request(meta, turn, 1)
    assert chat.messages and chat.meta["turn"] == 9  # the caller's meta goes last


@pytest.mark.unit
def test_extract_code_follows_the_options() -> None:
    raw = "# a comment\nx = 1\n# next turn\ny = 2"
    assert extract_code(raw, None, EngineOptions()) == "# a comment\nx = 1"
    assert extract_code(raw, None, EngineOptions(strict_truncation=True)) == ""
    assert extract_code(raw, None, EngineOptions(whole_program=True)) == raw
    assert extract_code("```python\nz = 3\n```", None, EngineOptions(), chat=True) == "z = 3"


@pytest.mark.unit
def test_options_are_frozen_and_overriding_gives_them_back() -> None:
    engine = Engine(ScriptedModel({"turns": ["x = 1"]}), None)  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        engine.options.mtpb_exact = True  # type: ignore[misc]
    before, settings = engine.options, engine.settings
    exact = dataclasses.replace(before, mtpb_exact=True)
    with engine.overriding(options=exact, settings=Settings(max_tokens=7)):
        assert engine.options.mtpb_exact and engine.settings.max_tokens == 7
    assert engine.options is before and engine.settings is settings


@pytest.mark.kernel
@pytest.mark.asyncio(loop_scope="module")  # the module's kernel lives on the module's loop
async def test_restores_and_commits_are_logged_quietly(make_engine: Any, caplog: Any) -> None:
    engine, _, events = make_engine({"turns": [["raise ValueError('x')", "logged_v = 1"]]})
    with caplog.at_level(logging.DEBUG, logger="assistant.engine"):
        turn = await engine.run_turn("Log me.")
    assert turn.committed and events.of(TurnCommitted)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("assistant.engine")]
    assert any(m.startswith("restored (retry)") for m in messages), messages
    assert any("committed: attempt 1, candidate 0" in m for m in messages), messages
    # nothing at WARNING or above: logging's last-resort handler would print it on stderr
    assert all(r.levelno < logging.WARNING for r in caplog.records)
