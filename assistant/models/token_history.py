"""Token-level history of what a local model has read and written, for KV-cache prefix reuse.

A multi-turn prompt grows by appending: last prompt + the model's (possibly truncated) answer +
the next turn. llama.cpp keeps the KV cache for the longest common *token* prefix, but
re-tokenizing generated text often gives different tokens than the ones sampled, and every
token after the first difference is evaluated again. So the history remembers the exact tokens
with the byte offset where each ends ("cut points"), and a new prompt reuses the longest
tokenized prefix of it, tokenizing only the new tail.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence


def common_prefix(a: bytes | bytearray, b: bytes | bytearray) -> int:
    """Length of the longest common prefix (a handful of memcmp's, not a Python loop)."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo] and a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


class TokenHistory:
    def __init__(self) -> None:
        self.tokens: list[int] = []
        self.text = bytearray()
        # Valid cut points: after cut_tokens[i] tokens the text is exactly text[:cut_bytes[i]].
        self.cut_bytes: list[int] = []
        self.cut_tokens: list[int] = []
        self._open = True  # False after a token with no text: later cuts would smuggle it in

    def clear(self) -> None:
        self.tokens.clear()
        self.text.clear()
        self.cut_bytes.clear()
        self.cut_tokens.clear()
        self._open = True

    def reusable(self, prompt: bytes) -> tuple[int, int]:
        """(tokens, bytes) of the longest recorded prefix of ``prompt`` ending on a cut point."""
        i = bisect_right(self.cut_bytes, common_prefix(self.text, prompt)) - 1
        if i < 0:
            return 0, 0
        return self.cut_tokens[i], self.cut_bytes[i]

    def truncate(self, n_tokens: int, n_bytes: int) -> None:
        """Keep the first ``n_tokens`` (a cut point returned by ``reusable``)."""
        del self.tokens[n_tokens:]
        del self.text[n_bytes:]
        i = bisect_right(self.cut_tokens, n_tokens)
        del self.cut_bytes[i:]
        del self.cut_tokens[i:]
        self._open = True

    def extend(self, tokens: Sequence[int], pieces: Sequence[bytes]) -> None:
        """Append tokens whose text is exactly their pieces (every boundary is a cut point)."""
        for tok, piece in zip(tokens, pieces, strict=True):
            self.tokens.append(tok)
            self.text += piece
            if not piece and len(self.tokens) > 1:
                self._open = False
            if self._open:
                self.cut_bytes.append(len(self.text))
                self.cut_tokens.append(len(self.tokens))

    def extend_opaque(self, tokens: Sequence[int], text: bytes) -> None:
        """Append tokens known to spell ``text`` as a whole but not piece by piece.

        SentencePiece models that prepend a space to every tokenized string are the usual case:
        the tokens are right for the whole string, but their pieces do not add up to it.
        """
        self.tokens.extend(tokens)
        self.text += text
        if self._open:
            self.cut_bytes.append(len(self.text))
            self.cut_tokens.append(len(self.tokens))
