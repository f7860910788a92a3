"""Typed events the engine emits while it works on a turn.

The TUI, the REPL and headless ``eval`` all consume these; none of them reaches into the
engine. Every event names the turn (index in the session), the attempt (0 = first try,
1.. = refinements) and the candidate (0.. when several are sampled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from assistant.execution.result import ExecResult
from assistant.models.base import GenStats

# Why an attempt started: the first try, a refinement after a failure, a resample after the
# model copied earlier faulty code, or hand-edited code (/edit).
AttemptReason: TypeAlias = Literal["first", "refine", "resample", "edit"]
# Why the kernel state was rebuilt (restart + replay, or a fork-snapshot rollback).
RestoreReason: TypeAlias = Literal[
    "resume", "retry", "undo", "edit", "candidate", "kernel died", "kernel restarted"
]
# How a turn ended without a commit: cancelled, the backend failed, or attempts ran out (with
# code that failed, or with no code at all in the last answer).
# "server error": the backend's server cut the completion (``models.base.ServerError``).
FailKind: TypeAlias = Literal["cancelled", "model error", "server error", "exhausted", "no code"]
NoticeLevel: TypeAlias = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Event:
    turn: int


@dataclass(frozen=True)
class TurnStarted(Event):
    text: str


@dataclass(frozen=True)
class AttemptStarted(Event):
    attempt: int
    max_attempts: int
    reason: AttemptReason = "first"
    feedback: str = ""  # what this attempt was told (empty for the first)


@dataclass(frozen=True)
class TokenChunk(Event):
    attempt: int
    candidate: int
    text: str


@dataclass(frozen=True)
class CodeReady(Event):
    attempt: int
    candidate: int
    code: str  # after truncation
    raw: str = ""  # what the model produced
    stats: GenStats | None = None
    mean_logprob: float = float("-inf")


@dataclass(frozen=True)
class CopyRejected(Event):
    attempt: int
    candidate: int
    code: str
    copies_attempt: int  # the earlier attempt it is the same as


@dataclass(frozen=True)
class ExecutionStarted(Event):
    attempt: int
    candidate: int


@dataclass(frozen=True)
class ExecutionFinished(Event):
    attempt: int
    candidate: int
    result: ExecResult


@dataclass(frozen=True)
class CheckFinished(Event):
    attempt: int
    candidate: int
    passed: bool
    feedback: str = ""  # why it failed (error, expected vs actual)
    tests_passed: int = 0
    tests_total: int = 0
    no_code: bool = False  # the candidate had no code (only comments/docstrings): not run
    derived_passed: int = 0  # checks read from the turn's words (engine/derived.py)
    derived_total: int = 0
    label: str = ""  # the verdict in words: "ran without error (no checks)", ...


@dataclass(frozen=True)
class CandidatesRanked(Event):
    attempt: int
    order: list[int] = field(default_factory=list)  # candidate indices, best first
    scores: list[Any] = field(default_factory=list)  # ranker scores in the same order


@dataclass(frozen=True)
class StateRestored(Event):
    replayed: list[int] = field(default_factory=list)  # committed turns replayed
    reason: RestoreReason = "resume"
    failed: list[int] = field(default_factory=list)  # replayed turns that no longer pass


@dataclass(frozen=True)
class TurnCommitted(Event):
    attempt: int
    candidate: int
    code: str


@dataclass(frozen=True)
class TurnFailed(Event):
    reason: str  # for people: "no passing code after 3 attempt(s)", "model error: ..."
    kind: FailKind = "exhausted"


@dataclass(frozen=True)
class Notice(Event):
    """Anything else worth showing: warnings, backend info, cancelled generation."""

    level: NoticeLevel
    message: str


@dataclass(frozen=True)
class InputRequested(Event):
    """The running code called ``input()``; the front end's ``ask`` callback answers it."""

    attempt: int
    candidate: int
    prompt: str
    password: bool = False


# Every event the engine emits: front ends dispatch on it with ``match`` and ``assert_never``,
# so a new event type is a type error in each front end until it is handled.
EngineEvent: TypeAlias = (
    TurnStarted
    | AttemptStarted
    | TokenChunk
    | CodeReady
    | CopyRejected
    | ExecutionStarted
    | ExecutionFinished
    | CheckFinished
    | CandidatesRanked
    | StateRestored
    | TurnCommitted
    | TurnFailed
    | Notice
    | InputRequested
)
