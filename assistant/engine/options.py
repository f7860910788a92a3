"""How an engine writes prompts, cuts completions, checks values and answers ``input()``.

One frozen ``EngineOptions`` is given to ``Engine(...)`` and read at the start of every turn;
the engine never changes it. Options used to be attributes poked after construction
(``engine.mtpb_exact = True``), which made the order of set-up lines matter and let a front end
change prompt rules in the middle of a turn. A caller that really must change them for a while
does it between operations, explicitly: ``Engine.overriding(options=dataclasses.replace(...))``,
as the TUI's MTPB play does, and the old options come back when it ends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from assistant.engine import prompting
from assistant.engine.checks import values_match
from assistant.execution.result import Printed

# "completion": base-model prompts (MTPB comments + code); "chat": messages and fenced code.
Style = Literal["completion", "chat"]
# Compares a turn's expected value with what its code printed last: (expected, printed) -> ok.
Matcher = Callable[[Any, "Printed | None"], bool]
# Answers input() for the running code: (prompt, password) -> the text typed by the user.
Ask = Callable[[str, bool], Awaitable[str]]
# Asked before a candidate runs: (turn, attempt, candidate, code) -> may it run? A refusal is a
# failed attempt that never reached the kernel (``approval.py``).
Approve = Callable[[int, int, int, str], Awaitable[bool]]


@dataclass(frozen=True)
class EngineOptions:
    """Everything about a turn that is neither a setting the user tunes nor a resource."""

    # Decides whether a turn's last printed value equals its ``expect``. The default is
    # lenient (``checks.values_match``); MTPB play plugs in its own, stricter equivalence.
    matcher: Matcher = values_match
    # Completion prompts start with this text, and the kernel runs it once per process (the
    # model was told it ran). None: MTPB's ``import numpy as np`` prefix; "" for none at all.
    prefix: str | None = None
    # Between a past turn's code and the next turn's comment in completion prompts.
    # ``prompting.UPSTREAM_SEPARATOR`` gives upstream-looking prompts; see ``mtpb_exact``.
    turn_separator: str = prompting.TURN_SEPARATOR
    # Extra generations allowed, in a row, when a refinement only copies earlier faulty code
    # (``loop.py``); they do not use up the attempt budget.
    max_resamples: int = 2
    # True: MTPB's literal cut rules, so a completion starting with a comment becomes empty
    # (see ``truncation.py``); False keeps leading comments for an interactive user.
    strict_truncation: bool = False
    # True: a turn is a whole program (the single-turn control): no per-turn stop sequences,
    # and the completion is cut as a program, not as one turn.
    whole_program: bool = False
    # True (MTPB runs): upstream's exact prompt bytes and truncation, so results compare with
    # published ones; overrides ``turn_separator`` and ``strict_truncation``.
    mtpb_exact: bool = False
    # Answers input() in the running code (``input_answers.py``). None: batch runs, where
    # input() fails fast instead of waiting for a person who is not there.
    ask: Ask | None = None
    # Asks the user before a candidate's code runs (the ACP agent asks its client). None: run
    # without asking, as the TUI, the REPL and batch runs do. Replays of committed turns are
    # never asked again: their code was allowed when it first ran.
    approve: Approve | None = None
    # Token log-probs from the backend. None: only when a ranker reads them (more than one
    # candidate per attempt; both rankers break ties by them). True: always (a report wants
    # them, ``eval --logprobs``); False: never. They are not free: a server computing them
    # over a 262k-token vocabulary took 12x longer per completion (issue 22).
    logprobs: bool | None = None
    # True (interactive front ends): each turn gets checks read from its words (derived.py).
    # Off by default so MTPB runs grade exactly as upstream does.
    derived_checks: bool = False
    # True: the kernel's user variables go into the prompt (state.py); MTPB prompts stay
    # byte-exact unless an eval option asks for it.
    prompt_state: bool = False

    def wants_logprobs(self, candidates: int) -> bool:
        """Whether a request for ``candidates`` candidates asks for log-probs."""
        return candidates > 1 if self.logprobs is None else self.logprobs
