"""The llama backend on a real llama.cpp, with a tiny random GGUF written at test time.

Random weights produce nonsense, so exact-text assertions force the output with a grammar;
everything else (streaming, cancelling, seeds, log-probs, the KV cache) is checked on what
the model really did.
"""

from __future__ import annotations

import math
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from assistant.models import load_model
from assistant.models.base import Cancelled, ModelError, Request
from assistant.models.llama import LlamaModel
from assistant.models.tiny_gguf import exact_grammar

SYSTEM_PROMPT = "# Import libraries.\n\nimport numpy as np\n\n" + "".join(
    f"# Write a function that returns the sum of values {i}\n" for i in range(8)
)


@pytest.mark.llama
def test_loads_and_describes_itself(model: Any, tiny_gguf: Path) -> None:
    info = model.describe()
    assert info["backend"] == "llama"
    assert info["model"] == str(tiny_gguf.absolute())
    assert info["device"] in ("CPU", "CUDA", "Metal", "ROCm", "Vulkan", "SYCL")
    # by default a GPU build offloads every layer, a CPU build none
    assert info["gpu_layers"] == (0 if info["device"] == "CPU" else info["layers"])
    assert info["layers"] == 3
    assert info["chat"] is True  # the GGUF has a chat template (its name says nothing)


@pytest.mark.llama
def test_streams_chunks_that_join_to_the_text(model: Any) -> None:
    chunks: list[str] = []
    c = model.generate(Request(prompt="def f(x):\n", max_tokens=24, seed=1), on_text=chunks.append)
    assert len(chunks) > 3
    assert "".join(chunks) == c.text
    assert c.finish_reason in ("length", "stop")
    assert c.stats.completion_tokens <= 24
    assert 0 < c.stats.time_to_first_token <= c.stats.total_time


@pytest.mark.llama
def test_grammar_forces_exact_output(model: Any) -> None:
    c = model.generate(Request(prompt="x = ", max_tokens=40, grammar=exact_grammar("print(42)")))
    assert c.text == "print(42)"
    assert c.finish_reason == "stop"  # the grammar ends, only end-of-text can follow


@pytest.mark.llama
def test_stop_sequence_split_over_tokens_is_never_streamed(model: Any) -> None:
    chunks: list[str] = []
    req = Request(
        prompt="x = ", max_tokens=40, grammar=exact_grammar("a = 1\nSTOP\nb = 2"), stop=["STOP"]
    )
    c = model.generate(req, on_text=chunks.append)
    assert c.text == "a = 1\n"
    assert "".join(chunks) == c.text
    assert c.finish_reason == "stop"
    assert c.stop == "STOP"  # which stop ended it (MTPB's exact truncation puts it back)
    done = model.generate(Request(prompt="x = ", max_tokens=40, grammar=exact_grammar("a = 1")))
    assert done.stop is None


@pytest.mark.llama
def test_max_tokens_ends_with_length(model: Any) -> None:
    c = model.generate(Request(prompt="x", max_tokens=5, grammar=exact_grammar("a" * 50)))
    assert c.stats.completion_tokens == 5
    assert c.finish_reason == "length"


@pytest.mark.llama
def test_cancel_between_tokens_then_generate_again(model: Any) -> None:
    cancel = threading.Event()
    seen: list[str] = []

    def on_text(t: str) -> None:
        seen.append(t)
        if len(seen) == 3:
            cancel.set()

    with pytest.raises(Cancelled):
        model.generate(Request(prompt="x", max_tokens=500, temperature=1.0), on_text, cancel)
    assert len(seen) == 3
    c = model.generate(Request(prompt="y", max_tokens=20, grammar=exact_grammar("ok")))
    assert c.text == "ok"


@pytest.mark.llama
def test_cancel_before_start(model: Any) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        model.generate(Request(prompt="x"), cancel=cancel)


@pytest.mark.llama
def test_same_seed_same_text_and_n_candidates_differ(model: Any) -> None:
    req = Request(prompt=SYSTEM_PROMPT, max_tokens=16, temperature=1.0, seed=7)
    a = model.generate(req).text
    assert model.generate(req).text == a
    streamed: dict[int, list[str]] = {}
    cands = model.sample(req, 3, on_text=lambda i, t: streamed.setdefault(i, []).append(t))
    assert len(cands) == 3
    assert cands[0].text == a  # candidate 0 uses the request's seed
    assert len({c.text for c in cands}) > 1
    assert {i: "".join(v) for i, v in streamed.items()} == {i: c.text for i, c in enumerate(cands)}
    for c in cands[1:]:  # decoded together: the prompt is evaluated once, for candidate 0
        assert c.stats.prompt_evaluated == 0
        assert c.stats.prompt_reused == c.stats.prompt_tokens


@pytest.mark.llama
def test_logprobs_of_sampled_tokens(model: Any) -> None:
    c = model.generate(Request(prompt="x = ", max_tokens=12, temperature=1.0, seed=3))
    assert len(c.token_logprobs) == c.stats.completion_tokens > 0
    assert all(math.isfinite(lp) and lp <= 0 for lp in c.token_logprobs)
    assert c.mean_logprob <= 0
    off = model.generate(Request(prompt="x = ", max_tokens=12, seed=3, logprobs=False))
    assert off.token_logprobs == []


@pytest.mark.llama
def test_greedy_logprob_is_the_top_choice(model: Any) -> None:
    """Greedy takes the most likely token: its probability is at least 1/vocab."""
    c = model.generate(Request(prompt="x = ", max_tokens=6, temperature=0.0))
    vocab = model.llama.n_vocab()
    assert all(lp >= -math.log(vocab) for lp in c.token_logprobs)


