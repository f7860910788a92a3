"""Grading isolation: after any bad program the pool hands out a fresh kernel."""

from __future__ import annotations

import pytest
import pytest_asyncio

from assistant.execution.pool import Cell, KernelPool

from .conftest import LIMITS, config
from .leaks import LEAKS

pytestmark = pytest.mark.asyncio(loop_scope="package")

BAD = {
    "interrupted timeout": "leak = 1\nimport time\nwhile True: time.sleep(0.01)",
    "died": "leak = 1\nimport os\nos._exit(1)",
    "chatty thread": (
        "leak = 1\nimport threading, time\n"
        "def talk():\n    while True:\n        print('noise'); time.sleep(0.01)\n"
        "threading.Thread(target=talk, daemon=True).start()"
    ),
    "background child": "leak = 1\nimport subprocess\nsubprocess.Popen(['sleep', '1000'])",
    "caller error": None,
}


@pytest_asyncio.fixture(loop_scope="package", scope="module")
async def pool():
    # background: a program's child outlives its cell, so the pool's own check must see it
    limits = dict(LIMITS, background=True)
    async with KernelPool(
        size=1, config=config(timeout=1, interrupt_grace=0.5, limits=limits)
    ) as p:
        yield p


@pytest.mark.parametrize("kind", list(BAD))
async def test_next_program_gets_a_fresh_kernel(pool: KernelPool, kind: str) -> None:
    async with pool.kernel() as k:
        first = k
    if BAD[kind] is None:
        with pytest.raises(RuntimeError):
            async with pool.kernel() as k:
                await k.execute("leak = 1")
                raise RuntimeError("the grader crashed")
    else:
        await pool.run_program([Cell(BAD[kind] or "")])
    async with pool.kernel() as k:
        assert k is not first
        res = await k.execute("import time\ntime.sleep(0.2)\n'leak' in dir()", print_last=True)
        assert res.ok and res.stdout == "False\n"
        assert res.last_printed is not None and res.last_printed.value is False


async def test_clean_programs_reuse_the_kernel(pool: KernelPool) -> None:
    async with pool.kernel() as k:
        first = k
        await k.execute("import os\nx = 1\nos.chdir('/')\nprint(x)")
    res = await pool.run_program([Cell("'x' in dir()", print_last=True)])
    assert res[0].last_printed is not None and res[0].last_printed.value is False
    async with pool.kernel() as k:
        assert k is first
        # cwd is a fresh folder of the kernel's scratch folder; the print capture still works
        cwd = await k.execute("import os\nos.getcwd()", print_last=True)
        assert cwd.last_printed is not None and cwd.last_printed.value != "/"
        assert str(cwd.last_printed.value).startswith(str(k.workdir.parent / "programs"))


@pytest.mark.parametrize("kind", list(LEAKS))
async def test_no_state_reaches_the_next_program(pool: KernelPool, kind: str) -> None:
    """What a namespace reset cannot undo (module state, sys.modules, open files...) either is
    put back (the environment) or gets the kernel replaced."""
    leak, check = LEAKS[kind]
    first = await pool.run_program([Cell(leak), Cell(check, print_last=True)])
    assert first[0].ok, first[0].feedback()
    res = await pool.run_program([Cell(check, print_last=True)])
    assert res[0].ok and res[0].stdout == "True\n", (res[0].feedback(), res[0].stdout)
    if kind not in ("globals", "cwd"):
        assert first[1].stdout != "True\n"  # the check can fail: the leak is real inside


async def test_imports_of_preloaded_modules_keep_the_kernel(pool: KernelPool) -> None:
    async with pool.kernel() as k:
        first = k
    await pool.run_program([Cell("import numpy as np, pandas as pd, re, collections\nnp.ones(2)")])
    async with pool.kernel() as k:
        assert k is first
