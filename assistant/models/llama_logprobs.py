"""Log-probs of sampled tokens without ``logits_all`` (n_ctx x n_vocab floats).

Two ways, for the single and the batched path alike: read the context's logits of the last
decode right after sampling (``LastLogits``, one pass into one buffer), or, when extra logits
processors may change the scores, record their output last in the chain (``LogprobRecorder``).
"""

from __future__ import annotations

from typing import Any


class LogprobRecorder:
    """Logits processor keeping the log-softmax of the step's logits (it changes nothing)."""

    def __init__(self) -> None:
        import numpy as np

        self.np = np
        self.last: Any = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        m = scores.max()
        self.last = scores - (m + self.np.log(self.np.exp(scores - m).sum()))
        return scores


class LastLogits:
    """Log-prob of the sampled token, read from the context's logits of the last decode.

    Read after sampling (the generator is paused at its yield, the logits are still those of
    the step). A logits processor would do the same job, but llama-cpp-python then copies the
    whole vocabulary through a numpy recarray twice per token: 3 ms per token on Gemma's 262k
    vocabulary, a tenth of its decode time on 2 threads. This is one pass, into one buffer.
    """

    def __init__(self, llama_cpp: Any, llm: Any) -> None:
        import numpy as np

        self.np = np
        self.get = llama_cpp.llama_get_logits_ith
        self.ctx = llm._ctx.ctx
        self.n_vocab = int(llm.n_vocab())
        self.buf = np.empty(self.n_vocab, dtype=np.float32)

    def __call__(self, token: int, row: int = -1) -> float:
        np = self.np
        x = np.ctypeslib.as_array(self.get(self.ctx, row), shape=(self.n_vocab,))
        m = x.max()
        np.subtract(x, m, out=self.buf)
        np.exp(self.buf, out=self.buf)
        return float(x[token] - m) - float(np.log(self.buf.sum(dtype=np.float64)))
