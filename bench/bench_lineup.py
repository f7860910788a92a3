"""``eval -n N`` with the samples lined up against one after another, side by side in one run.

    python bench/bench_lineup.py [--models smollm2-135m gemma3-270m] [--problems 3,7] [-n 5]

Per model: the N samples (T = 0.2) of test case 0 of each problem, once decoded together round
by round (``mtpb/lineup.py``, the default) and once one after another (``--no-lineup``),
interleaved ``--repeat`` times; prints the medians, their ratio and pass counts (the verdicts
may differ a little: batched numerics can change a sampled token).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run(model: Any, problems: list[Any], n: int, lineup: bool, settings: Any) -> tuple[float, int]:
    from assistant.mtpb.runner import EvalOptions, Job, ResultStore, run_eval

    jobs = [Job(p, 0, s, "multi") for p in problems for s in range(n)]
    store = ResultStore.open(None)
    opts = EvalOptions(samples=n, jobs=2, progress=False, model_spec="bench", lineup=lineup)
    t0 = time.perf_counter()
    asyncio.run(run_eval(jobs, store, opts, settings, model))
    passed = sum(r["verdict"]["kind"] == "pass" for r in store.records.values())
    return time.perf_counter() - t0, passed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["smollm2-135m", "gemma3-270m"])
    ap.add_argument("--problems", default="3,7")
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from dataclasses import replace

    from assistant.config import load
    from assistant.frontends.loading import load_model_for
    from assistant.mtpb.problems import load_problems, resolve_path

    wanted = args.problems.split(",")
    problems = [p for p in load_problems(resolve_path(None)).problems if p.id in wanted]
    for name in args.models:
        base = load(overrides={"temperature": 0.2, "top_p": 0.95, "threads": args.threads})
        model = load_model_for(base, name)
        settings = replace(base, chat=bool(getattr(model, "chat", False)))
        lined: list[float] = []
        alone: list[float] = []
        passes = {True: 0, False: 0}
        try:
            for _ in range(args.repeat):
                for mode, into in ((True, lined), (False, alone)):
                    wall, ok = run(model, problems, args.n, mode, settings)
                    into.append(wall)
                    passes[mode] += ok
        finally:
            model.close()
        a, b = statistics.median(lined), statistics.median(alone)
        print(
            f"{name}: {len(problems)} problem(s) x {args.n} samples, case 0: lined up {a:.1f} s, "
            f"one after another {b:.1f} s, ratio {a / b:.2f} "
            f"(passed {passes[True]} vs {passes[False]} over {args.repeat} run(s))"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
