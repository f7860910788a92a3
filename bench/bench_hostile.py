"""Stress and containment: hostile programs mixed into good ones, in both runtimes and both
sandbox settings.

Per runtime (Jupyter kernels, fork server) and sandbox (none, bwrap):

* cases contained: every good program still graded correctly (its last printed value),
  whatever ran before it in the same pool; each hostile one ends with a verdict; nothing left
  running at the end; the bench's own cwd untouched;
* the checks of bench/contain_checks.py: secrets visible, limits lifted, forks around the
  Python guard, folders left after kill -9 and restart.

    .venv/bin/python bench/bench_hostile.py [--good 500] [--hostile 100] [--jobs 2]
        [--runtime jupyter|fork|both] [--sandbox none|bwrap|both]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.execution import KernelConfig
from assistant.execution.pool import Cell, KernelPool
from assistant.execution.reaper import TAG_VAR

HOSTILE: dict[str, str] = {
    "busy loop": "while True: pass",
    "swallows interrupts": (
        "while True:\n    try:\n        sum(range(10**6))\n    except KeyboardInterrupt:\n"
        "        pass"
    ),
    "50 GB allocation": "x = bytearray(50 * 2**30)",
    "fork bomb (64)": (
        "import os, time\nfor i in range(64):\n    if os.fork() == 0:\n"
        "        time.sleep(1000)\n        os._exit(0)"
    ),
    "os._exit": "import os\nos._exit(1)",
    "segfault": "import ctypes\nctypes.string_at(0)",
    "print 200 MB": "print('x' * 200_000_000)",
    "input()": "input('name? ')",
    "sys.exit": "import sys\nsys.exit(1)",
    "exit()": "exit()",
    "delete cwd files": (
        "import os, shutil\nfor n in os.listdir('.'):\n"
        "    shutil.rmtree(n) if os.path.isdir(n) else os.remove(n)\nos.chdir('/')"
    ),
    "chatty thread": (
        "import threading, time\ndef talk():\n    while True:\n        print('noise')\n"
        "        time.sleep(0.001)\nthreading.Thread(target=talk, daemon=True).start()"
    ),
    "recursion": "def f(n):\n    return f(n + 1)\nf(0)",
    "child holds pipe": "import subprocess\nsubprocess.check_output('sleep 1000 &', shell=True)",
    "daemon child": "import subprocess\nsubprocess.Popen(['setsid', 'sleep', '1000'])",
    "namespace poison": "import builtins\nsum = lambda *a: -1\nlen = None",
}


def good(i: int) -> tuple[list[Cell], int]:
    n = i % 97 + 3
    cells = [
        Cell(f"values = list(range({n}))"),
        Cell("sum(v * 3 for v in values)", print_last=True),
    ]
    return cells, 3 * n * (n - 1) // 2


def left_behind() -> list[int]:
    """Processes still carrying a kernel tag of this bench (tags start with our pid)."""
    needle = f"{TAG_VAR}={os.getpid()}-".encode()
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{name}/stat", "rb") as f:
                state = f.read().split(b") ")[1][:1]
        except OSError:
            continue
        if needle in env and state not in (b"Z", b"X"):
            pids.append(int(name))
    return pids


async def run(
    n_good: int,
    n_hostile: int,
    jobs: int,
    seed: int,
    runtime: str = "jupyter",
    sandbox: str = "none",
) -> int:
    rng = random.Random(seed)
    kinds = list(HOSTILE)
    work: list[tuple[str, list[Cell], int | None]] = [("good", *good(i)) for i in range(n_good)]
    for i in range(n_hostile):
        kind = kinds[i % len(kinds)]
        work.append((kind, [Cell(HOSTILE[kind])], None))
    rng.shuffle(work)
    config = KernelConfig(
        timeout=2.0,  # generous: replacement kernels start while others run, on 2 cores
        interrupt_grace=0.5,
        limits={"memory_mb": 2048, "max_procs": 32},
        sandbox=sandbox,
    )
    verdicts: collections.Counter[tuple[str, str]] = collections.Counter()
    wrong: list[str] = []
    t0 = time.perf_counter()
    if runtime == "fork":
        from assistant.execution.forkpool import ForkPool

        pool_cm: Any = ForkPool(size=jobs, config=config)
    else:
        pool_cm = KernelPool(size=jobs, config=config)
    async with pool_cm as pool:

        async def one(kind: str, cells: list[Cell], want: int | None) -> None:
            results = await pool.run_program(cells)
            last = results[-1]
            verdict = last.status + (" +restart" if last.restarted else "")
            verdicts[(kind, verdict)] += 1
            if want is not None:
                got = last.last_printed.value if last.last_printed else None
                if not last.ok or got != want or last.stdout != f"{want}\n":
                    wrong.append(f"want {want}, got {got!r} ({last.status}: {last.feedback()})")

        await asyncio.gather(*(one(*w) for w in work))
    wall = time.perf_counter() - t0
    await asyncio.sleep(0.2)
    leftovers = left_behind()

    print(
        f"{n_good} good + {n_hostile} hostile programs, jobs {jobs}, runtime {runtime}, "
        f"sandbox {sandbox}: {wall:.1f} s wall"
    )
    width = max(len(k) for k in [*kinds, "good"])
    for kind in ["good", *kinds]:
        counts = {v: c for (k, v), c in verdicts.items() if k == kind}
        if counts:
            desc = ", ".join(f"{v} x{c}" for v, c in sorted(counts.items()))
            print(f"  {kind:<{width}}  {desc}")
    print(f"good programs graded wrong: {len(wrong)}; processes left behind: {len(leftovers)}")
    for w in wrong[:10]:
        print("   ", w)
    return 1 if wrong or leftovers else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--good", type=int, default=500)
    ap.add_argument("--hostile", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runtime", choices=["jupyter", "fork", "both"], default="both")
    ap.add_argument("--sandbox", choices=["none", "bwrap", "both"], default="both")
    args = ap.parse_args()
    from assistant.execution import sandbox as sandbox_mod
    from bench.contain_checks import check

    runtimes = ["jupyter", "fork"] if args.runtime == "both" else [args.runtime]
    boxes = ["none", "bwrap"] if args.sandbox == "both" else [args.sandbox]
    if "bwrap" in boxes and not sandbox_mod.available():
        print("bwrap is not usable here: sandbox 'bwrap' skipped")
        boxes.remove("bwrap")
    code = 0
    rows: list[tuple[str, str, dict[str, object]]] = []
    for runtime in runtimes:
        for box in boxes:
            with tempfile.TemporaryDirectory() as cwd:
                os.chdir(cwd)  # a user folder with a file in it: must survive "delete cwd files"
                Path("precious.txt").write_text("keep")
                failed = asyncio.run(
                    run(args.good, args.hostile, args.jobs, args.seed, runtime, box)
                )
                if Path("precious.txt").read_text() != "keep":
                    print("the bench's cwd was modified")
                    failed = 1
                os.chdir("/")
                figures: dict[str, object] = {"cases contained": "yes" if not failed else "NO"}
                figures.update(check(runtime, box, cwd))
            rows.append((runtime, box, figures))
            bad = failed or any(
                v not in (0, None) and not (isinstance(v, int) and "forks" in k and v < 192)
                for k, v in figures.items()
                if k != "cases contained"
            )
            code = code or int(bool(bad))
    print("\ncontainment (forks around the guard: None = no kernel-enforced bound here)")
    keys = list(rows[0][2]) if rows else []
    print("| runtime | sandbox | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    for runtime, box, figures in rows:
        print(f"| {runtime} | {box} | " + " | ".join(str(figures[k]) for k in keys) + " |")
    sys.exit(code)


if __name__ == "__main__":
    main()
