"""Benchmark of the llama backend: decode speed against raw llama-cpp-python, and KV reuse.

    python bench/bench_models.py [--model gemma3-270m|smollm2-135m|PATH.gguf] [--threads 2]

1. Decode tokens/s of ``LlamaModel.generate`` (streaming, with and without token log-probs)
   against raw ``create_completion(stream=True)`` on the same prompt, seed and sampler chain,
   runs interleaved, timed from the first streamed text (prompt cached). Target: ratio >= 0.98.
2. Prompt tokens evaluated over a 5-turn append-only session (MTPB-style prompts) with prefix
   reuse against the same prompts with the cache reset before every turn.

Without --model it writes the tiny random GGUF used by the tests (any machine, seconds).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.models.base import Request
from assistant.models.llama import LlamaModel

PREFIX = "# Import libraries.\n\nimport numpy as np\n\n"
TURNS = [
    "Assign the list of numbers [3, 1, 4, 1, 5, 9, 2, 6] to a variable named numbers.",
    "Sort the numbers in ascending order and store them in sorted_numbers.",
    "Compute the sum of the first three sorted numbers and store it in total.",
    "Create a dictionary mapping each number to its square.",
    "Print the total and the dictionary.",
]
SAMPLING = {"temperature": 0.2, "top_p": 0.95}


def _raw_stream(llm: object, prompt: str, tokens: int, seed: int) -> tuple[int, float, str]:
    """Raw llama-cpp-python streaming: (chunks, seconds from the first chunk to the end, text)."""
    t_first = 0.0
    chunks, text = 0, []
    stream = llm.create_completion(  # type: ignore[attr-defined]
        prompt, max_tokens=tokens, seed=seed, top_k=40, min_p=0.05, stream=True, **SAMPLING
    )
    for chunk in stream:
        if not t_first:
            t_first = time.perf_counter()
        chunks += 1
        text.append(chunk["choices"][0]["text"])
    return chunks, time.perf_counter() - t_first, "".join(text)


def _ours(model: LlamaModel, prompt: str, tokens: int, seed: int, logprobs: bool) -> tuple:
    t_first = 0.0

    def on_text(_t: str) -> None:
        nonlocal t_first
        if not t_first:
            t_first = time.perf_counter()

    req = Request(prompt=prompt, max_tokens=tokens, seed=seed, logprobs=logprobs, **SAMPLING)
    c = model.generate(req, on_text=on_text)
    return c.stats.completion_tokens, time.perf_counter() - t_first, c.text


class DecodeClock:
    """Times llama_decode calls, so the per-token cost of the Python around them shows apart
    from the model's own compute (which a busy machine makes noisy)."""

    def __init__(self, llm: object) -> None:
        ctx = llm._ctx  # type: ignore[attr-defined]
        self.inner = ctx.decode
        self.total = 0.0
        ctx.decode = self

    def __call__(self, batch: object) -> object:
        t0 = time.perf_counter()
        try:
            return self.inner(batch)
        finally:
            self.total += time.perf_counter() - t0


def decode_speed(model: LlamaModel, tokens: int, runs: int) -> None:
    """Decode tokens/s from the first streamed text to the end, raw and ours interleaved."""
    llm = model.llama
    clock = DecodeClock(llm)
    outside: dict[str, list[float]] = {"raw": [], "ours": [], "ours+lp": []}
    prompt = PREFIX + "".join(f"# {t}\n" for t in TURNS)
    rates: dict[str, list[float]] = {"raw": [], "ours": [], "ours+lp": []}
    same = 0
    for seed in range(runs):
        llm.create_completion(prompt, max_tokens=1, seed=seed)  # the prompt is cached for all
        order = ["raw", "ours", "ours+lp"]
        if seed % 2:  # alternate who goes first: a busy machine drifts over a run
            order.reverse()
        texts = {}
        for kind in order:
            t0, d0 = time.perf_counter(), clock.total
            if kind == "raw":
                n, secs, texts[kind] = _raw_stream(llm, prompt, tokens, seed)
            else:
                n, secs, texts[kind] = _ours(model, prompt, tokens, seed, kind == "ours+lp")
            # the first token's time is excluded for both (prompt and first sample)
            rates[kind].append(max(n - 1, 1) / secs)
            outside[kind].append((time.perf_counter() - t0 - (clock.total - d0)) / max(n, 1))
        same += texts["raw"] == texts["ours"].replace("\ufffd", "")
    med = {k: statistics.median(v) for k, v in rates.items()}
    # paired per-run ratios: both sides of a pair ran back to back under the same load
    paired = {
        k: statistics.median(o / r for o, r in zip(rates[k], rates["raw"], strict=True))
        for k in ("ours", "ours+lp")
    }
    print(
        f"decode, {runs} interleaved runs x up to {tokens} tokens (median tokens/s, prompt cached)"
    )
    print(f"  create_completion(stream=True) (raw)   {med['raw']:10.1f}")
    r1, r2 = paired["ours"], paired["ours+lp"]
    print(
        f"  LlamaModel.generate (streaming)        {med['ours']:10.1f}   ratio {r1:.3f} (paired median)"
    )
    print(
        f"  LlamaModel.generate + token log-probs  {med['ours+lp']:10.1f}   ratio {r2:.3f} (paired median)"
    )
    print(f"  same text as raw in {same}/{runs} runs (same seed and sampler chain)")
    ms = {k: 1000 * statistics.median(v) for k, v in outside.items()}
    print(
        f"  per token outside llama_decode (Python, sampling): raw {ms['raw']:.2f} ms, "
        f"ours {ms['ours']:.2f} ms, ours + log-probs {ms['ours+lp']:.2f} ms"
    )
    print(f"  target ratio >= 0.98: {'met' if min(r1, r2) >= 0.98 else 'NOT met'}")


