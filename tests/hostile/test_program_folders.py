"""Each graded program its own fresh working folder, removed after it: in both runtimes, with
programs running at once, so one program's file never changes another's verdict."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from assistant.execution.forkpool import ForkPool
from assistant.execution.pool import KernelPool
from assistant.mtpb.grading import grade_program

from .conftest import config

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Each passes alone (expected 1 / True) and fails if it meets another program's file.
PROGRAMS = {
    "append a line, count the lines": (
        "with open('log.txt', 'a') as f:\n    f.write('line\\n')",
        "print(len(open('log.txt').read().splitlines()))",
        1,
    ),
    "make a folder": ("import os\nos.mkdir('out')", "print(os.path.isdir('out'))", True),
    "read-only leftovers": (
        "import os\nos.mkdir('ro')\nopen('ro/f', 'w').write('x')\nos.chmod('ro', 0)",
        "import os\nprint(sorted(os.listdir('.')) == ['ro'])",
        True,
    ),
}


def _pool(runtime: str, workdir: Path | None = None) -> Any:
    cfg = config(timeout=10, workdir=workdir)
    if runtime == "fork":
        return ForkPool(size=2, config=cfg, preload=[])
    return KernelPool(size=2, config=cfg)


async def _one(pool: Any, cells: list[str], whole: bool) -> tuple[list[Any], str]:
    if whole and hasattr(pool, "run_cells"):
        code = "import os\nprint(os.getcwd())"
        res = await pool.run_cells([*cells, code])
        return res[:-1], res[-1].stdout.strip()
    async with pool.kernel() as k:
        results = [await k.execute(c, print_last=i == len(cells) - 1) for i, c in enumerate(cells)]
        where = await k.execute("import os\nprint(os.getcwd())")
    return results, where.stdout.strip()


@pytest.mark.parametrize("runtime", ["fork", "jupyter"])
async def test_one_programs_files_never_change_anothers_verdict(runtime: str) -> None:
    async with _pool(runtime) as pool:
        runs = [
            _one(pool, [setup, check], whole=i % 2 == 0)
            for i, (setup, check, _) in enumerate(list(PROGRAMS.values()) * 3)
        ]
        done = await asyncio.gather(*runs)  # two at a time, and more waiting
        folders = set()
        for (results, cwd), (name, (_, _, expected)) in zip(
            done, list(PROGRAMS.items()) * 3, strict=True
        ):
            verdict = grade_program(results, expected)
            assert verdict.passed, (runtime, name, verdict.describe())
            folders.add(cwd)
        assert len(folders) == len(done)  # a folder of its own each
        await asyncio.sleep(0)  # the pool's resets run in the background: let them start
    for cwd in folders:  # removed after each program, read-only leftovers included
        assert not Path(cwd).exists(), cwd


@pytest.mark.parametrize("runtime", ["fork", "jupyter"])
async def test_a_chosen_workdir_is_copied_for_each_program(runtime: str, tmp_path: Path) -> None:
    data = tmp_path / "datasets"
    data.mkdir()
    (data / "x.csv").write_text("a\n1\n")
    change = "import os\nopen('datasets/x.csv', 'a').write('2\\n')\nos.remove('datasets/x.csv')"
    read = "print(open('datasets/x.csv').read())"
    async with _pool(runtime, workdir=tmp_path) as pool:
        first = await _one(pool, [change], whole=True)
        second = await _one(pool, [read], whole=False)
    assert first[0][0].ok, first[0][0].feedback()
    assert second[0][0].stdout == "a\n1\n\n"
    assert (data / "x.csv").read_text() == "a\n1\n"  # the user's folder is never written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["datasets"]
