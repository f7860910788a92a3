"""``assistant acp`` keeps stdout for protocol messages: prints, C-level writes to fd 1 and
child processes all land on stderr once the protocol has taken the real stdout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import os, subprocess, sys
from assistant.frontends.acp.cli import _protocol_stdout
out = _protocol_stdout()
print("a stray print")
os.write(1, b"a C library writing to fd 1\\n")
subprocess.run([sys.executable, "-c", "print('a child process')"], check=True)
out.write(b'{"jsonrpc": "2.0"}\\n')
"""


def test_only_protocol_messages_reach_stdout() -> None:
    run = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == '{"jsonrpc": "2.0"}\n'
    for noise in ("a stray print", "a C library writing to fd 1", "a child process"):
        assert noise in run.stderr
