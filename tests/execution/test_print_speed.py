"""Printing past the output cap costs little: a cell printing millions of lines used to take
3.5x as long as plain Python (9.2 s against 2.6 s for 3 million lines), most of it spent
checking the cap for output that was dropped anyway. bench/bench_kernel.py has the timing."""

from __future__ import annotations

from assistant.execution import Kernel, KernelConfig

# Counts the Python-level calls made by 1000 prints once the cell's output quota is spent.
COUNT_CALLS = """
import sys
print('x' * 2_000_000)
calls = 0
def count(frame, event, arg):
    global calls
    if event == 'call':
        calls += 1
sys.setprofile(count)
for i in range(1000):
    print(i)
sys.setprofile(None)
print(calls)
"""


async def test_prints_past_the_cap_take_the_fast_path() -> None:
    async with Kernel(KernelConfig(timeout=30, limits={"max_procs": 64})) as k:
        res = await k.execute(COUNT_CALLS)
    assert res.ok, res.feedback()
    assert res.truncated_bytes > 1_000_000
    assert res.last_printed is not None
    per_print = res.last_printed.value / 1000
    # the print hook, then for each of print's two writes: the descriptor and the capped write
    assert per_print <= 5.1, f"{per_print:.1f} Python calls per dropped print"


async def test_fast_path_counts_exactly_and_never_drops_redirected_prints() -> None:
    code = (
        "import contextlib, io\n"
        "print('x' * 2_000)\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    print('kept', 1)\n"
        "print('dropped')\n"
        "print(buf.getvalue())"
    )
    async with Kernel(KernelConfig(timeout=30, output_limit=1000, limits={"max_procs": 64})) as k:
        res = await k.execute(code)
    assert res.ok
    assert res.last_printed is not None and res.last_printed.value == "kept 1\n"
    # 1001 of the first line, then 'dropped\n' and 'kept 1\n\n': every char is counted
    assert res.truncated_bytes == 1001 + 8 + 8
