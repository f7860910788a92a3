"""The dependency rules of pyproject's [tool.importlinter] hold: run lint-imports on this tree."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.fail(f"lint-imports not found beside {sys.executable}: install the dev extras")
    # This checkout first on the path, so grimp analyses it and not another install.
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "COLUMNS": "400", "NO_COLOR": "1"}
    run = subprocess.run(
        [str(exe), "--no-cache"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    out = run.stdout + run.stderr
    verdicts = dict(re.findall(r"^(.+?) (KEPT|BROKEN)$", out, re.MULTILINE))
    assert verdicts, out  # the contracts were read and checked
    broken = sorted(name for name, verdict in verdicts.items() if verdict == "BROKEN")
    assert run.returncode == 0 and not broken, out


def test_cli_log_levels_match_the_logging_module() -> None:
    """cli.py writes the --log-level choices out (so --help does not import logging)."""
    from assistant import cli, logs

    assert cli.LOG_LEVELS == logs.LEVELS
