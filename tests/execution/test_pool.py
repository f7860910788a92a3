"""The kernel pool: clean namespaces between programs, bad programs replaced, parallel runs."""

from __future__ import annotations

import asyncio

import pytest

from assistant.execution import KernelConfig
from assistant.execution.pool import Cell, KernelPool

pytestmark = pytest.mark.asyncio


async def test_programs_do_not_see_each_other() -> None:
    async with KernelPool(size=1) as pool:
        first = await pool.run_program([Cell("secret = 42"), Cell("secret", print_last=True)])
        assert first[-1].last_printed is not None and first[-1].last_printed.value == 42
        second = await pool.run_program([Cell("'secret' in dir()", print_last=True)])
        assert second[-1].last_printed is not None and second[-1].last_printed.value is False


async def test_a_dead_kernel_is_replaced_and_next_program_runs() -> None:
    async with KernelPool(size=1, config=KernelConfig(timeout=10)) as pool:
        bad = await pool.run_program([Cell("import os\nos._exit(3)"), Cell("1", print_last=True)])
        assert [r.status for r in bad] == ["died"]
        good = await pool.run_program([Cell("6 * 7", print_last=True)])
        assert good[0].ok and good[0].last_printed is not None
        assert good[0].last_printed.value == 42


async def test_parallel_programs() -> None:
    async with KernelPool(size=2) as pool:
        progs = [[Cell(f"v = {i}"), Cell("v * 10", print_last=True)] for i in range(6)]
        results = await asyncio.gather(*(pool.run_program(p) for p in progs))
        assert [r[-1].last_printed.value for r in results] == [i * 10 for i in range(6)]  # type: ignore[union-attr]
