"""Execution-layer benchmark: kernel start, trivial-cell round trip, pool throughput.

Each figure is printed next to the same work done with plain ``exec`` in this process, as a
ratio: the price of running code in an isolated, interruptible, limited Jupyter kernel.

    .venv/bin/python bench/bench_kernel.py [--starts 5] [--cells 200] [--programs 500] [--jobs 2]
        [--print-lines 3000000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.execution import Kernel, KernelConfig
from assistant.execution.pool import Cell, KernelPool

LIMITS = {"memory_mb": 4096, "max_procs": 256}


def program(i: int) -> tuple[list[Cell], int]:
    """A small two-turn program (MTPB-sized) and the value its last print must show."""
    cells = [
        Cell(f"nums = [x * x for x in range({i % 50 + 10})]"),
        Cell("total = sum(n for n in nums if n % 2 == 0)\ntotal", print_last=True),
    ]
    n = i % 50 + 10
    return cells, sum(x * x for x in range(n) if (x * x) % 2 == 0)


def exec_program(cells: list[Cell]) -> str:
    """The in-process baseline: same code, plain exec, stdout captured."""
    ns: dict[str, object] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for cell in cells:
            code = cell.code
            if cell.print_last:  # what the kernel's final-cell transform does
                *head, last = code.splitlines()
                code = "\n".join([*head, f"print({last})"])
            exec(compile(code, "<cell>", "exec"), ns)
    return out.getvalue()


def python_start() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t0


async def bench_start(n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        k = Kernel(KernelConfig(limits=LIMITS))
        await k.start()
        times.append(k.start_time)
        await k.shutdown()
    base = statistics.median(python_start() for _ in range(n))
    return statistics.median(times), base


async def bench_round_trip(n: int) -> tuple[float, float]:
    async with Kernel(KernelConfig(limits=LIMITS)) as k:
        for _ in range(10):  # warm up
            await k.execute("1 + 1")
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            res = await k.execute("1 + 1")
            times.append(time.perf_counter() - t0)
            assert res.ok
    code = compile("1 + 1", "<cell>", "exec")
    base = []
    for _ in range(n):
        t0 = time.perf_counter()
        exec(code, {})
        base.append(time.perf_counter() - t0)
    return statistics.median(times), statistics.median(base)


async def bench_print(lines: int) -> tuple[float, float, int]:
    """One cell printing ``lines`` lines (almost all past the 1 MB output cap) against plain
    Python printing them to /dev/null."""
    async with Kernel(KernelConfig(timeout=600, limits=LIMITS)) as k:
        await k.execute("1 + 1")
        t0 = time.perf_counter()
        res = await k.execute(f"for i in range({lines}):\n    print(i)", timeout=600)
        wall = time.perf_counter() - t0
        assert res.ok, res.feedback()
    t0 = time.perf_counter()
    code = f"for i in range({lines}):\n    print(i)"
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)
    return wall, time.perf_counter() - t0, res.truncated_bytes


async def bench_pool(n: int, jobs: int) -> tuple[float, float, int]:
    progs = [program(i) for i in range(n)]
    async with KernelPool(size=jobs, config=KernelConfig(limits=LIMITS)) as pool:
        t0 = time.perf_counter()
        results = await asyncio.gather(*(pool.run_program(cells) for cells, _ in progs))
        wall = time.perf_counter() - t0
    correct = sum(
        1
        for res, (_, want) in zip(results, progs, strict=True)
        if res[-1].ok and res[-1].last_printed is not None and res[-1].last_printed.value == want
    )
    t0 = time.perf_counter()
    for cells, want in progs:
        assert exec_program(cells) == f"{want}\n"
    base = time.perf_counter() - t0
    return wall, base, correct


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--programs", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--print-lines", type=int, default=3_000_000)
    args = ap.parse_args()

    start, py = asyncio.run(bench_start(args.starts))
    print(f"kernel start (median of {args.starts}): {start * 1000:7.0f} ms")
    print(f"   vs `python -c pass` subprocess:     {py * 1000:7.0f} ms   ratio {start / py:6.1f}x")
    rt, base = asyncio.run(bench_round_trip(args.cells))
    print(f"trivial cell round trip (median of {args.cells}): {rt * 1000:6.2f} ms")
    print(f"   vs exec in-process:                {base * 1e6:7.2f} us   ratio {rt / base:6.0f}x")
    if args.print_lines:
        wall, base_wall, dropped = asyncio.run(bench_print(args.print_lines))
        print(
            f"one cell printing {args.print_lines:,} lines: {wall:6.2f} s ({dropped:,} bytes over the cap)"
        )
        print(
            f"   vs plain python to /dev/null:       {base_wall:6.2f} s   ratio {wall / base_wall:6.1f}x"
        )
    wall, base_wall, correct = asyncio.run(bench_pool(args.programs, args.jobs))
    rate = args.programs / wall
    print(
        f"pool, {args.programs} two-cell programs, jobs {args.jobs}: {wall:6.2f} s "
        f"({rate:5.0f} programs/s, {correct}/{args.programs} correct)"
    )
    print(
        f"   vs exec in-process, sequential:    {base_wall:6.3f} s "
        f"({args.programs / base_wall:5.0f} programs/s)   ratio {wall / base_wall:6.0f}x"
    )
    if correct != args.programs:
        sys.exit(f"only {correct} of {args.programs} programs graded correctly")


if __name__ == "__main__":
    main()