def prefix_reuse(model: LlamaModel, max_tokens: int) -> None:
    model.reset_cache()
    prompt, prompts = PREFIX, []
    rows = []
    for i, turn in enumerate(TURNS):
        prompt += f"# {turn}\n"
        prompts.append(prompt)
        c = model.generate(Request(prompt=prompt, max_tokens=max_tokens, seed=i, **SAMPLING))
        rows.append(c.stats)
        # the engine keeps a truncated answer (MTPB cuts at the first blank line)
        prompt += c.text.split("\n\n")[0].rstrip("\n") + "\n"
    fresh = []
    for i, p in enumerate(prompts):
        model.reset_cache()
        fresh.append(model.generate(Request(prompt=p, max_tokens=max_tokens, seed=i, **SAMPLING)))
    print(f"\nprefix reuse, 5-turn append-only session ({max_tokens} new tokens per turn)")
    print("  turn  prompt  evaluated  reused  | no reuse: evaluated   ms (reuse / none)")
    for i, (s, f) in enumerate(zip(rows, fresh, strict=True)):
        print(
            f"  {i:4d}  {s.prompt_tokens:6d}  {s.prompt_evaluated:9d}  {s.prompt_reused:6d}  |"
            f" {f.stats.prompt_evaluated:19d}  {1000 * s.time_to_first_token:6.1f} /"
            f" {1000 * f.stats.time_to_first_token:6.1f}"
        )
    with_reuse = sum(s.prompt_evaluated for s in rows)
    without = sum(f.stats.prompt_evaluated for f in fresh)
    t_with = 1000 * sum(s.time_to_first_token for s in rows)
    t_without = 1000 * sum(f.stats.time_to_first_token for f in fresh)
    print(f"  total prompt tokens evaluated: {with_reuse} with reuse, {without} without", end="")
    print(f" ({without / max(with_reuse, 1):.1f}x fewer)")
    print(f"  total time to first token: {t_with:.0f} ms with reuse, {t_without:.0f} ms without")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--model", help="a built-in name or a GGUF file (default: the tiny random test model)"
    )
    ap.add_argument("--tokens", type=int, default=256, help="new tokens per decode run")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, help="CPU threads (default: 1 for the tiny model)")
    args = ap.parse_args()
    if args.threads is None and not args.model:
        args.threads = 1  # too small to gain from more; 1 keeps figures steady on busy machines
    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            from assistant.models.builtin import BUILTINS, ensure

            path = ensure(args.model) if args.model in BUILTINS else Path(args.model)
        else:
            from assistant.models.tiny_gguf import write_tiny_gguf

            path = write_tiny_gguf(Path(tmp) / "tiny.gguf")
        model = LlamaModel(path, n_ctx=2048, n_threads=args.threads)
        info = model.describe()
        print(
            f"model {info['name']} ({path.stat().st_size / 1e6:.1f} MB), {info['device']}, ", end=""
        )
        print(f"{info['threads']} threads, llama-cpp-python {info['llama_cpp_version']}\n")
        decode_speed(model, args.tokens, args.runs)
        model.close()
        processors = []
        if not args.model:
            from assistant.models.tiny_gguf import ban_tokens, byte_token_ids

            # a real model writes valid UTF-8; random weights emit stray bytes that no text
            # prompt can reproduce, which would understate reuse
            processors = [ban_tokens(byte_token_ids())]
        model = LlamaModel(path, n_ctx=2048, n_threads=args.threads, logits_processor=processors)
        prefix_reuse(model, 128)
        model.close()


if __name__ == "__main__":
    main()
