"""Candidates decoded together (assistant/models/llama_batch.py) on a real llama.cpp.

The tiny random model writes nonsense, so exact-text checks force the output with a grammar;
the rest (seeds, streaming, stops, log-probs, cancel, the cache left behind) is checked on what
the model really did, against the one-after-another path of the same model file.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from assistant.models.base import Cancelled, Request, SamplingMixin
from assistant.models.llama import LlamaModel
from assistant.models.llama_batch import Ask
from assistant.models.tiny_gguf import ban_tokens, byte_token_ids, exact_grammar

pytestmark = pytest.mark.llama

PROMPT = "# Import libraries.\n\nimport numpy as np\n\n" + "".join(
    f"# Write a function that returns the sum of values {i}\n" for i in range(6)
)


def _load(path: Path, parallel: int, n_ctx: int = 1024) -> LlamaModel:
    return LlamaModel(
        path,
        n_ctx=n_ctx,
        n_threads=1,
        parallel=parallel,
        logits_processor=[ban_tokens(byte_token_ids())],
    )


@pytest.fixture
def batched(tiny_gguf: Path) -> Iterator[LlamaModel]:
    m = _load(tiny_gguf, parallel=4)
    yield m
    m.close()


def _streamed(model: LlamaModel, req: Request, n: int) -> tuple[list[Any], dict[int, str]]:
    chunks: dict[int, list[str]] = {}
    comps = model.sample(req, n, on_text=lambda i, t: chunks.setdefault(i, []).append(t))
    return comps, {i: "".join(v) for i, v in chunks.items()}


def test_each_candidate_streams_its_own_text_and_stops_on_its_own(batched: LlamaModel) -> None:
    req = Request(prompt=PROMPT, max_tokens=20, temperature=1.0, seed=11)
    comps, streamed = _streamed(batched, req, 4)
    assert len(comps) == 4
    assert streamed == {i: c.text for i, c in enumerate(comps) if c.text}
    assert len({c.text for c in comps}) > 1  # own seeds: base + i
    for c in comps:
        assert len(c.token_logprobs) == c.stats.completion_tokens
        assert all(math.isfinite(lp) and lp <= 0 for lp in c.token_logprobs)
        assert c.stats.completion_tokens <= 20
        assert c.finish_reason in ("stop", "length")
    again, _ = _streamed(batched, req, 4)
    assert [c.text for c in again] == [c.text for c in comps]  # same seeds, same answers


def test_grammar_stops_and_lengths_per_sequence(batched: LlamaModel) -> None:
    """Every sequence has its own grammar state and stop filter; each ends when it should."""
    req = Request(
        prompt=PROMPT, max_tokens=40, grammar=exact_grammar("a = 1\nSTOP\nb = 2"), stop=["STOP"]
    )
    comps, streamed = _streamed(batched, req, 3)
    assert [c.text for c in comps] == ["a = 1\n"] * 3
    assert all(c.stop == "STOP" and c.finish_reason == "stop" for c in comps)
    assert streamed == {0: "a = 1\n", 1: "a = 1\n", 2: "a = 1\n"}
    short = batched.sample(Request(prompt="x", max_tokens=5, grammar=exact_grammar("a" * 50)), 2)
    assert [c.stats.completion_tokens for c in short] == [5, 5]
    assert all(c.finish_reason == "length" for c in short)


def test_same_answers_as_one_after_another_when_forced(tiny_gguf: Path) -> None:
    seq = _load(tiny_gguf, parallel=1)
    batched = _load(tiny_gguf, parallel=4)
    try:
        req = Request(
            prompt=PROMPT, max_tokens=30, grammar=exact_grammar("def f(x):\n    return x")
        )
        a = [c.text for c in batched.sample(req, 3)]
        b = [c.text for c in seq.sample(req, 3)]
        assert a == b == ["def f(x):\n    return x"] * 3
        # the first step's logits are shared: candidate i's first token is exactly the one
        # the sequential path samples with seed base + i
        free = Request(prompt=PROMPT, max_tokens=1, temperature=1.0, seed=5)
        assert [c.text for c in batched.sample(free, 4)] == [c.text for c in seq.sample(free, 4)]
    finally:
        seq.close()
        batched.close()


def test_more_candidates_than_sequences_go_in_groups(tiny_gguf: Path) -> None:
    m = _load(tiny_gguf, parallel=2)
    try:
        req = Request(prompt=PROMPT, max_tokens=8, temperature=1.0, seed=3)
        comps, streamed = _streamed(m, req, 5)
        assert len(comps) == 5
        assert set(streamed) <= set(range(5))
        wide = _load(m.path, parallel=8)
        try:
            # candidate i's first token depends only on its seed, whatever the grouping
            one = Request(prompt=PROMPT, max_tokens=1, temperature=1.0, seed=3)
            assert [c.text for c in m.sample(one, 5)] == [c.text for c in wide.sample(one, 5)]
        finally:
            wide.close()
    finally:
        m.close()


def test_cache_holds_exactly_the_prompt_afterwards(batched: LlamaModel) -> None:
    """The next, longer prompt reuses it; no other sequence is left in the cache."""
    req = Request(prompt=PROMPT, max_tokens=12, temperature=1.0, seed=2)
    batched.sample(req, 4)
    llm = batched.llama
    n_prompt = len(batched.prompt.history.tokens)
    assert llm.n_tokens == n_prompt
    mem, lc = llm._ctx.memory, batched._lc
    assert lc.llama_memory_seq_pos_max(mem, 0) == n_prompt - 1
    for j in range(1, 4):
        assert lc.llama_memory_seq_pos_max(mem, j) == -1  # empty
    nxt = batched.generate(Request(prompt=PROMPT + "x = 1\n", max_tokens=4, seed=1))
    assert nxt.stats.prompt_reused >= n_prompt - 1
    assert nxt.stats.prompt_evaluated <= 8


def test_cancel_mid_batch_leaves_the_model_as_before(batched: LlamaModel) -> None:
    greedy = Request(prompt=PROMPT, max_tokens=10, temperature=0.0)
    before = batched.generate(greedy).text
    cancel = threading.Event()
    seen: list[int] = []

    def on_text(i: int, t: str) -> None:
        seen.append(i)
        if len(seen) > 6:
            cancel.set()

    with pytest.raises(Cancelled):
        batched.sample(Request(prompt=PROMPT, max_tokens=60, temperature=1.0), 4, on_text, cancel)
    assert batched.generate(greedy).text == before
    mem, lc = batched.llama._ctx.memory, batched._lc
    assert all(lc.llama_memory_seq_pos_max(mem, j) == -1 for j in range(1, 4))


def test_answers_that_would_not_fit_go_one_after_another(tiny_gguf: Path) -> None:
    """Prompt + 3 x 200 tokens exceed a 512-token context: each candidate gets the room alone."""
    m = _load(tiny_gguf, parallel=4, n_ctx=512)
    try:
        req = Request(prompt=PROMPT, max_tokens=200, temperature=1.0, seed=9)
        comps = m.sample(req, 3)
        assert [c.text for c in comps] == [c.text for c in SamplingMixin.sample(m, req, 3)]
        assert comps[1].stats.prompt_evaluated == 1  # the sequential path's signature
    finally:
        m.close()


def test_n1_output_unchanged_by_the_wider_context(tiny_gguf: Path) -> None:
    one, wide = _load(tiny_gguf, parallel=1), _load(tiny_gguf, parallel=8)
    try:
        for req in (
            Request(prompt=PROMPT, max_tokens=24, temperature=0.0),
            Request(prompt=PROMPT, max_tokens=24, temperature=0.8, seed=4),
        ):
            a, b = one.generate(req), wide.generate(req)
            assert a.text == b.text and a.token_logprobs == b.token_logprobs
    finally:
        one.close()
        wide.close()


def test_different_prompts_share_their_prefix_and_keep_their_own_answers(
    batched: LlamaModel,
) -> None:
    """eval -n N lined up: samples whose programs diverged ask different prompts at once."""
    answers = ["def f(x):\n    return x", "y = 2", "print(3)"]
    prompts = [PROMPT, PROMPT + "x = 1\n", PROMPT + "# Print three.\n"]
    asks = [
        Ask(Request(prompt=p, max_tokens=30, grammar=exact_grammar(a)), seed=7 + i)
        for i, (p, a) in enumerate(zip(prompts, answers, strict=True))
    ]
    out = batched.generate_many(asks)
    assert [c.text for c in out if not isinstance(c, Cancelled)] == answers
    n_lead = len(batched.llama.tokenize(PROMPT.encode()))
    stats = [c.stats for c in out if not isinstance(c, Cancelled)]
    assert stats[0].prompt_evaluated == n_lead  # a fresh model: all of the lead prompt
    # the others evaluated only what follows the shared prefix (their own few tokens)
    assert all(0 < s.prompt_evaluated < 12 for s in stats[1:])
    assert all(s.prompt_evaluated + s.prompt_reused == s.prompt_tokens for s in stats)
    # afterwards: sequence 0 holds the first prompt, no other sequence is left
    llm, lc = batched.llama, batched._lc
    assert llm.n_tokens == n_lead
    assert lc.llama_memory_seq_pos_max(llm._ctx.memory, 0) == n_lead - 1
    assert all(lc.llama_memory_seq_pos_max(llm._ctx.memory, j) == -1 for j in range(1, 4))
    nxt = batched.generate(Request(prompt=PROMPT + "z = 3\n", max_tokens=2, seed=1))
    assert nxt.stats.prompt_reused >= n_lead - 1


def test_each_ask_has_its_own_cancel_switch(batched: LlamaModel) -> None:
    stop = threading.Event()
    stop.set()
    asks = [
        Ask(Request(prompt=PROMPT, max_tokens=6, temperature=1.0), seed=1),
        Ask(Request(prompt=PROMPT + "a = 1\n", max_tokens=6, temperature=1.0), 2, cancel=stop),
    ]
    out = batched.generate_many(asks)
    assert isinstance(out[1], Cancelled) and not isinstance(out[0], Cancelled)
    assert out[0].stats.completion_tokens > 0


def test_asks_that_would_not_fit_go_one_after_another(tiny_gguf: Path) -> None:
    m = _load(tiny_gguf, parallel=4, n_ctx=512)
    try:
        asks = [
            Ask(Request(prompt=PROMPT + f"# {i}\n", max_tokens=200, temperature=1.0), seed=i)
            for i in range(3)
        ]
        out = m.generate_many(asks)
        alone = [m.generate(replace(a.request, seed=a.seed)) for a in asks]
        assert [c.text for c in out if not isinstance(c, Cancelled)] == [c.text for c in alone]
    finally:
        m.close()


def test_the_prompt_the_cache_holds_leads_the_round(batched: LlamaModel) -> None:
    """Round after round the same sample leads: its cached prompt is not evaluated again."""
    batched.sample(Request(prompt=PROMPT, max_tokens=1), 2)  # the context is widened once
    mine = PROMPT + "x = 1\n"
    batched.generate(Request(prompt=mine, max_tokens=1, seed=1))
    n_mine = len(batched.llama.tokenize(mine.encode()))
    asks = [
        Ask(Request(prompt=PROMPT + "# Print three.\n", max_tokens=4, temperature=1.0), seed=1),
        Ask(Request(prompt=mine + "y = 2\n", max_tokens=4, temperature=1.0), seed=2),
    ]
    out = batched.generate_many(asks)
    led = out[1]
    assert not isinstance(led, Cancelled)
    assert led.stats.prompt_reused >= n_mine - 1  # its cached prefix, kept
    assert batched.llama.n_tokens == led.stats.prompt_tokens  # and it stays in the cache


def test_the_context_widens_at_the_first_batched_request(batched: LlamaModel) -> None:
    """One sequence decodes slower in a wide context: sessions that never batch keep it narrow."""
    first = batched.generate(Request(prompt=PROMPT, max_tokens=4, temperature=0.0))
    assert batched.llama.context_params.n_seq_max == 1
    batched.sample(Request(prompt=PROMPT, max_tokens=4, temperature=1.0, seed=3), 2)
    assert batched.llama.context_params.n_seq_max == 4
    again = batched.generate(Request(prompt=PROMPT, max_tokens=4, temperature=0.0))
    assert again.text == first.text


def test_log_probs_read_the_new_context_after_widening(tiny_gguf: Path) -> None:
    """The last-logits reader holds the context's pointer: it must follow the widening."""
    m = LlamaModel(tiny_gguf, n_ctx=1024, n_threads=1, parallel=4)
    try:
        req = Request(prompt=PROMPT, max_tokens=6, temperature=1.0, seed=2, logprobs=True)
        comps = m.sample(req, 2)
        after = m.generate(req)
        for c in [*comps, after]:
            assert len(c.token_logprobs) == c.stats.completion_tokens
            assert all(math.isfinite(lp) and lp <= 0 for lp in c.token_logprobs)
    finally:
        m.close()
