"""What a failed attempt costs before the next try, on a session of 10 committed turns.

    .venv/bin/python bench/bench_restore.py [--turns 10] [--repeat 5]

* today's interactive path: the Jupyter kernel is restarted and every committed turn replayed
  (``Engine._restore``: ``kernel.restart()`` + one ``execute`` per turn);
* a fork snapshot (fork runtime, ``ForkProgram.checkpoint``): before the attempt the program
  forks a frozen copy of itself; after the failure the copy takes over.

Both are checked for the guarantee: the failed attempt's variable, module change and thread
are gone, the committed state is there.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.execution import Kernel, KernelConfig
from assistant.execution.forkserver import ForkServer

LIMITS = {"memory_mb": 4096, "max_procs": 64}
ATTEMPT = (
    "import math, threading, time\nmath.pi = 3\nbad = 1\n"
    "threading.Thread(target=time.sleep, args=(100,), daemon=True).start()\n"
    "raise ValueError('the attempt fails')"
)
CHECK = (
    "import math, threading\n(math.pi > 3.14, 'bad' not in dir(), threading.active_count(), total)"
)


def turns(n: int) -> list[str]:
    """An import turn, n - 2 turns building arrays and DataFrames, a last one summing up."""
    cells = ["import numpy as np\nimport pandas as pd\ndata = list(range(1000))"]
    for i in range(1, n - 1):
        cells.append(f"x{i} = np.array(data) * {i}\ndf{i} = pd.DataFrame({{'a': x{i}}})")
    cells.append(f"total = int(df{n - 2}['a'].sum())")
    return cells


async def jupyter(cells: list[str], repeat: int) -> list[float]:
    times = []
    async with Kernel(KernelConfig(limits=LIMITS)) as k:
        for c in cells:
            assert (await k.execute(c)).ok
        for _ in range(repeat):
            await k.execute(ATTEMPT)
            t0 = time.perf_counter()
            await k.restart()
            for c in cells:
                assert (await k.execute(c)).ok
            times.append(time.perf_counter() - t0)
        res = await k.execute(CHECK, print_last=True)
        print(f"  after restore (pi ok, no 'bad', threads, total): {res.stdout.strip()}")
    return times


async def fork(cells: list[str], repeat: int) -> list[float]:
    times = []
    async with ForkServer(KernelConfig(limits=LIMITS)) as server:
        prog = await server.open()
        for c in cells:
            assert (await prog.execute(c)).ok
        for _ in range(repeat):
            t0 = time.perf_counter()
            assert await prog.checkpoint("snapshot")
            snap = time.perf_counter() - t0
            await prog.execute(ATTEMPT)
            t1 = time.perf_counter()
            assert await prog.checkpoint("rollback")
            times.append(snap + time.perf_counter() - t1)
        res = await prog.execute(CHECK, print_last=True)
        print(f"  after rollback (pi ok, no 'bad', threads, total): {res.stdout.strip()}")
        await prog.shutdown()
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    cells = turns(args.turns)
    print(f"session: {len(cells)} committed turns (numpy, pandas, {len(cells) - 2} DataFrames)")
    j = asyncio.run(jupyter(cells, args.repeat))
    print(
        f"jupyter restart + replay: median {1000 * statistics.median(j):7.1f} ms per failed attempt"
    )
    f = asyncio.run(fork(cells, args.repeat))
    print(
        f"fork snapshot + rollback: median {1000 * statistics.median(f):7.1f} ms per failed attempt"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
