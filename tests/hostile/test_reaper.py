"""A client killed with SIGKILL leaves kernels behind; the next app start cleans them up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from assistant.execution import reaper

CLIENT = """
import asyncio, os, sys
from assistant.execution import Kernel, KernelConfig

async def main():
    # background: the daemon must outlive the cell, as work the user asked to keep running
    k = await Kernel(KernelConfig(limits={"background": True})).start()
    await k.execute("import subprocess\\nsubprocess.Popen(['setsid', 'sleep', '1000'])")
    print(k.pid, k.tag, flush=True)
    await asyncio.sleep(1000)

asyncio.run(main())
"""


def _tagged_alive(tag: str) -> list[int]:
    alive = []
    for pid in reaper.tagged(tag):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                if f.read().split(b") ")[1][:1] not in (b"Z", b"X"):
                    alive.append(pid)
        except OSError:
            pass
    return alive


def test_kill_9_client_then_reap_stale_in_a_new_process(assistant_home: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "ASSISTANT_HOME": str(assistant_home), "PYTHONPATH": str(repo)}
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        line = client.stdout.readline() if client.stdout else ""
        pid_text, tag = line.split()
        kernel_pid = int(pid_text)
        time.sleep(0.2)
        assert kernel_pid in _tagged_alive(tag)
        assert len(_tagged_alive(tag)) >= 2  # the kernel and its setsid'd sleep
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait()
    # The client is gone without any cleanup; its kernel and the daemon are still running.
    assert _tagged_alive(tag)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from assistant.execution import reaper; print(reaper.reap_stale())",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    # The setsid'd sleep never ends alone: the reaper must have killed it. The kernel may
    # have gone by itself first (ipykernel's parent poller sees its client die within ~1 s,
    # a race with this new process's start), so it is not counted on.
    assert int(out.stdout.strip()) >= 1
    deadline = time.time() + 3
    while _tagged_alive(tag) and time.time() < deadline:
        time.sleep(0.05)
    assert _tagged_alive(tag) == []
