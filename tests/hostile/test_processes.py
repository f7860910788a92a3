"""The process limit holds as root, a cell over it fails, nothing a cell starts outlives it
(unless background work was asked for), and a replay does not bring a fork bomb back."""

from __future__ import annotations

import time

import pytest

from assistant.config import Settings
from assistant.engine.engine import Engine
from assistant.engine.events import Event, StateRestored
from assistant.engine.session import Attempt, Candidate, Session
from assistant.execution import Kernel
from assistant.models.scripted import ScriptedModel

from .conftest import LIMITS, config, tree

pytestmark = pytest.mark.asyncio(loop_scope="package")

# Every copy forks again (2**7 = 128 processes wanted), then writes its pid and sleeps, so all
# that ever existed are alive together and ``pids.txt`` counts them.
EXPONENTIAL = (
    "import os, time\n"
    "for _ in range(7):\n"
    "    try:\n"
    "        os.fork()\n"
    "    except OSError:\n"
    "        pass\n"
    "with open('pids.txt', 'a') as f:\n"
    "    f.write(f'{os.getpid()}\\n')\n"
    "time.sleep(1.5)"
)


async def test_an_exponential_fork_bomb_stays_within_the_limit_and_fails() -> None:
    k = await Kernel(config(timeout=20)).start()
    try:
        await k.execute("kept = 'yes'")
        res = await k.execute(EXPONENTIAL)
        assert k.workdir is not None
        alive_together = len((k.workdir / "pids.txt").read_text().split())
        assert alive_together <= LIMITS["max_procs"]
        assert res.status == "error" and res.error is not None
        assert res.error.ename == "ProcessLimitError" and "fork(s) refused" in res.error.evalue
        assert not res.restarted
        assert tree(k) == [k.pid]  # the copies are gone
        t0 = time.perf_counter()
        res = await k.execute("kept", print_last=True)
        assert res.ok and res.stdout == "yes\n" and time.perf_counter() - t0 < 2
    finally:
        await k.shutdown()


async def test_children_left_running_are_killed_unless_background_is_set() -> None:
    start = "import subprocess\np = subprocess.Popen(['sleep', '1000'])"
    k = await Kernel(config()).start()
    try:
        res = await k.execute(start)
        assert res.ok and "stopped 1 process(es) the cell left running" in res.stderr
        assert tree(k) == [k.pid]
        res = await k.execute("p.wait(timeout=2) is not None", print_last=True)
        assert res.ok and res.stdout == "True\n"
    finally:
        await k.shutdown()
    limits = dict(LIMITS, background=True)
    assert Settings(background=True).kernel_config().limits["background"] is True
    k = await Kernel(config(limits=limits)).start()
    try:
        res = await k.execute(start)
        assert res.ok and "stopped" not in res.stderr
        assert len(tree(k)) == 2  # the sleep keeps running: background work was asked for
    finally:
        await k.shutdown()


async def test_a_committed_fork_bomb_is_not_brought_back_by_a_replay() -> None:
    """A session saved before the limit held has the bomb as a committed turn: restoring it
    (resume, undo, retry, after a death) used to repeat the bomb every time."""
    session = Session()
    for i, code in enumerate(["base = 41", EXPONENTIAL, "base + 1"]):
        turn = session.new_turn(f"turn {i}")
        attempt = Attempt(index=0, candidates=[Candidate(index=0, code=code)], chosen=0)
        turn.attempts.append(attempt)
        turn.code, turn.status = code, "passed"
    seen: list[Event] = []
    k = await Kernel(config(timeout=20)).start()
    try:
        engine = Engine(
            ScriptedModel({"turns": ["print(base * 2)"]}),
            k,
            settings=Settings(timeout=20),
            session=session,
            on_event=seen.append,
        )
        failed = await engine.restore("resume")
        assert failed == [1]
        assert next(e for e in seen if isinstance(e, StateRestored)).failed == [1]
        assert tree(k) == [k.pid]
        turn = await engine.run_turn("double base", expect=82, attempts=1)
        assert turn.committed
        assert tree(k) == [k.pid]
    finally:
        await k.shutdown()


async def test_a_finished_child_keeps_its_exit_status_for_the_next_cell() -> None:
    k = await Kernel(config()).start()
    try:
        res = await k.execute(
            "import subprocess, time\np = subprocess.Popen(['sh', '-c', 'exit 3'])\ntime.sleep(0.3)"
        )
        assert res.ok and "stopped" not in res.stderr  # a zombie is not left running
        res = await k.execute("p.wait(timeout=2)", print_last=True)
        assert res.ok and res.stdout == "3\n"
    finally:
        await k.shutdown()


async def test_forks_from_a_shell_over_the_limit_fail_the_cell() -> None:
    """Forks from C bypass the Python guard (and RLIMIT_NPROC as root): the count when the
    cell ends still fails it, and the processes are stopped."""
    k = await Kernel(config()).start()
    try:
        res = await k.execute("import os\nos.system('for i in $(seq 40); do sleep 100 & done')")
        assert res.status == "error" and res.error is not None
        assert res.error.ename == "ProcessLimitError" and "running when it ended" in res.message
        assert tree(k) == [k.pid]
    finally:
        await k.shutdown()
