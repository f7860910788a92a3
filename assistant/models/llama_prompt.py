"""The prompt side of a loaded llama.cpp model: request -> text -> tokens -> cached prefix.

One ``LlamaPrompt`` per loaded model, shared by single completions (llama.py) and batched
ones (llama_batch.py). It keeps what is worth keeping between requests: the token history of
the last prompt (TokenHistory: an append-only multi-turn prompt tokenizes and evaluates only
its new tokens), the bytes of each token, the chat formatter and compiled grammars.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

from assistant.models.base import Cancelled, ModelError, Request
from assistant.models.token_history import TokenHistory


class LlamaPrompt:
    """Prompts for one ``llama_cpp.Llama`` (``llm``, from the ``llama_cpp`` module ``lc``).

    ``chat``: format messages with the GGUF's chat ``template`` (LlamaModel allows chat only
    with one), else give the plain transcript;
    ``recurrent``: the cache cannot be trimmed, so a prompt is never partly reused.
    """

    def __init__(self, lc: Any, llm: Any, *, chat: bool, template: str | None) -> None:
        self.lc, self.llm = lc, llm
        self.vocab = llm._model.vocab
        self.chat, self.template = chat, template
        self.recurrent = bool(
            getattr(llm, "_is_recurrent", False) or getattr(llm, "_is_hybrid", False)
        )
        self.history = TokenHistory()
        self._history_special = False
        self._formatter: Any = None
        self._pieces: dict[tuple[int, bool], bytes] = {}
        self._piece_buf = ctypes.create_string_buffer(256)
        self._grammars: dict[str, Any] = {}

    def piece(self, token: int, special: bool) -> bytes:
        """The bytes of ``token`` (``special``: control tokens as their text), cached."""
        key = (token, special)
        piece = self._pieces.get(key)
        if piece is None:
            buf = self._piece_buf
            n = self.lc.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, special)
            if n < 0:  # longer than the buffer: -n is the size needed
                buf = ctypes.create_string_buffer(-n)
                n = self.lc.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, special)
            piece = self._pieces[key] = buf.raw[:n]
        return piece

    def text(self, request: Request) -> tuple[str, bool]:
        """(text, special): chat-template output may contain special tokens; user text not."""
        if request.messages and self.chat and self.template is not None:  # chat: has one
            if self._formatter is None:
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter

                llm = self.llm

                def tok_text(t: int) -> str:
                    return str(llm._model.token_get_text(t)) if t != -1 else ""

                self._formatter = Jinja2ChatFormatter(
                    self.template, tok_text(llm.token_eos()), tok_text(llm.token_bos())
                )
            try:
                return self._formatter(messages=request.messages).prompt + request.prime, True
            except Exception as exc:  # jinja errors and the template's raise_exception
                raise ModelError(
                    f"the model's chat template failed on these messages: {exc}"
                ) from None
        if request.prompt or not request.messages:
            return request.prompt, False
        # Base models have no roles: give them the plain transcript.
        return "\n\n".join(m.get("content", "") for m in request.messages), False

    def tokens(self, text: str, special: bool) -> list[int]:
        """``text`` as tokens, the history's tokens kept where the text extends it."""
        hist, llm = self.history, self.llm
        if special != self._history_special:
            hist.clear()
            self._history_special = special
        data = text.encode("utf-8")
        n_keep, b_keep = hist.reusable(data)
        if n_keep:
            rest = data[b_keep:]
            toks: list[int] = llm.tokenize(rest, add_bos=False, special=special) if rest else []
            pieces = [self.piece(t, special) for t in toks]
            if b"".join(pieces) == rest:
                hist.truncate(n_keep, b_keep)
                hist.extend(toks, pieces)
                return list(hist.tokens)
        # chat templates write the BOS text themselves (as llama-cpp-python assumes)
        toks = llm.tokenize(data, add_bos=not special, special=special)
        hist.clear()
        pieces = [self.piece(t, special) for t in toks]
        if b"".join(pieces) == data:
            hist.extend(toks, pieces)
        else:
            hist.extend_opaque(toks, data)
        return toks

    def prefill(self, tokens: list[int], cancel: threading.Event | None) -> int:
        """Evaluate all but the last prompt token, reusing the cached prefix; returns its size.

        Done here rather than inside ``Llama.generate`` so that cancellation works between
        batches of a long prompt. The last token is left for ``generate`` to evaluate (it needs
        fresh logits), which then finds everything else cached.
        """
        import numpy as np

        llm = self.llm
        if self.recurrent:  # the cache cannot be trimmed: generate() re-evaluates anyway
            return 0
        m = min(llm.n_tokens, len(tokens) - 1)
        diff = np.flatnonzero(llm.input_ids[:m] != np.asarray(tokens[:m], dtype=np.intc))
        keep = int(diff[0]) if len(diff) else max(m, 0)
        if keep < llm.n_tokens:
            if keep > 0 and llm._ctx.kv_cache_seq_rm(-1, keep, -1):
                llm.n_tokens = keep
            else:
                llm.reset()
                keep = 0
        for start in range(keep, len(tokens) - 1, llm.n_batch):
            if cancel is not None and cancel.is_set():
                raise Cancelled("generation cancelled")
            llm.eval(tokens[start : min(start + llm.n_batch, len(tokens) - 1)])
        return keep

    def grammar(self, text: str) -> Any:
        """The compiled GBNF grammar ``text`` (cached); ModelError when llama.cpp rejects it."""
        grammar = self._grammars.get(text)
        if grammar is None:
            lc = self.lc
            # An invalid grammar would reach the sampler chain as a NULL sampler and crash.
            probe = lc.llama_sampler_init_grammar(self.vocab, text.encode(), b"root")
            if not probe:
                raise ModelError(f"invalid GBNF grammar (llama.cpp rejected it): {text[:200]!r}")
            lc.llama_sampler_free(probe)
            grammar = self._grammars[text] = lc.LlamaGrammar.from_string(text, verbose=False)
        return grammar
