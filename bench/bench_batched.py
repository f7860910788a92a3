"""Candidates decoded together: the product against the raw batched-decode floor, one run.

    python bench/bench_batched.py [--models smollm2-135m gemma3-270m] [--n 5] [--tokens 128]

For each model, with the same prompt, 2 threads, runs interleaved, medians of ``--repeat``:

1. The floor (raw llama.cpp, no sampling chain, no Python per token beyond one argmax): the
   prompt evaluated once into sequence 0, its cells copied to n-1 more sequences, then
   ``--tokens`` greedy steps of all n in one ``llama_decode`` each, against the same steps of
   one sequence. ``floor = t(n) / t(1)``.
2. The product: ``LlamaModel.sample(request, n)`` (batched: one sequence per candidate, each with
   its own sampler, stop filter, streaming and log-probs) against ``LlamaModel.generate`` (one
   candidate), normalised per step (tokens of the longest candidate). Goal: within 10% of 1.
3. The old way, for reference: the n candidates one after another (``parallel=1``).
4. n = 1 decode tokens/s with the widened context (``parallel=8``) against ``parallel=1`` and
   raw ``create_completion(stream=True)``. Goal: within 2%.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.models import builtin
from assistant.models.base import Request, SamplingMixin
from assistant.models.llama import LlamaModel

PROMPT = (
    "# Import libraries.\n\nimport numpy as np\n\n"
    "# Define a list called nums with the values 5, 3, 8 and 1.\n"
    "nums = [5, 3, 8, 1]\n\n"
    "# Write a function that returns the second largest value of a list.\n"
)


def floor_probe(m: LlamaModel, n: int, steps: int) -> float:
    """Seconds for ``steps`` greedy steps of ``n`` sequences sharing the prompt (raw calls)."""
    import numpy as np

    llm, lc = m.llama, m._lc
    ctx, mem = llm._ctx.ctx, llm._ctx.memory
    tokens = llm.tokenize(PROMPT.encode(), add_bos=True)
    llm.reset()
    lc.llama_memory_clear(mem, True)
    llm.eval(tokens[:-1])
    n_vocab = int(llm.n_vocab())
    batch = lc.llama_batch_init(n, 0, n)
    t0 = time.perf_counter()
    for j in range(1, n):
        lc.llama_memory_seq_cp(mem, 0, j, -1, -1)

    def decode(entries: list[tuple[int, int, list[int]]]) -> None:
        for j, (tok, pos, seqs) in enumerate(entries):
            batch.token[j], batch.pos[j], batch.n_seq_id[j], batch.logits[j] = (
                tok,
                pos,
                len(seqs),
                1,
            )
            for q, s in enumerate(seqs):
                batch.seq_id[j][q] = s
        batch.n_tokens = len(entries)
        assert lc.llama_decode(ctx, batch) == 0

    p = len(tokens)
    decode([(tokens[-1], p - 1, list(range(n)))])
    rows = [0] * n
    for step in range(steps):
        entries = []
        for j in range(n):
            logits = np.ctypeslib.as_array(lc.llama_get_logits_ith(ctx, rows[j]), shape=(n_vocab,))
            entries.append((int(logits.argmax()), p + step, [j]))
            rows[j] = j
        decode(entries)
    elapsed = time.perf_counter() - t0
    lc.llama_batch_free(batch)
    llm.reset()
    lc.llama_memory_clear(mem, True)
    m.prompt.history.clear()
    return elapsed


def per_step(comps: list[Any], seconds: float) -> float:
    steps = max(c.stats.completion_tokens for c in comps)
    return seconds / max(steps, 1)


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def raw_tps(llm: Any, tokens: int) -> float:
    t_first, count = 0.0, 0
    for _ in llm.create_completion(
        PROMPT, max_tokens=tokens, temperature=0.2, top_p=0.95, top_k=40, min_p=0.05, seed=1,
        stream=True,
    ):  # fmt: skip
        t_first = t_first or time.perf_counter()
        count += 1
    return (count - 1) / (time.perf_counter() - t_first) if count > 1 else 0.0


def bench(name: str, n: int, tokens: int, repeat: int, threads: int) -> dict[str, float]:
    path = builtin.ensure(name, progress=False)
    wide = LlamaModel(path, name=name, n_ctx=2048, n_threads=threads, chat=False, parallel=8)
    narrow = LlamaModel(path, name=name, n_ctx=2048, n_threads=threads, chat=False, parallel=1)
    wide._widen()  # as after a session's first batched request (the floor probe needs it)
    req = Request(prompt=PROMPT, max_tokens=tokens, temperature=0.2, top_p=0.95, seed=3)
    fl1, fln, one, many, seq, tps_w, tps_n, tps_raw = ([] for _ in range(8))
    for _ in range(repeat):
        fl1.append(floor_probe(wide, 1, tokens))
        fln.append(floor_probe(wide, n, tokens))
        wide.generate(Request(prompt=PROMPT, max_tokens=1))  # prompt cached for both paths
        s1, c1 = timed(lambda: [wide.generate(req)])
        sn, cn = timed(lambda: wide.sample(req, n))
        ss, cs = timed(lambda: SamplingMixin.sample(narrow, req, n))
        one.append(per_step(c1, s1))
        many.append(per_step(cn, sn))
        seq.append(ss / max(sum(c.stats.completion_tokens for c in cs) / n, 1))
        tps_w.append(c1[0].stats.tokens_per_second)
        tps_n.append(narrow.generate(req).stats.tokens_per_second)
        tps_raw.append(raw_tps(narrow.llama, tokens))
    med = statistics.median
    out = {
        "floor": med(fln) / med(fl1),
        "product": med(many) / med(one),
        "sequential": med(seq) / med(one),
        "tps_parallel8": med(tps_w),
        "tps_parallel1": med(tps_n),
        "tps_raw": med(tps_raw),
    }
    wide.close()
    narrow.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["smollm2-135m", "gemma3-270m"])
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    print(
        f"{args.n} candidates x {args.tokens} tokens, {args.threads} threads, medians of {args.repeat}"
    )
    print(
        "| model | floor t(n)/t(1) | batched candidates | one after another | vs floor "
        "| n=1 tok/s parallel=8 | parallel=1 | raw |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in args.models:
        r = bench(name, args.n, args.tokens, args.repeat, args.threads)
        print(
            f"| {name} | {r['floor']:.2f}x | {r['product']:.2f}x | {r['sequential']:.2f}x "
            f"| {r['product'] / r['floor']:.2f} | {r['tps_parallel8']:.1f} "
            f"| {r['tps_parallel1']:.1f} | {r['tps_raw']:.1f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
