"""The llama backend on the real built-in models: streaming, stops, cancel, log-probs, reuse."""

from __future__ import annotations

import itertools
import math
import threading
from typing import Any

import pytest

from assistant.models.base import Cancelled, Request
from assistant.models.tiny_gguf import exact_grammar

MULTIBYTE = "s = 'héllo wörld → 世界 ✓ 🙂'"


def test_streams_multibyte_text_exactly(real_model: Any) -> None:
    chunks: list[str] = []
    req = Request(prompt="# A string with accents and emoji\n", grammar=exact_grammar(MULTIBYTE))
    c = real_model.generate(req, chunks.append)
    assert c.text == MULTIBYTE and "".join(chunks) == MULTIBYTE
    assert len(chunks) > 3 and "\ufffd" not in "".join(chunks)  # no torn UTF-8 shown
    assert c.stats.completion_tokens >= len(chunks)


def test_stop_sequence_cuts_and_is_not_shown(real_model: Any) -> None:
    chunks: list[str] = []
    req = Request(
        prompt="x = 1\n",
        grammar=exact_grammar("y = 2\n\nz = 3"),
        stop=["\n\n"],
        max_tokens=40,
    )
    c = real_model.generate(req, chunks.append)
    assert c.text == "y = 2" and "".join(chunks) == "y = 2" and c.finish_reason == "stop"


def test_logprobs_of_free_sampling_are_finite(real_model: Any) -> None:
    req = Request(prompt="def add(a, b):\n", max_tokens=16, temperature=0.0, seed=1)
    c = real_model.generate(req)
    assert c.stats.completion_tokens > 0
    assert len(c.token_logprobs) == c.stats.completion_tokens
    assert all(math.isfinite(lp) and lp <= 1e-6 for lp in c.token_logprobs)


def test_cancel_mid_stream(real_model: Any) -> None:
    cancel = threading.Event()
    seen: list[str] = []

    def on_text(t: str) -> None:
        seen.append(t)
        if len(seen) == 5:
            cancel.set()

    req = Request(prompt="# digits\n", grammar='root ::= "x" [0-9]+ "\\n" root', max_tokens=1500)
    with pytest.raises(Cancelled):
        real_model.generate(req, on_text, cancel)
    assert 5 <= len(seen) <= 6  # stopped at the next token


def test_append_only_prompts_evaluate_only_new_tokens(real_model: Any) -> None:
    real_model.reset_cache()
    prompt = "# Import libraries.\nimport numpy as np\n"
    stats = []
    for i, (turn, code) in enumerate(
        [
            ("Assign [3, 1, 2] to numbers.", "numbers = [3, 1, 2]"),
            ("Sum them.", "t = sum(numbers)"),
            ("Print t.", "print(t)"),
        ]
    ):
        prompt += f"# {turn}\n"
        c = real_model.generate(Request(prompt=prompt, grammar=exact_grammar(code), seed=i))
        stats.append(c.stats)
        prompt += c.text + "\n"
    for prev, s in itertools.pairwise(stats):
        assert s.prompt_reused >= prev.prompt_tokens  # the whole earlier prompt was reused
        assert s.prompt_evaluated == s.prompt_tokens - s.prompt_reused
        assert s.prompt_evaluated <= 20  # its answer's end and the new comment line
