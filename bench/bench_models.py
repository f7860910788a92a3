"""Benchmark of the llama backend: decode speed against raw llama-cpp-python, and KV reuse.

    python bench/bench_models.py [--model PATH.gguf] [--tokens 256] [--runs 5]

1. Decode tokens/s of ``LlamaModel.generate`` against ``Llama.__call__`` on the same prompt,
   seed and sampling settings (prompt already cached for both, so the time is decoding).
   Target: ratio >= 0.97.
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


def decode_speed(model: LlamaModel, tokens: int, runs: int) -> None:
    llm = model.llama
    prompt = PREFIX + "".join(f"# {t}\n" for t in TURNS)
    raw_rates, ours_rates, ours_lp_rates = [], [], []
    same = 0
    for seed in range(runs):
        # warm: the prompt is in the KV cache for every timed call below
        llm(prompt, max_tokens=1, seed=seed, **SAMPLING)
        t0 = time.perf_counter()
        raw = llm(prompt, max_tokens=tokens, seed=seed, top_k=40, min_p=0.05, **SAMPLING)
        raw_t = time.perf_counter() - t0
        # raw's count can pass max_tokens by a few when it waits for a UTF-8 character to end
        n_raw = min(raw["usage"]["completion_tokens"], tokens)
        raw_rates.append(n_raw / raw_t)
        for logprobs, rates in ((False, ours_rates), (True, ours_lp_rates)):
            req = Request(
                prompt=prompt, max_tokens=tokens, seed=seed, logprobs=logprobs, **SAMPLING
            )
            t0 = time.perf_counter()
            c = model.generate(req, on_text=lambda _t: None)
            rates.append(c.stats.completion_tokens / (time.perf_counter() - t0))
            if not logprobs:  # raw drops invalid UTF-8 where generate shows U+FFFD
                same += raw["choices"][0]["text"].startswith(c.text.replace("\ufffd", ""))
    raw_r, ours_r, lp_r = (statistics.median(r) for r in (raw_rates, ours_rates, ours_lp_rates))
    print(f"decode, {runs} runs x up to {tokens} tokens (median tokens/s, prompt cached)")
    print(f"  Llama.__call__ (raw, no streaming)     {raw_r:10.0f}")
    print(f"  LlamaModel.generate (streaming)        {ours_r:10.0f}   ratio {ours_r / raw_r:.2f}")
    print(f"  LlamaModel.generate + token log-probs  {lp_r:10.0f}   ratio {lp_r / raw_r:.2f}")
    print(f"  same text as raw in {same}/{runs} runs (same seed and sampler chain)")
    target = "met" if ours_r / raw_r >= 0.97 else "NOT met"
    print(f"  target ratio >= 0.97: {target}")


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
    ap.add_argument("--model", help="a GGUF file (default: the tiny random test model)")
    ap.add_argument("--tokens", type=int, default=256, help="new tokens per decode run")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, help="CPU threads (default: 1 for the tiny model)")
    args = ap.parse_args()
    if args.threads is None and not args.model:
        args.threads = 1  # too small to gain from more; 1 keeps figures steady on busy machines
    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            path = Path(args.model)
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
