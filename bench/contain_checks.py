"""Containment checks for bench/bench_hostile.py, one runtime and sandbox setting at a time.

* secrets visible: an app process holding fake credentials (an API key, a token, a copy of the
  key under a harmless name) runs a probe that looks for them in its environment and in every
  readable ``/proc/*/environ``; each place found counts.
* limits lifted: the probe's attempts to raise RLIMIT_AS / RLIMIT_NPROC to infinity that
  worked, plus capabilities left that could undo them (CAP_SYS_RESOURCE, CAP_SYS_ADMIN,
  CAP_SYS_PTRACE/CAP_PERFMON).
* forks around the guard: processes a cell started with ``os.fork.__wrapped__`` (around the
  Python-level guard) against ``max_procs`` = 64 (None: no kernel-enforced bound here: root
  without a writable pids cgroup).
* files shared between programs: programs graded one after another in one pool, each looking
  for the files the ones before it wrote in their working folder, then writing its own.
* folders left after kill -9 and restart: an app starts a kernel or fork server, is killed
  with SIGKILL, a new app process starts; the scratch folders and pids cgroups of the dead one
  still there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.hostile.probes import probe, run_as_app  # noqa: E402
from tests.hostile.test_secrets_and_limits import BYPASS  # noqa: E402

KILLED_CLIENT = """
import asyncio, sys
from assistant.execution import Kernel, KernelConfig
from assistant.execution.forkserver import ForkServer

async def main():
    cfg = KernelConfig(sandbox=sys.argv[2], limits={'max_procs': 64})
    if sys.argv[1] == 'fork':
        server = await ForkServer(cfg, preload=[]).start()
        print(server._tmp, server._cgroup or '-', flush=True)
    else:
        k = await Kernel(cfg).start()
        await k.execute("open('written.txt', 'w').write('x')")
        print(k._tmp, k._cgroup or '-', flush=True)
    await asyncio.sleep(1000)

asyncio.run(main())
"""


def _env(home: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "ASSISTANT_HOME": home}


def folders_left_after_kill_9(runtime: str, sandbox: str, home: str) -> int:
    client = subprocess.Popen(
        [sys.executable, "-c", KILLED_CLIENT, runtime, sandbox],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(home),
    )
    try:
        line = client.stdout.readline() if client.stdout else ""
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait()
    made = [Path(p) for p in line.split() if p != "-"]
    if not made:
        raise RuntimeError(f"the client did not start ({runtime}, {sandbox})")
    restart = "from assistant.execution import reaper; reaper.reap_stale()"
    subprocess.run([sys.executable, "-c", restart], env=_env(home), check=True, timeout=60)
    deadline = time.monotonic() + 5  # a killed process's cgroup empties when it has exited
    while any(p.exists() for p in made) and time.monotonic() < deadline:
        subprocess.run([sys.executable, "-c", restart], env=_env(home), check=True, timeout=60)
        time.sleep(0.2)
    return sum(p.exists() for p in made)


def forks_around_the_guard(runtime: str, sandbox: str) -> int | None:
    from assistant.execution import cgroup

    if os.getuid() == 0 and cgroup.base() is None and sandbox == "none":
        return None
    res = run_as_app(runtime, sandbox, BYPASS)
    return int(res["stdout"].split()[0])


SHARE = """
import os
seen = sum(os.path.exists('left-by-%d.txt' % i) for i in range({n}))
open('left-by-{n}.txt', 'w').write('x')
seen
"""


def files_shared(runtime: str, sandbox: str, programs: int = 6) -> int:
    import asyncio

    from assistant.execution import KernelConfig
    from assistant.execution.forkpool import ForkPool
    from assistant.execution.pool import Cell, KernelPool

    async def run() -> int:
        config = KernelConfig(timeout=20, sandbox=sandbox)
        pool: Any = ForkPool(size=2, config=config) if runtime == "fork" else KernelPool(2, config)
        seen = 0
        async with pool:
            for n in range(programs):
                res = await pool.run_program([Cell(SHARE.format(n=n), print_last=True)])
                seen += int(res[-1].stdout.strip() or 0)
        return seen

    return asyncio.run(run())


def check(runtime: str, sandbox: str, home: str) -> dict[str, Any]:
    report = probe(runtime, sandbox)
    lifted = len(report["lifted"]) + sum(
        bool(report[k]) for k in ("cap_sys_resource", "cap_sys_admin", "cap_sys_ptrace")
    )
    return {
        "secrets visible": len(report["env_hits"]) + len(report["proc_hits"]),
        "limits lifted": lifted,
        "forks around the guard (max_procs 64)": forks_around_the_guard(runtime, sandbox),
        "files shared between programs": files_shared(runtime, sandbox),
        "folders left after kill -9 + restart": folders_left_after_kill_9(runtime, sandbox, home),
    }


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        print(json.dumps(check(sys.argv[1], sys.argv[2], home)))