@pytest.mark.llama
def test_append_only_turns_reuse_the_kv_cache(model: Any) -> None:
    model.reset_cache()
    prompt = SYSTEM_PROMPT
    first = model.generate(Request(prompt=prompt, max_tokens=16, temperature=1.0, seed=1))
    assert first.stats.prompt_reused == 0
    assert first.stats.prompt_evaluated == first.stats.prompt_tokens > 50
    prev = first
    for turn in range(3):
        prompt = prompt + prev.text + f"\n# turn {turn}\n"
        c = model.generate(Request(prompt=prompt, max_tokens=16, temperature=1.0, seed=turn))
        s = c.stats
        assert s.prompt_reused + s.prompt_evaluated == s.prompt_tokens
        # the previous prompt and every generated token but the last (never evaluated)
        assert s.prompt_reused >= prev.stats.prompt_tokens + prev.stats.completion_tokens - 1
        assert s.prompt_evaluated <= 12 < s.prompt_reused
        prev = c


@pytest.mark.llama
def test_a_truncated_answer_still_reuses_the_prompt(model: Any) -> None:
    model.reset_cache()
    first = model.generate(Request(prompt=SYSTEM_PROMPT, max_tokens=20, temperature=1.0, seed=2))
    cut = first.text[: len(first.text) // 2]
    c = model.generate(Request(prompt=SYSTEM_PROMPT + cut + "\n# next\n", max_tokens=4))
    assert c.stats.prompt_reused >= first.stats.prompt_tokens
    assert c.stats.prompt_evaluated < 15


@pytest.mark.llama
def test_reset_cache_evaluates_everything_again(model: Any) -> None:
    req = Request(prompt=SYSTEM_PROMPT, max_tokens=4)
    model.generate(req)
    model.reset_cache()
    c = model.generate(req)
    assert c.stats.prompt_reused == 0


@pytest.mark.llama
def test_chat_template_formats_messages(tiny_gguf: Path) -> None:
    m = LlamaModel(tiny_gguf, chat=True, n_ctx=512, n_threads=1)
    msgs = [{"role": "user", "content": "hi"}]
    c = m.generate(Request(messages=msgs, max_tokens=20, grammar=exact_grammar("x = 1")))
    assert c.text == "x = 1"
    expected = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    toks = m.llama.tokenize(expected.encode(), add_bos=False, special=True)
    assert c.stats.prompt_tokens == len(toks) < len(expected)  # special tokens are one token
    # next turn: the answer plus the template's end-of-turn text is all that is new
    msgs += [{"role": "assistant", "content": c.text}, {"role": "user", "content": "more"}]
    c2 = m.generate(Request(messages=msgs, max_tokens=3))
    assert c2.stats.prompt_reused >= c.stats.prompt_tokens + c.stats.completion_tokens - 1
    m.close()


@pytest.mark.llama
def test_prompt_longer_than_context(tiny_gguf: Path) -> None:
    m = LlamaModel(tiny_gguf, n_ctx=64)
    with pytest.raises(ModelError, match="n_ctx"):
        m.generate(Request(prompt=SYSTEM_PROMPT * 3))
    m.close()


@pytest.mark.llama
def test_invalid_grammar_is_a_model_error(model: Any) -> None:
    with pytest.raises(ModelError, match="grammar"):
        model.generate(Request(prompt="x", grammar="root ::= ("))


@pytest.mark.unit
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"not found: .*nope\.gguf"):
        LlamaModel(tmp_path / "nope.gguf")


@pytest.mark.unit
def test_not_a_gguf_file(tmp_path: Path) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"<!DOCTYPE html><html>rate limited</html>")
    with pytest.raises(ModelError, match="not a GGUF file") as err:
        LlamaModel(bad)
    assert str(bad) in str(err.value)


@pytest.mark.llama
def test_truncated_gguf_says_corrupt(tmp_path: Path, tiny_gguf: Path) -> None:
    bad = tmp_path / "cut.gguf"
    bad.write_bytes(tiny_gguf.read_bytes()[:300_000])
    with pytest.raises(ModelError, match="truncated or corrupt") as err:
        LlamaModel(bad)
    assert "file bounds" in str(err.value)  # llama.cpp's own reason is passed on


@pytest.mark.llama
def test_missing_llama_cpp_names_the_install(
    tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import now raises ImportError
    with pytest.raises(ModelError, match="pip install llama-cpp-python"):
        LlamaModel(tiny_gguf)


@pytest.mark.llama
def test_gpu_asked_on_a_cpu_build_warns(tiny_gguf: Path) -> None:
    m = LlamaModel(tiny_gguf, n_gpu_layers=99, n_ctx=256)
    info = m.describe()
    if m.gpu_build:
        assert info["gpu_layers"] == 3 and info["device"] == m.gpu_build
    else:
        assert info["gpu_layers"] == 0 and info["device"] == "CPU"
        assert "CPU-only" in info["warning"] and "GGML_CUDA" in info["warning"]
    m.close()


@pytest.mark.llama
def test_unknown_option_is_named(tiny_gguf: Path) -> None:
    with pytest.raises(ModelError, match=r"unknown option.*temprature"):
        LlamaModel(tiny_gguf, temprature=0.1)


@pytest.mark.llama
def test_llama_options_pass_through(tiny_gguf: Path) -> None:
    m = LlamaModel(tiny_gguf, n_ctx=256, n_ubatch=64, threads=1)
    assert m.describe()["threads"] == 1 and m.describe()["n_ctx"] == 256
    m.close()


@pytest.mark.llama
def test_load_model_specs(tiny_gguf: Path) -> None:
    for spec in (str(tiny_gguf), f"llama:{tiny_gguf}"):
        m = load_model(spec, n_ctx=256)
        assert m.describe()["backend"] == "llama"
        m.close()
