"""Streaming text through a callback while honouring stop sequences.

A stop sequence may arrive split over several tokens, so text that could still turn out to be
the start of one is held back until it is clearly not; the caller never sees text it would
have to take back, and the joined chunks always equal the final text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Not a string to find but a rule: end the text right after the closing fence of the first
# fenced code block. Chat models answer "Here is the code: ```python ... ``` This prints..."
# and the engine keeps only the block, so every token after it is wasted decode time. A plain
# stop string cannot say this ("\n```" also starts the opening fence). Never sent to a server.
FENCE_END = "\x00end-of-first-code-block"
_OPEN = re.compile(r"```[^\n`]*\n")
_CLOSE = re.compile(r"^[ \t]*```", re.MULTILINE)


def _fence_end(text: str) -> int:
    """Where the first fenced block's closing fence ends in ``text``; -1: not closed yet."""
    m = _OPEN.search(text)
    if m is None:
        return -1
    close = _CLOSE.search(text, m.end())
    return -1 if close is None else close.end()


def server_stops(stops: list[str]) -> list[str]:
    """The stop strings a server can apply itself (rules such as FENCE_END stay client-side)."""
    return [s for s in stops if s and s != FENCE_END]


class StopFilter:
    def __init__(
        self, stops: list[str], on_text: Callable[[str], None] | None = None, context: str = ""
    ) -> None:
        # ``context``: text before the generated text that the fence rule must see (an answer
        # primed with an opening fence, Request.prime); it is never emitted.
        self.context = context
        self.fence = FENCE_END in stops
        self.stops = server_stops(stops)
        self.on_text = on_text
        self.stopped = False  # a stop sequence ended the text
        self.matched: str | None = None  # which one (MTPB's exact truncation puts it back)
        self._parts: list[str] = []
        # Held-back text; a stop sequence can only start here, never in text already emitted.
        self._pending = ""

    @property
    def text(self) -> str:
        return "".join(self._parts) + ("" if self.stopped else self._pending)

    def feed(self, chunk: str) -> bool:
        """Add text; returns True once a stop sequence has been seen (then ignore the rest)."""
        if self.stopped or not chunk:
            return self.stopped
        pending = self._pending + chunk
        if self.fence:
            done = self.context + "".join(self._parts)
            end = _fence_end(done + pending)
            if end != -1:  # found in this chunk: earlier feeds saw no closed block
                pending = pending[: end - len(done)]
                cut = min((i for s in self.stops if (i := pending.find(s)) != -1), default=-1)
                if cut == -1:  # the block closed before any stop string: the rule ends it
                    self.stopped, self.matched, self._pending = True, "```", ""
                    self._emit(pending)
                    return True
        if not self.stops:
            self._pending = ""
            self._emit(pending)
            return False
        cut = -1
        for s in self.stops:
            i = pending.find(s)
            if i != -1 and (cut == -1 or i < cut):
                cut, self.matched = i, s
        if cut != -1:
            self.stopped = True
            self._pending = ""
            self._emit(pending[:cut])
            return True
        hold = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(pending)), hold, -1):
                if pending.endswith(s[:k]):
                    hold = k
                    break
        self._pending = pending[len(pending) - hold :]
        self._emit(pending[: len(pending) - hold])
        return False

    def finish(self) -> str:
        """Release held-back text (the stream ended without a stop) and return the full text."""
        if not self.stopped and self._pending:
            pending, self._pending = self._pending, ""
            self._emit(pending)
        return self.text

    def _emit(self, text: str) -> None:
        if text:
            self._parts.append(text)
            if self.on_text is not None:
                self.on_text(text)
