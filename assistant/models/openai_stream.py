"""The client side of one streamed completion from an OpenAI-compatible server.

``StreamReader`` turns the server's events into completions: text through ``StopFilter`` (the
stop sequences are applied here, never by the server: a server drops the stop string it
matched without saying which, and MTPB's exact truncation puts that string back), log-probs,
finish reasons and timings. A stream is only a completion when every choice finished: one that
ends (even with ``[DONE]``) before a choice sent its finish reason was cut by the server, and
raises ``Cut``. ``Shown`` keeps a request sent again after a cut from showing text twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.models.base import Completion, GenStats
from assistant.models.stop_filter import StopFilter


class Cut(Exception):
    """The stream ended (or broke) before every choice had a finish reason."""


@dataclass
class _Choice:
    """What has arrived for one choice index of a streamed response."""

    stops: StopFilter
    logprobs: list[float] = field(default_factory=list)
    chunks: int = 0
    finish: str | None = None  # the server's finish reason; None: it never sent one
    first: float = 0.0


class StreamReader:
    """Events of one response in, completions out."""

    def __init__(
        self,
        n: int,
        stop: list[str],
        on_text: Callable[[int, str], None] | None,
        t0: float,
    ) -> None:
        self.n, self.stop, self.on_text, self.t0 = n, stop, on_text, t0
        self.choices: dict[int, _Choice] = {}
        self.usage: dict[str, Any] = {}
        self.timings: dict[str, Any] = {}
        self.got_any = False

    def _choice(self, i: int) -> _Choice:
        st = self.choices.get(i)
        if st is None:
            on_text = self.on_text
            cb = (lambda t: on_text(i, t)) if on_text is not None else None
            st = self.choices[i] = _Choice(StopFilter(self.stop, cb))
        return st

    def add(self, event: dict[str, Any]) -> bool:
        """One event; True once stop sequences have ended every expected choice."""
        self.got_any = True
        self.usage = event.get("usage") or self.usage
        self.timings = event.get("timings") or self.timings
        for ch in event.get("choices") or []:
            st = self._choice(int(ch.get("index", 0)))
            delta = ch.get("delta")
            piece = (delta.get("content") or "") if delta is not None else ch.get("text", "")
            if piece and not st.stops.stopped:
                st.first = st.first or time.perf_counter() - self.t0
                st.chunks += 1
                st.stops.feed(piece)
            lp = ch.get("logprobs") or {}
            if lp.get("content"):
                st.logprobs += [float(c["logprob"]) for c in lp["content"]]
            elif lp.get("token_logprobs"):
                st.logprobs += [float(x) for x in lp["token_logprobs"] if x is not None]
            if ch.get("finish_reason"):
                st.finish = "stop" if ch["finish_reason"] == "stop" else "length"
        done = [c for c in self.choices.values() if c.stops.stopped]
        return len(done) >= self.n or (self.n == 1 and bool(done))

    def completions(self) -> list[Completion]:
        unfinished = [
            i for i, st in self.choices.items() if st.finish is None and not st.stops.stopped
        ]
        if unfinished or not self.choices:
            sizes = [len(self.choices[i].stops.text) for i in unfinished]
            after = f" after {max(sizes)} characters" if sizes else " with no text"
            raise Cut(f"the stream ended without a finish reason{after}")
        usage, timings = self.usage, self.timings
        total = time.perf_counter() - self.t0
        n_prompt = int(usage.get("prompt_tokens") or 0)
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
        reused = int(timings.get("cache_n") or cached or 0)
        out = []
        for i in sorted(self.choices):
            st = self.choices[i]
            text = st.stops.finish()
            finish = "stop" if st.stops.stopped else (st.finish or "length")
            one = len(self.choices) == 1
            stats = GenStats(
                prompt_tokens=n_prompt,
                prompt_evaluated=int(timings.get("prompt_n") or max(n_prompt - reused, 0)),
                prompt_reused=reused,
                completion_tokens=(int(usage.get("completion_tokens") or 0) if one else 0)
                or len(st.logprobs)
                or st.chunks,
                time_to_first_token=st.first,
                total_time=total,
            )
            out.append(Completion(text, st.logprobs, finish, stats, stop=st.stops.matched))
        return out


class Shown:
    """``on_text`` that remembers what each choice has shown, so that a request sent again
    after a cut stream does not show the same text twice: while the new stream repeats what
    was shown it stays quiet, and it goes on from where it passes (or leaves) that text."""

    def __init__(self, on_text: Callable[[int, str], None] | None) -> None:
        self.on_text = on_text
        self.text: dict[int, str] = {}
        self.replay: dict[int, str] = {}

    def again(self) -> None:
        self.replay, self.text = self.text, {}

    def __call__(self, i: int, piece: str) -> None:
        now = self.text.get(i, "") + piece
        self.text[i] = now
        old = self.replay.get(i, "")
        if old:
            if old.startswith(now):
                return  # still repeating what was shown
            self.replay[i] = ""
            if now.startswith(old):
                piece = now[len(old) :]  # new text from here on
        if piece and self.on_text is not None:
            self.on_text(i, piece)
