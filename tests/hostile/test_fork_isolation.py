"""The fork runtime (eval's default): no program sees anything of another, hostile programs
get the same verdicts as in a Jupyter kernel, and nothing is left running."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_asyncio

from assistant.execution import reaper
from assistant.execution.forkpool import ForkPool

from .conftest import LIMITS, config
from .leaks import LEAKS

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool():
    async with ForkPool(size=2, config=config(timeout=2)) as p:
        yield p


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def background_pool():
    """Processes outlive the cell that started them (``background``), as in the Jupyter pool's
    isolation test: by default each cell's leftovers are stopped when it ends, in both runtimes."""
    async with ForkPool(
        size=1, config=config(timeout=2, limits=dict(LIMITS, background=True))
    ) as p:
        yield p


@pytest.mark.parametrize("kind", list(LEAKS))
async def test_nothing_of_one_program_reaches_the_next(
    pool: ForkPool, background_pool: ForkPool, kind: str
) -> None:
    if kind == "child processes":
        pool = background_pool
    leak, check = LEAKS[kind]
    # Through both entry points: one program per kernel() context, and whole programs at once.
    async with pool.kernel() as k:
        first = await k.execute(leak)
        assert first.ok, first.feedback()
        same = await k.execute(check, print_last=True)  # within the program the change is there
    async with pool.kernel() as k:
        res = await k.execute(check, print_last=True)
    assert res.ok and res.stdout == "True\n", (res.feedback(), res.stdout)
    await pool.run_cells([leak, "pass"])
    again = await pool.run_cells([check])
    assert again[0].stdout == "True\n", again[0].feedback()
    if kind not in ("globals", "cwd"):
        assert same.stdout != "True\n"  # the check can fail: the leak is real inside


