"""Engine events as ACP session updates: the agent's transcript, pure and UI-free.

One ``AcpView`` per session turns each engine event into the ``session/update`` payloads a
client shows (``updates(event)``), keeping only what it needs to build them:

- the model's tokens of candidate 0 stream as ``agent_message_chunk`` (inside a ```python
  fence for completion models; a chat model writes its own fences). Other candidates, decoded
  in the same batch, would interleave: they are shown whole in their tool calls;
- every candidate is a ``tool_call`` of kind ``execute`` (``pending`` with its code, and the
  diff against the previous attempt when refining), then ``tool_call_update``s: ``in_progress``
  while it runs, ``completed``/``failed`` with the output and the verdict. ACP replaces a tool
  call's whole content on update, so the view keeps each call's content and resends it;
- a ``plan`` with one entry per attempt of the turn;
- the end of the turn (committed code and verdict, or why not) as a message; kernel rebuilds,
  rankings and notices as ``agent_thought_chunk``.

Tool call ids are numbered per view (``run-1``, ``run-2``...), so an undone turn's index used
again by the next turn never reuses an id the client has already seen.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from acp import (
    plan_entry,
    start_tool_call,
    text_block,
    tool_content,
    tool_diff_content,
    update_agent_message_text,
    update_agent_thought_text,
    update_plan,
    update_tool_call,
    update_user_message_text,
)
from acp.helpers import SessionUpdate, ToolCallContentVariant
from acp.schema import PlanEntry, ToolCallStatus

from assistant.engine import events
from assistant.engine.session import Attempt, Candidate, Turn
from assistant.execution.result import ExecResult
from assistant.frontends.textview import result_lines

if sys.version_info >= (3, 11):
    from typing import assert_never
else:
    from typing_extensions import assert_never

Key = tuple[int, int, int]  # turn, attempt, candidate
_OPEN = ("pending", "in_progress")


def code_block(code: str, lang: str = "python") -> str:
    fence = "````" if "```" in code else "```"
    return f"{fence}{lang}\n{code.rstrip()}\n{fence}"


def output_text(result: ExecResult) -> str:
    lines = result_lines(result)
    took = f"{result.status} in {result.duration:.2f}s"
    return (code_block("\n".join(lines), "text") + "\n" if lines else "(no output)\n") + took


def raw_output(result: ExecResult) -> dict[str, Any]:
    """What a client that reads ``rawOutput`` gets: the result without the capture details."""
    data: dict[str, Any] = {"status": result.status, "duration": round(result.duration, 3)}
    for name in ("stdout", "stderr", "message"):
        if getattr(result, name):
            data[name] = getattr(result, name)
    if result.error is not None:
        data["error"] = result.error.summary()
    return data


@dataclass
class _Call:
    id: str
    title: str
    content: list[ToolCallContentVariant] = field(default_factory=list)
    raw: Any = None  # the result, once it ran: sent again with every later update
    status: ToolCallStatus = "pending"


def _attempt_label(attempt: int, reason: str) -> str:
    words = {"first": "first try", "refine": "refine", "resample": "resample", "edit": "edited"}
    return f"Attempt {attempt + 1}: {words.get(reason, reason)}"


class AcpView:
    """Maps one session's engine events to ACP updates, in the order they must be sent."""

    def __init__(self, *, fence: bool = True) -> None:
        self.fence = fence  # wrap streamed tokens in a code fence (completion models)
        self._serial = 0
        self._calls: dict[Key, _Call] = {}
        self._code: dict[Key, str] = {}
        self._checks: dict[Key, events.CheckFinished] = {}
        self._plan: list[PlanEntry] = []
        self._streaming: Key | None = None  # the candidate whose tokens are in an open fence
        self.last_input: str | None = None  # the tool call whose code asked for input()

    # -- lookups for the session (permission and input questions name the tool call) -------
    def call_id(self, turn: int, attempt: int, candidate: int) -> str | None:
        call = self._calls.get((turn, attempt, candidate))
        return call.id if call is not None else None

    def next_id(self, prefix: str = "run") -> str:
        self._serial += 1
        return f"{prefix}-{self._serial}"

    # -- the mapping ------------------------------------------------------------------------
    def updates(self, event: events.EngineEvent) -> list[SessionUpdate]:
        match event:
            case events.TurnStarted():
                self._plan, self._streaming = [], None
                return []
            case events.AttemptStarted():
                return self._attempt(event)
            case events.TokenChunk():
                return self._token(event)
            case events.CodeReady():
                return [*self._close_fence(), self._start_call(event)]
            case events.CopyRejected():
                note = f"same as the faulty code of attempt {event.copies_attempt + 1}: not run"
                return [self._update((event.turn, event.attempt, event.candidate), "failed", note)]
            case events.ExecutionStarted():
                key = (event.turn, event.attempt, event.candidate)
                return [self._update(key, "in_progress")]
            case events.ExecutionFinished():
                return [self._finished(event)]
            case events.CheckFinished():
                return [self._checked(event)]
            case events.CandidatesRanked():
                order = ", ".join(str(i + 1) for i in event.order)
                return [update_agent_thought_text(f"candidates ranked (best first): {order}\n")]
            case events.StateRestored():
                return [update_agent_thought_text(_restored(event))]
            case events.TurnCommitted():
                return self._close_fence() + self._unfinished(event.turn) + self._committed(event)
            case events.TurnFailed():
                text = f"\n\n**Not committed**: {event.reason}\n"
                ended = self._close_fence() + self._unfinished(event.turn, event.reason)
                return ended + self._finish_plan() + [update_agent_message_text(text)]
            case events.Notice():
                if event.level == "info":
                    return [update_agent_thought_text(event.message + "\n")]
                return [update_agent_message_text(f"\n\n**{event.level}**: {event.message}\n")]
            case events.InputRequested():
                self.last_input = self.call_id(event.turn, event.attempt, event.candidate)
                return [update_agent_thought_text(f"the code asks for input: {event.prompt!r}\n")]
            case _:
                assert_never(event)

    def _attempt(self, event: events.AttemptStarted) -> list[SessionUpdate]:
        for i, entry in enumerate(self._plan):
            if entry.status == "in_progress":
                self._plan[i] = plan_entry(entry.content, status="completed")
        label = _attempt_label(event.attempt, event.reason)
        self._plan.append(plan_entry(label, status="in_progress"))
        out: list[SessionUpdate] = [update_plan(list(self._plan))]
        if event.reason in ("refine", "resample"):
            told = event.feedback.strip().splitlines()
            why = f" after: {told[-1]}" if told else ""
            out.insert(0, update_agent_message_text(f"\n\n*{label}{why}*\n\n"))
        return out

    def _token(self, event: events.TokenChunk) -> list[SessionUpdate]:
        if event.candidate != 0 or not event.text:
            return []
        key = (event.turn, event.attempt, event.candidate)
        text = event.text
        if self._streaming != key:
            self._streaming = key
            if self.fence:
                text = "```python\n" + text
        return [update_agent_message_text(text)]

    def _close_fence(self) -> list[SessionUpdate]:
        if self._streaming is None:
            return []
        self._streaming = None
        return [update_agent_message_text("\n```\n" if self.fence else "\n")]

    def _start_call(self, event: events.CodeReady) -> SessionUpdate:
        key = (event.turn, event.attempt, event.candidate)
        self._code[key] = event.code
        title = f"Run attempt {event.attempt + 1}"
        if event.candidate:
            title += f", candidate {event.candidate + 1}"
        call = _Call(self.next_id(), title)
        call.content.append(tool_content(text_block(code_block(event.code))))
        before = self._code.get((event.turn, event.attempt - 1, 0))
        if before is not None and before != event.code:
            path = f"turn-{event.turn + 1}.py"
            call.content.append(tool_diff_content(path, event.code, before))
        self._calls[key] = call
        return start_tool_call(
            call.id,
            title,
            kind="execute",
            status="pending",
            content=list(call.content),
            raw_input={"code": event.code},
        )

    def _update(
        self, key: Key, status: ToolCallStatus, note: str = "", raw: Any = None
    ) -> SessionUpdate:
        call = self._calls.get(key)
        if call is None:  # an event for a run the view never saw start (a replay)
            call = self._calls[key] = _Call(self.next_id(), f"Run attempt {key[1] + 1}")
        if note:
            call.content.append(tool_content(text_block(note)))
        call.raw = raw if raw is not None else call.raw
        call.status = status
        return update_tool_call(
            call.id, status=status, content=list(call.content) or None, raw_output=call.raw
        )

    def _finished(self, event: events.ExecutionFinished) -> SessionUpdate:
        key = (event.turn, event.attempt, event.candidate)
        return self._update(
            key, "in_progress", output_text(event.result), raw=raw_output(event.result)
        )

    def _checked(self, event: events.CheckFinished) -> SessionUpdate:
        key = (event.turn, event.attempt, event.candidate)
        self._checks[key] = event
        return self._update(key, "completed" if event.passed else "failed", verdict(event))

    def _unfinished(self, turn: int, why: str = "not needed") -> list[SessionUpdate]:
        """Runs of the turn that never finished (cancelled before or while running) end as
        failed, so no client keeps a spinner on them."""
        open_ = [k for k, c in self._calls.items() if k[0] == turn and c.status in _OPEN]
        return [self._update(key, "failed", f"not finished: {why}") for key in open_]

    # -- a saved session, for session/load ---------------------------------------------------
    def history(self, turns: list[Turn]) -> list[SessionUpdate]:
        """A loaded session's transcript: each turn's text, its runs as finished tool calls
        (code, output, verdict), and its outcome."""
        out: list[SessionUpdate] = []
        for turn in turns:
            out.append(update_user_message_text(turn.text))
            for attempt in turn.attempts:
                out += [self._past_run(turn, attempt, c) for c in attempt.candidates]
            if turn.committed and turn.code is not None:
                text = f"**Committed** (turn {turn.index + 1}):\n{code_block(turn.code)}\n"
            else:
                text = f"**Not committed** (turn {turn.index + 1}: {turn.status})\n"
            out.append(update_agent_message_text(text))
        return out

    def _past_run(self, turn: Turn, attempt: Attempt, cand: Candidate) -> SessionUpdate:
        title = f"Run attempt {attempt.index + 1}"
        if cand.index:
            title += f", candidate {cand.index + 1}"
        content = [tool_content(text_block(code_block(cand.code)))]
        raw = None
        if cand.result is not None:
            content.append(tool_content(text_block(output_text(cand.result))))
            raw = raw_output(cand.result)
        note = "passed" if cand.passed else (cand.feedback.strip() or "not run")
        content.append(tool_content(text_block(note)))
        return start_tool_call(
            self.next_id(),
            title,
            kind="execute",
            status="completed" if cand.passed else "failed",
            content=content,
            raw_input={"code": cand.code},
            raw_output=raw,
        )

    def _finish_plan(self) -> list[SessionUpdate]:
        if not self._plan:
            return []
        self._plan = [plan_entry(e.content, status="completed") for e in self._plan]
        return [update_plan(list(self._plan))]

    def _committed(self, event: events.TurnCommitted) -> list[SessionUpdate]:
        check = self._checks.get((event.turn, event.attempt, event.candidate))
        which = f"attempt {event.attempt + 1}"
        if event.candidate:
            which += f", candidate {event.candidate + 1}"
        summary = verdict(check) if check is not None else "passed"
        text = f"\n\n**Committed** ({which}; {summary}):\n{code_block(event.code)}\n"
        return [*self._finish_plan(), update_agent_message_text(text)]


def verdict(check: events.CheckFinished) -> str:
    tests = f", {check.tests_passed}/{check.tests_total} tests" if check.tests_total else ""
    if check.passed:
        return "passed" + tests
    why = check.feedback.strip() or "failed"
    return f"failed{tests}: {why}"


def _restored(event: events.StateRestored) -> str:
    turns = ", ".join(str(i + 1) for i in event.replayed) or "none"
    text = f"kernel state rebuilt ({event.reason}): replayed turns {turns}"
    if event.failed:
        text += "; no longer passing: " + ", ".join(str(i + 1) for i in event.failed)
    return text + "\n"
