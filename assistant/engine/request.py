"""A generation request for one attempt of a turn: a pure function of the turn's context.

Everything a prompt depends on is fixed when a turn starts: the options, the prompt style,
the settings, the committed history before the turn and the caller's meta. The engine
freezes them into a ``TurnContext`` once; ``loop.py`` then builds each attempt's request
from it without calling back into the engine, and tests can check prompts without a kernel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.engine import prompting
from assistant.engine.options import EngineOptions, Style
from assistant.engine.state import Variable, with_state
from assistant.models.base import Request
from assistant.models.stop_filter import FENCE_END

if TYPE_CHECKING:
    from assistant.engine.session import Candidate, Turn

# Base-model completions stop where MTPB truncation would cut anyway: saves decode time.
COMPLETION_STOPS = ["\n#", "\n'''", '\n"""', "\n\n\n"]


@dataclass(frozen=True)
class TurnContext:
    """What every request of one turn is built from; nothing in it changes during the turn."""

    options: EngineOptions
    style: Style
    settings: Settings
    # The committed turns before this one, as the prompt shows them.
    history: Sequence[prompting.PastTurn] = ()
    # The caller's meta (MTPB: problem, case, sample, ...), passed on to the backend.
    meta: Mapping[str, Any] = field(default_factory=dict)
    # The kernel's user variables when the turn started (state.py), when the prompt shows them.
    state: tuple[Variable, ...] = ()


def build_request(
    ctx: TurnContext,
    turn: Turn,
    attempt: int,
    *,
    faulty: Candidate | None = None,
    temperature: float | None = None,
    candidate: int = 0,
) -> Request:
    """The request of ``attempt``: the turn's prompt, or a refinement of ``faulty``."""
    s, opts, hist = ctx.settings, ctx.options, ctx.history
    sample = ctx.meta.get("sample", 0)
    # Distinct seeds per turn, attempt and MTPB sample, reproducible from settings.seed.
    seed = s.seed + 7919 * turn.index + 1009 * attempt
    seed += 104729 * sample if isinstance(sample, int) else 0
    req = Request(
        max_tokens=s.max_tokens,
        temperature=s.temperature if temperature is None else temperature,
        top_p=s.top_p,
        seed=seed,
        # The caller's meta goes last, as specified: it may remap keys for scripted models.
        meta={"turn": turn.index, "attempt": attempt, "candidate": candidate, **ctx.meta},
    )
    variant = prompting.refine_variant(s.refine_prompt, ctx.style)
    text = with_state(turn.text, ctx.state, ctx.style) if ctx.state else turn.text
    if ctx.style == "chat":
        req.messages = (
            prompting.refine_messages(hist, text, faulty.code, faulty.feedback, None, variant)
            if faulty is not None
            else prompting.chat_messages(hist, text)
        )
        req.stop = [FENCE_END]  # only the first code block is kept: stop decoding there
        if faulty is not None and variant == "primed":
            req.prime = prompting.CHAT_PRIME
    else:
        prefix, sep, exact = opts.prefix, opts.turn_separator, opts.mtpb_exact
        req.prompt = (
            prompting.refine_prompt(
                hist, text, faulty.code, faulty.feedback, prefix, sep, variant, exact
            )
            if faulty is not None
            else prompting.multi_turn_prompt(hist, text, prefix, sep, exact)
        )
        req.stop = [] if opts.whole_program else list(COMPLETION_STOPS)
    return req