HOSTILE = {
    "busy loop": ("while True: pass", "timeout"),
    "sleeps": ("import time\ntime.sleep(100)", "timeout"),
    "os._exit": ("import os\nos._exit(1)", "died"),
    "segfault": ("import ctypes\nctypes.string_at(0)", "died"),
    "memory bomb": ("x = bytearray(50 * 2**30)", "error"),
    "fork bomb": (
        "import os, time\nfor i in range(64):\n    if os.fork() == 0:\n"
        "        time.sleep(1000)\n        os._exit(0)",
        "error",
    ),
    "input()": ("input('name? ')", "error"),
    "sys.exit": ("import sys\nsys.exit(1)", "error"),
    "exit()": ("exit()", "error"),
    "closes its pipes": ("import os\nfor fd in range(5):\n    os.close(fd)\nwhile True: pass", "x"),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
async def test_hostile_programs_get_their_verdicts(pool: ForkPool, kind: str) -> None:
    code, status = HOSTILE[kind]
    t0 = time.monotonic()
    results = await pool.run_cells(["before = 1", code, "print('never')"])
    assert time.monotonic() - t0 < 6
    assert len(results) == 2 and results[0].ok
    res = results[1]
    if status == "x":  # no channel left: a timeout or a death, never a hang
        assert res.status in ("timeout", "died")
    else:
        assert res.status == status, (res.status, res.message, res.feedback())
    if kind == "memory bomb":
        assert res.error is not None and res.error.ename == "MemoryError"
    if kind == "fork bomb":
        assert res.error is not None and "process limit" in res.error.evalue
    if kind in ("sys.exit", "exit()"):
        assert res.error is not None and res.error.ename == "SystemExit"
        assert "sys.exit" in res.message
    if status in ("timeout", "died"):
        assert res.restarted
    after = await pool.run_cells(["print(sum(range(10)))"])
    assert after[0].ok and after[0].last_printed is not None
    assert after[0].last_printed.value == 45


async def test_output_cap_and_capture_match_the_kernel(pool: ForkPool) -> None:
    res = await pool.run_cells(["x = [1, (2, 3)]\nx", "print('big' * 10**6)\nx"])
    assert res[0].display == ["[1, (2, 3)]"] and res[0].stdout == ""
    assert res[1].truncated_bytes > 0 and "truncated" in res[1].stdout
    assert res[1].last_printed is not None and res[1].last_printed.repr == "[1, (2, 3)]"
    cells = [
        "print('a')",
        "import os\nos.system('echo b')\nprint('c')",
        "os.system('yes | head -c 3000000')",  # from a subprocess: capped by the supervisor
        "print('d')",
    ]
    split = await pool.run_cells(cells)
    assert [r.stdout for r in split][:2] == ["a\n", "b\nc\n"]
    assert split[2].truncated_bytes > 1_000_000 and split[2].stdout.startswith("y\ny\n")
    assert split[3].stdout == "d\n"
    paths = await pool.run_cells(
        [
            "open('helper_mod.py', 'w').write('Y = 5')",
            "import helper_mod\nimport importlib.util\n"
            "(helper_mod.Y, importlib.util.find_spec('fork_server') is None)",
        ]
    )
    assert paths[1].stdout == "(5, True)\n", paths[1].feedback()  # the cwd, as in Jupyter
    err = await pool.run_cells(["def f():\n    return 1 / 0", "f()"])
    assert err[1].error is not None and err[1].error.ename == "ZeroDivisionError"
    assert "fork_server" not in "".join(err[1].error.traceback)  # the program's frames only


async def test_interrupt_stops_the_program(pool: ForkPool) -> None:
    import asyncio

    async with pool.kernel() as k:
        task = asyncio.ensure_future(k.execute("x = 1\nwhile True: pass", timeout=30))
        await asyncio.sleep(0.3)
        await k.interrupt()
        res = await asyncio.wait_for(task, 5)
        assert res.status == "interrupted" and res.restarted
        again = await k.execute("'x' in dir()", print_last=True)  # a fresh program
        assert again.stdout == "False\n"


async def test_pluggable_program_runner(pool: ForkPool) -> None:
    """A child can call any ``module:function`` (e.g. issue 12's upstream execution mode)."""
    async with pool.kernel() as k:
        reply = await k.call("json:loads", {"s": "[1, 2]"})
        assert reply["status"] == "ok" and reply["value"] == [1, 2]
        bad = await k.call("json:loads", {"s": "{"})
        assert bad["status"] == "error" and bad["error"]["ename"] == "JSONDecodeError"
        assert (await k.execute("x = [1, 2]")).ok
        got = await k.evaluate({"x": "x", "bad": "1 / 0"})
        assert got["x"] == {"status": "ok", "data": {"text/plain": "[1, 2]"}}
        assert got["bad"]["status"] == "error" and got["bad"]["ename"] == "ZeroDivisionError"
    # Whole programs: a fresh child per call, one round trip (how an upstream-exact mode in
    # kernels/upstream_exec.py plugs in: pool.call("upstream_exec:run_upstream", {...})).
    one = await pool.call("json:loads", {"s": "[3]"})
    assert one["status"] == "ok" and one["value"] == [3]
    hung = await pool.call("subprocess:run", {"args": ["sleep", "100"]}, timeout=0.5)
    assert hung["status"] == "timeout"


async def test_a_runners_module_is_imported_once_in_the_server() -> None:
    """Not in every child (it cost ~2-3 ms a program in ``eval --upstream``): children forked
    after the first call start with it loaded."""
    look = "import sys\nprint('assistant_kernels.upstream_exec' in sys.modules)"
    async with ForkPool(size=1, config=config(timeout=5), preload=[]) as p:
        before = await p.run_cells([look])
        args = {"program": "x = 2\nx", "timeout": 5.0, "expected": 2}
        reply = await p.call("upstream_exec:run_upstream", args)
        after = await p.run_cells([look])
    assert before[0].stdout == "False\n"
    assert reply["status"] == "ok" and reply["value"]["passed"] is True
    assert after[0].stdout == "True\n"


async def test_nothing_left_running_after_close() -> None:
    p = ForkPool(size=2, config=config(timeout=1))
    await p.start()
    tag, pid = p.server.tag, p.server.pid
    await p.run_cells(["import subprocess\nsubprocess.Popen(['setsid', 'sleep', '1000'])"])
    await p.run_cells(["import os\nif os.fork() == 0:\n    os.setsid()\n    while True: pass"])
    await p.run_cells(["import subprocess\nsubprocess.check_output('sleep 1000 &', shell=True)"])
    await p.close()
    assert pid is not None and not reaper.running(pid)
    assert [x for x in reaper.tagged(tag) if reaper.running(x)] == []


async def test_fork_is_the_eval_default() -> None:
    from assistant.execution.pool import KernelPool
    from assistant.mtpb.runner import make_pool

    assert isinstance(make_pool(1, config()), ForkPool)
    assert isinstance(make_pool(1, config(), runtime="jupyter"), KernelPool)


async def test_snapshot_rollback_leaves_no_trace_of_the_attempt(pool: ForkPool) -> None:
    """A failed attempt's rollback: its variables, module changes, threads and children go;
    the committed state stays; a commit keeps the attempt's state."""
    async with pool.kernel() as k:
        assert (await k.execute("import math\ncommitted = [1, 2]")).ok
        assert await k.checkpoint("snapshot")
        attempt = (
            "import threading, time, subprocess\nmath.pi = 3\ncommitted.append(3)\nbad = 1\n"
            "threading.Thread(target=time.sleep, args=(100,)).start()\n"
            "child = subprocess.Popen(['sleep', '100'])\n"
            "raise ValueError('attempt failed')"
        )
        assert (await k.execute(attempt)).status == "error"
        pid = (await k.execute("child.pid", print_last=True)).stdout.strip()
        assert await k.checkpoint("rollback")
        res = await k.execute(
            "import threading\n(math.pi > 3.14, committed, 'bad' in dir(), "
            "threading.active_count())",
            print_last=True,
        )
        assert res.stdout == "(True, [1, 2], False, 1)\n", res.feedback()
        time.sleep(0.05)
        assert not reaper.running(int(pid))
        # A kept attempt: snapshot, run, commit.
        assert await k.checkpoint("snapshot")
        assert (await k.execute("committed.append(4)")).ok
        assert await k.checkpoint("commit")
        assert (await k.execute("committed", print_last=True)).stdout == "[1, 2, 4]\n"
        assert not await k.checkpoint("rollback")  # nothing to roll back to


async def test_programs_with_third_party_imports_go_to_the_heavy_server() -> None:
    async with ForkPool(size=2, config=config(), preload=[], heavy=["numpy"]) as p:
        probe = "import sys\n'numpy' in sys.modules"
        light = await p.run_cells([probe])
        heavy = await p.run_cells([probe], preload=["numpy", "math"])
        assert light[0].stdout == "False\n" and heavy[0].stdout == "True\n"
        assert p.heavy is not None
        heavy_pids = {s.pid for s in p.heavy.servers}
        light_pids = {s.pid for s in p.light.servers}
        assert (len(heavy_pids), len(light_pids)) == (1, 2) and not heavy_pids & light_pids


async def test_one_server_per_job_and_the_least_busy_one_is_used() -> None:
    """``--jobs 2``: two servers, so their own serial work (fork, kill, reap) runs on two
    cores; programs at once spread over them."""
    async with ForkPool(size=2, config=config(), preload=[]) as p:
        probe = "import os\nos.getppid()"
        results = await asyncio.gather(
            *(p.run_cells(["import time\ntime.sleep(0.3)", probe]) for _ in range(4))
        )
        parents = {r[-1].stdout.strip() for r in results}
        assert parents == {str(s.pid) for s in p.light.servers}


async def test_fork_server_in_the_sandbox() -> None:
    """No network (a server on the host's loopback, reachable without the sandbox, is not)."""
    import socket

    from assistant.execution import sandbox

    if not sandbox.required() and not sandbox.available():
        pytest.skip("bubblewrap cannot create a sandbox here")
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    code = (
        f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
        "    net = True\nexcept OSError:\n    net = False\nnet"
    )
    try:
        async with ForkPool(size=1, config=config()) as p:
            res = await p.run_cells([code])
            assert res[0].stdout == "True\n"  # the control: reachable without the sandbox
        async with ForkPool(size=1, config=config(sandbox="bwrap")) as p:
            res = await p.run_cells([code])
            assert res[0].stdout == "False\n"
    finally:
        srv.close()
