"""The one small protocol every model backend implements.

A backend turns a prompt into completions. It streams text through a callback (so the caller
decides which thread or loop the text goes to), can be cancelled between tokens, returns token
log-probs of the sampled tokens, and reports timing and prompt-cache counters.

Calls are blocking: the engine runs them in a worker thread (llama.cpp releases the GIL).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from assistant.errors import AssistantError

OnText = Callable[[str], None]


class ModelError(AssistantError):
    """A backend failed in a way the user can act on; the message says how."""


class ServerError(ModelError):
    """The model server failed to give a whole completion (it cut the stream, twice): what
    arrived is not the model's answer, so a benchmark must not grade it. The message names
    the likely cause and the fix."""


class Cancelled(Exception):
    """Generation was cancelled by the caller (between tokens).

    Control flow, not an AssistantError: the user asked for it and the engine turns it into a
    cancelled turn. A front end catching AssistantError to show a message must not catch it.
    """


@dataclass
class Request:
    """One generation request.

    ``prompt`` is raw text for base models. ``messages`` (chat format) is used instead when
    the backend is in chat mode. ``meta`` carries context for backends that need it (the
    scripted backend keys its canned answers on it): problem id, turn index, attempt, candidate.
    """

    prompt: str = ""
    messages: list[dict[str, str]] | None = None
    max_tokens: int = 128
    temperature: float = 0.2
    top_p: float = 0.95
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    logprobs: bool = True
    grammar: str | None = None  # GBNF constraining the output (llama.cpp backends)
    # Chat mode: the start of the assistant's answer, put after the template's generation
    # prompt (the completion's text does not repeat it; the engine prepends it).
    prime: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class GenStats:
    prompt_tokens: int = 0  # tokens in the prompt
    prompt_evaluated: int = 0  # of those, evaluated now
    prompt_reused: int = 0  # of those, taken from the KV cache
    completion_tokens: int = 0
    time_to_first_token: float = 0.0  # seconds
    total_time: float = 0.0  # seconds

    @property
    def tokens_per_second(self) -> float:
        decode = self.total_time - self.time_to_first_token
        if self.completion_tokens <= 1 or decode <= 0:
            return 0.0
        return (self.completion_tokens - 1) / decode


@dataclass
class Completion:
    text: str
    token_logprobs: list[float] = field(default_factory=list)
    finish_reason: str = "stop"  # "stop" | "length" | "cancelled"
    stats: GenStats = field(default_factory=GenStats)
    stop: str | None = None  # the stop sequence that ended ``text`` (not part of it), if one did

    @property
    def mean_logprob(self) -> float:
        """Mean log-prob of the sampled tokens; -inf when unknown (ranks last)."""
        if not self.token_logprobs:
            return -math.inf
        return sum(self.token_logprobs) / len(self.token_logprobs)


@runtime_checkable
class Model(Protocol):
    name: str

    def generate(
        self,
        request: Request,
        on_text: OnText | None = None,
        cancel: threading.Event | None = None,
    ) -> Completion:
        """One completion, streamed through ``on_text``. Raises Cancelled if cancelled."""
        ...

    def sample(
        self,
        request: Request,
        n: int,
        on_text: Callable[[int, str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Completion]:
        """``n`` candidates for one request (different seeds); ``on_text(index, text)``."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the UI shows: backend, model file, device (CPU/CUDA/Metal), offloaded layers."""
        ...

    def close(self) -> None: ...


class SamplingMixin:
    """``sample`` as a loop over ``generate`` with derived seeds, for backends without n>1."""

    def sample(
        self,
        request: Request,
        n: int,
        on_text: Callable[[int, str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Completion]:
        out: list[Completion] = []
        base = request.seed if request.seed is not None else 0
        for i in range(n):
            req = Request(
                **{**request.__dict__, "seed": base + i, "meta": {**request.meta, "candidate": i}}
            )
            cb = (lambda text, i=i: on_text(i, text)) if on_text is not None else None
            out.append(self.generate(req, cb, cancel))  # type: ignore[attr-defined]
        return out
