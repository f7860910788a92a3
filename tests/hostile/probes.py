"""Hostile probes shared by the containment tests and bench/bench_hostile.py.

``SECRET_PREFIX`` starts every fake credential an app is given; ``PROBE`` is a cell that looks
for it everywhere generated code could (its environment, every readable /proc/*/environ) and
tries to lift its limits; it prints one JSON object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SECRET_PREFIX = "sk-contain-probe-"
REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, resource
PREFIX = 'sk-contain-' + 'probe-'
report = {}
report['env_hits'] = sorted(k for k, v in os.environ.items() if PREFIX in v)
report['passthrough'] = os.environ.get('ASSISTANT_PROBE_PASS')
report['home'] = os.environ.get('HOME')
hits = []
for name in os.listdir('/proc'):
    if name.isdigit():
        try:
            with open('/proc/%s/environ' % name, 'rb') as f:
                if PREFIX.encode() in f.read():
                    hits.append(int(name))
        except OSError:
            pass
report['proc_hits'] = hits
lifted = []
for which in ('RLIMIT_AS', 'RLIMIT_NPROC'):
    lim = getattr(resource, which)
    soft, hard = resource.getrlimit(lim)
    report[which] = [soft, hard]
    try:
        resource.setrlimit(lim, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        lifted.append(which)
    except (ValueError, OSError):
        pass
report['lifted'] = lifted
with open('/proc/self/status') as f:
    caps = {l.split(':')[0]: int(l.split()[1], 16) for l in f if l.startswith('Cap')}
report['cap_sys_resource'] = bool(caps['CapEff'] >> 24 & 1 or caps['CapBnd'] >> 24 & 1)
report['cap_sys_admin'] = bool(caps['CapEff'] >> 21 & 1 or caps['CapBnd'] >> 21 & 1)
report['cap_sys_ptrace'] = any(caps['CapEff'] >> c & 1 or caps['CapBnd'] >> c & 1 for c in (19, 38))
print(json.dumps(report))
"""

CLIENT = """
import asyncio, json, sys
from assistant.execution import Kernel, KernelConfig
from assistant.execution.forkpool import ForkPool

runtime, sandbox, code = sys.argv[1], sys.argv[2], sys.stdin.read()
cfg = KernelConfig(timeout=20, sandbox=sandbox, env_passthrough=('ASSISTANT_PROBE_PASS',),
                   limits={'memory_mb': 2048, 'max_procs': 64})

async def main():
    if runtime == 'fork':
        async with ForkPool(size=1, config=cfg, preload=()) as pool:
            res = (await pool.run_cells([code]))[0]
    else:
        async with Kernel(cfg) as k:
            res = await k.execute(code)
    print(json.dumps({'status': res.status, 'stdout': res.stdout, 'feedback': res.feedback()}))

asyncio.run(main())
"""


def run_as_app(
    runtime: str, sandbox: str, code: str = PROBE, home: str | None = None
) -> dict[str, Any]:
    """Run ``code`` through an app process whose environment holds fake credentials (a key,
    a token, a copy of the key under a harmless name); the cell's result."""
    key = SECRET_PREFIX + os.urandom(8).hex()
    env = {
        **os.environ,
        "OPENAI_API_KEY": key,
        "HF_TOKEN": SECRET_PREFIX + "hf",
        "HARMLESS_LOOKING": key,  # a copy: caught by value
        "ASSISTANT_PROBE_PASS": "visible",
        "PYTHONPATH": str(REPO),
    }
    if home is not None:
        env["ASSISTANT_HOME"] = home
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, runtime, sandbox],
        input=code,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def probe(runtime: str, sandbox: str) -> dict[str, Any]:
    res = run_as_app(runtime, sandbox)
    assert res["status"] == "ok", res["feedback"]
    report: dict[str, Any] = json.loads(res["stdout"].strip().splitlines()[-1])
    return report
