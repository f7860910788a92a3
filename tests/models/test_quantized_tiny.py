"""Quantized weights (Q8_0, Q4_0) reach llama.cpp's quantized CPU kernels; f32 weights never do.

A multi-token prompt goes through the batched matrix products that faulted on AMX VMs (see
buildcheck.py); the output is forced with a grammar so the check is exact.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.models.base import Request
from assistant.models.llama import LlamaModel
from assistant.models.tiny_gguf import exact_grammar, write_tiny_gguf

pytestmark = pytest.mark.llama


@pytest.mark.parametrize("quant", ["Q8_0", "Q4_0"])
def test_quantized_tiny_model_runs_a_multi_token_prompt(tmp_path: Path, quant: str) -> None:
    import gguf

    path = write_tiny_gguf(tmp_path / f"tiny-{quant}.gguf", quant=quant)
    reader = gguf.GGUFReader(str(path))
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    assert types["blk.0.ffn_up.weight"] == quant and types["blk.0.attn_norm.weight"] == "F32"
    m = LlamaModel(path, n_ctx=512, n_threads=2, n_batch=64)
    try:
        prompt = "def return print import from for in range if else while len self class " * 4
        c = m.generate(Request(prompt=prompt, grammar=exact_grammar("total = sum(values)")))
        assert c.text == "total = sum(values)"
        assert c.stats.prompt_evaluated > 40  # a real batch, not one token at a time
        free = m.generate(Request(prompt=prompt + "x", max_tokens=8, temperature=0.0))
        assert free.stats.completion_tokens > 0
    finally:
        m.close()


def test_logprobs_read_after_sampling_equal_the_processor_ones(tmp_path: Path) -> None:
    """The cheap path (context logits after sampling) gives the log-softmax the slow one did."""
    path = write_tiny_gguf(tmp_path / "tiny-q8.gguf", quant="Q8_0")
    m = LlamaModel(path, n_ctx=256, n_threads=1)
    try:
        req = Request(prompt="def return print", max_tokens=12, seed=3)
        fast = m.generate(req)
        m.extra_processors = [lambda ids, scores: scores]  # forces the recording processor
        m.reset_cache()
        slow = m.generate(req)
    finally:
        m.close()
    assert fast.text == slow.text and len(fast.token_logprobs) == fast.stats.completion_tokens
    assert (
        max(abs(a - b) for a, b in zip(fast.token_logprobs, slow.token_logprobs, strict=True))
        < 1e-4
    )
