"""`assistant demo` without a terminal (a pipe, CI) plays the plain demo and exits."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_without_a_terminal_plays_plain_and_exits() -> None:
    # Both ends are pipes, as under CI or `make demo | tee log`: the full-screen app used to
    # start anyway and spin at 100% CPU forever.
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "demo", "--fast"],
        stdin=subprocess.PIPE,
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "no terminal, playing the plain demo" in proc.stderr
    assert "Demo finished: 4 of 4 turns passed." in proc.stdout
    assert "\x1b[" not in proc.stdout  # no full-screen escape sequences


def test_full_screen_app_without_a_terminal_says_so_and_exits() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--model", "reference"],
        stdin=subprocess.PIPE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "needs a terminal" in proc.stderr and "assistant repl" in proc.stderr
