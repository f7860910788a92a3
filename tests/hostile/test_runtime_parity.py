"""The same hostile cells get the same verdicts in both runtimes (a Jupyter kernel and a fork
server's child): a bare ``os.fork()`` whose copy must never answer for the program, a bounded
fork bomb, lone surrogates printed or raised."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from assistant.execution import Kernel
from assistant.execution.forkpool import ForkPool

from .conftest import config

pytestmark = pytest.mark.asyncio(loop_scope="module")

# (cells, what to compare): each cell's status, error name, and stdout where deterministic.
CASES: dict[str, list[str]] = {
    # The copy sleeps past the end of the cell, then would finish it and answer for the
    # program (it shares the program's pipes): a later cell got its late reply.
    "bare fork": [
        "import os, time\nif os.fork() == 0:\n    time.sleep(0.5)\nprint('parent done')",
        "import time\ntime.sleep(0.8)\nprint('next')",
        "print('last')",
    ],
    "fork bomb (bounded)": [
        "import os\nfor i in range(7):\n    os.fork()\nimport time\ntime.sleep(0.2)",
        "print('after')",
    ],
    # The copy's own copy is orphaned when its parent exits: re-parented to the fork server,
    # out of the program's tree. It escaped the end-of-cell sweep, then filled the limit
    # during the next cell, which failed for forks it never made.
    "orphaned copy": [
        "import os, time\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(0.3)\n"
        "        for _ in range(30):\n"
        "            try:\n"
        "                if os.fork() == 0:\n"
        "                    time.sleep(5)\n"
        "                    os._exit(0)\n"
        "            except OSError:\n"
        "                pass\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "print('parent done')",
        "import time\ntime.sleep(0.8)\nprint('next')",
    ],
    # The copies never stop forking (the program's own process stops after 0.3 s): the
    # sweep when the cell ends must stop copies forked while it runs.
    "fork bomb (endless copies)": [
        "import os, time\n"
        "main, end = os.getpid(), time.time() + 0.3\n"
        "while os.getpid() != main or time.time() < end:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        pass",
        "print('after')",
    ],
    "bare fork, copy exits": [
        "import os\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)\nprint('ok')",
    ],
    "print a lone surrogate": ["print('\\ud800')", "x = 'a\\udcff'\nx"],
    "raise with a lone surrogate": ["raise ValueError('\\ud800')"],
}
STDOUT_STABLE = {
    "bare fork",
    "orphaned copy",
    "fork bomb (endless copies)",
    "bare fork, copy exits",
    "print a lone surrogate",
    "raise with a lone surrogate",
}


def verdict(res: Any) -> tuple[Any, ...]:
    """Status and error; which process of a fork bomb meets the limit first (the program's own,
    raising BlockingIOError, or a copy, reported as ProcessLimitError) is chance in both."""
    err = res.error
    if err is None:
        return (res.status, None, None)
    if err.ename == "ProcessLimitError" or "process limit reached" in err.evalue:
        return (res.status, "process limit", None)
    return (res.status, err.ename, err.evalue)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool() -> AsyncIterator[ForkPool]:
    async with ForkPool(size=1, config=config(timeout=10), preload=[]) as p:
        yield p


async def _jupyter(cells: list[str]) -> list[Any]:
    async with Kernel(config(timeout=10)) as k:
        return [await k.execute(c, print_last=i == len(cells) - 1) for i, c in enumerate(cells)]


async def _fork(pool: ForkPool, cells: list[str]) -> list[Any]:
    async with pool.kernel() as k:
        return [await k.execute(c, print_last=i == len(cells) - 1) for i, c in enumerate(cells)]


@pytest.mark.parametrize("case", list(CASES))
async def test_same_verdicts_in_both_runtimes(pool: ForkPool, case: str) -> None:
    cells = CASES[case]
    jupyter = await _jupyter(cells)
    fork = await _fork(pool, cells)
    assert [verdict(r) for r in fork] == [verdict(r) for r in jupyter], (
        [r.feedback() for r in fork],
        [r.feedback() for r in jupyter],
    )
    if case in STDOUT_STABLE:
        assert [r.stdout for r in fork] == [r.stdout for r in jupyter]


async def test_a_forked_copy_never_answers_for_the_program(pool: ForkPool) -> None:
    res = await _fork(pool, CASES["bare fork"])
    assert [r.stdout for r in res] == ["parent done\n", "next\n", "last\n"]
    assert all(r.ok for r in res)
    assert "stopped 1 process" in res[0].stderr  # as the Jupyter kernel reports it


async def test_a_bounded_fork_bomb_fails_in_both_runtimes(pool: ForkPool) -> None:
    fork = await _fork(pool, CASES["fork bomb (bounded)"])
    assert verdict(fork[0]) == ("error", "process limit", None)
    assert "over the process limit" in fork[0].message
    assert fork[1].ok and fork[1].stdout == "after\n"
    whole = await pool.run_cells(CASES["fork bomb (bounded)"])
    assert verdict(whole[0]) == ("error", "process limit", None)


async def test_nothing_a_cell_left_is_charged_to_the_next(pool: ForkPool) -> None:
    orphan = await _fork(pool, CASES["orphaned copy"])
    assert [r.stdout for r in orphan] == ["parent done\n", "next\n"]
    assert all(r.ok for r in orphan), [r.feedback() for r in orphan]
    assert "stopped 1 process" in orphan[0].stderr
    endless = await _fork(pool, CASES["fork bomb (endless copies)"])
    assert verdict(endless[0]) == ("error", "process limit", None)
    assert endless[1].ok and endless[1].stdout == "after\n", endless[1].feedback()


async def test_surrogates_are_escaped_not_errors(pool: ForkPool) -> None:
    fork = await _fork(pool, CASES["raise with a lone surrogate"])
    assert fork[0].error is not None and fork[0].error.ename == "ValueError"
    assert fork[0].error.evalue == "\\ud800"
    printed = await _fork(pool, CASES["print a lone surrogate"])
    assert [r.stdout for r in printed] == ["\\ud800\n", "a\\udcff\n"]
