"""Generation against a server that batches requests: throughput at concurrency 1, 4, 16.

    .venv/bin/python bench/bench_concurrency.py [--latency 0.5] [--requests 32] [--eval]

Starts ``bench/fake_openai_server.py`` on loopback (each request takes ``--latency`` seconds
however many are in flight, like vLLM or llama-server with parallel slots) and measures:

* raw: ``--requests`` generations through the openai backend from N threads;
* with ``--eval``: ``assistant eval --model openai:... --concurrency N`` on MTPB problems
  1-4 (20 programs, one request per turn), the whole command timed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.models.base import Request
from assistant.models.openai_compat import OpenAIModel

ROOT = Path(__file__).resolve().parents[1]


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "fake_openai_server.py"), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if not line or line[0] != "ready":
        proc.kill()
        raise SystemExit("the fake server did not start")
    return proc, f"http://127.0.0.1:{line[1]}/v1"


def raw(url: str, n: int, requests: int) -> float:
    model = OpenAIModel(url)
    try:
        req = Request(prompt="def f():", max_tokens=32)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(lambda _: model.generate(req), range(requests)))
        return time.perf_counter() - t0
    finally:
        model.close()


def eval_wall(url: str, n: int, mtpb: str | None) -> float:
    argv = [sys.executable, "-m", "assistant.cli", "eval", "--model", f"openai:{url}"]
    argv += ["--problems", "1-4", "--jobs", "2", "--concurrency", str(n)]
    if mtpb:
        argv += ["--mtpb", mtpb]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"eval failed: {proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--eval", action="store_true", help="also time eval end to end")
    ap.add_argument("--mtpb")
    args = ap.parse_args()
    proc, url = start_server(args.latency)
    try:
        print(f"fake server: {args.latency:g} s per request, any number in flight ({url})")
        base = None
        for n in args.levels:
            wall = raw(url, n, args.requests)
            base = base or wall
            print(
                f"raw, concurrency {n:>2}: {args.requests} requests in {wall:6.2f} s = "
                f"{args.requests / wall:6.1f} req/s ({base / wall:4.1f}x)"
            )
        if args.eval:
            base = None
            for n in args.levels:
                wall = eval_wall(url, n, args.mtpb)
                base = base or wall
                print(
                    f"eval problems 1-4, --concurrency {n:>2}: {wall:6.2f} s ({base / wall:4.1f}x)"
                )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
