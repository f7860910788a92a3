"""Hostile cells that end in a restart (or leave processes behind): verdicts and cleanup.

One kernel is shared and restarted by the cases; each checks ``restarted`` and that nothing
the cell started outlives the restart or the shutdown.
"""

from __future__ import annotations

import asyncio
import os

import pytest
import pytest_asyncio

from assistant.execution import Kernel

from .conftest import LIMITS, config, tree

# These cases check what restart and shutdown clean up, so the kernels keep the processes a
# cell leaves running (``background``) instead of killing them when the cell ends.
BACKGROUND = dict(LIMITS, background=True)

pytestmark = pytest.mark.asyncio(loop_scope="package")


@pytest_asyncio.fixture(loop_scope="package", scope="module")
async def victim():
    k = await Kernel(config(limits=BACKGROUND)).start()
    yield k
    await k.shutdown()


async def _fresh_after_restart(k: Kernel) -> None:
    res = await k.execute("'marker' in dir()", print_last=True)
    assert res.ok and res.last_printed is not None and res.last_printed.value is False
    assert tree(k) == [k.pid]  # only the new kernel itself


SWALLOW = (
    "while True:\n    try:\n        sum(range(10**6))\n    except KeyboardInterrupt:\n        pass"
)


async def test_loop_that_swallows_interrupts_is_restarted(victim: Kernel) -> None:
    await victim.execute("marker = 1")
    res = await victim.execute(SWALLOW, timeout=1)
    assert res.status == "timeout" and res.restarted
    assert "interrupt was ignored" in res.message and "restarted" in res.message
    assert res.duration < 4
    await _fresh_after_restart(victim)


async def test_os_exit_is_a_death_and_a_restart(victim: Kernel) -> None:
    await victim.execute("marker = 1")
    res = await victim.execute("import os\nos._exit(1)")
    assert res.status == "died" and res.restarted
    assert "exited with code 1" in res.message and "restarted" in res.message
    await _fresh_after_restart(victim)


async def test_segfault_is_a_death_and_a_restart(victim: Kernel) -> None:
    await victim.execute("marker = 1")
    res = await victim.execute("import ctypes\nctypes.string_at(0)")
    assert res.status == "died" and res.restarted
    assert "SIGSEGV" in res.message
    await _fresh_after_restart(victim)


async def test_fork_bomb_hits_the_process_limit_and_nothing_is_left(victim: Kernel) -> None:
    await victim.execute("marker = 1")
    bomb = (
        "import os, time\n"
        "for i in range(64):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(1000)\n"
        "        os._exit(0)\n"
    )
    res = await victim.execute(bomb)
    assert res.status == "error" and res.error is not None
    assert res.error.ename == "BlockingIOError" and "process limit" in res.error.evalue
    assert not res.restarted
    assert 1 < len(tree(victim)) <= 24  # the children sleep, within the limit
    await victim.restart()
    await _fresh_after_restart(victim)


async def test_child_holding_the_pipe_ends_by_timeout_and_dies_at_restart(victim: Kernel) -> None:
    # The shell exits at once but its background sleep keeps stdout open: check_output waits
    # for EOF forever.
    code = "import subprocess\nsubprocess.check_output('sleep 1000 &', shell=True)"
    res = await victim.execute(code, timeout=1)
    assert res.status == "timeout"
    assert "timed out after 1 s" in res.message
    assert len(tree(victim)) >= 2, "the sleep should still be running until the restart"
    await victim.restart()
    await _fresh_after_restart(victim)


async def test_daemonized_children_are_killed_at_restart_and_shutdown() -> None:
    k = await Kernel(config(limits=BACKGROUND)).start()
    daemons = (
        "import os, subprocess, time\n"
        "subprocess.Popen(['setsid', 'sleep', '1000'])\n"  # a new session: outside our group
        "if os.fork() == 0:\n"  # a classic double-fork daemon
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(1000)\n"
        "    os._exit(0)\n"
        "time.sleep(0.3)"
    )
    try:
        res = await k.execute(daemons)
        assert res.ok, res.feedback()
        assert len(tree(k)) >= 3
        await k.restart()
        assert tree(k) == [k.pid]
        await k.execute(daemons)
        assert len(tree(k)) >= 3
    finally:
        await k.shutdown()
    for _ in range(20):
        if not tree(k):
            break
        await asyncio.sleep(0.05)
    assert tree(k) == []


async def test_kernel_death_during_idle_is_reported_on_next_cell(victim: Kernel) -> None:
    await victim.execute("marker = 1")
    pid = victim.pid
    assert pid is not None
    os.kill(pid, 9)  # e.g. the OOM killer between two cells
    res = await victim.execute("1 + 1", print_last=True)
    assert res.restarted
    assert res.status == "died"
    await _fresh_after_restart(victim)


async def test_lazy_restart_kills_now_and_starts_on_next_cell() -> None:
    k = await Kernel(config(lazy_restart=True, limits=BACKGROUND)).start()
    try:
        await k.execute("import subprocess\nsubprocess.Popen(['sleep', '1000'])")
        res = await k.execute(SWALLOW, timeout=0.5)
        assert res.status == "timeout" and res.restarted
        assert tree(k) == []  # everything is gone already, nothing new started yet
        res = await k.execute("'subprocess' in dir()", print_last=True)
        assert res.ok and res.stdout == "False\n"
        assert tree(k) == [k.pid] and k.restarts == 1
    finally:
        await k.shutdown()


async def test_child_with_cleared_environment_is_killed_through_the_tree() -> None:
    k = await Kernel(config(limits=BACKGROUND)).start()
    try:
        code = "import subprocess\np = subprocess.Popen(['setsid', 'sleep', '1000'], env={})\np.pid"
        res = await k.execute(code, print_last=True)
        assert res.last_printed is not None
        child = int(res.last_printed.value)
        assert child not in tree(k)  # no tag, not in the kernel's group
    finally:
        await k.shutdown()
    await asyncio.sleep(0.1)
    with open(f"/proc/{child}/stat", "rb") as f:
        state = f.read().split(b") ")[1][:1]
    assert state in (b"Z", b"X")  # killed (a zombie until its parent reaps it)
