"""The logging switch: ``--log-file`` / ``ASSISTANT_LOG`` write kernel and pool events to a file,
with real kernels; without the switch nothing new reaches the terminal."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.execution import Kernel, KernelConfig
from assistant.execution.pool import Cell, KernelPool
from assistant.logs import setup_logging

REPO = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) [\w.]+: ")


def _cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """``setup_logging`` in this process, undone afterwards (handlers and level)."""
    logger = logging.getLogger("assistant")
    handlers, level = list(logger.handlers), logger.level
    path = tmp_path / "app.log"
    setup_logging(path, "DEBUG")
    try:
        yield path
    finally:
        for h in [h for h in logger.handlers if h not in handlers]:
            logger.removeHandler(h)
            h.close()
        logger.setLevel(level)


def test_log_file_through_the_cli_records_a_real_kernel(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "run.log"  # the folder is created
    run = _cli("--log-file", str(log), "demo", "--plain", "--fast")
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # the switch adds a file, nothing on the terminal
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines and all(LINE.match(ln) for ln in lines), lines
    assert any("INFO assistant.cli: assistant " in ln and "command demo" in ln for ln in lines)
    assert any(
        re.search(r"INFO assistant\.execution\.kernel: kernel '[\w-]+' started: pid \d+ in", ln)
        for ln in lines
    ), lines


def test_env_var_and_the_flag_after_the_command(tmp_path: Path) -> None:
    by_env = tmp_path / "env.log"
    run = _cli("sessions", env={"ASSISTANT_LOG": str(by_env), "ASSISTANT_LOG_LEVEL": "debug"})
    assert run.returncode == 0, run.stderr
    assert "command sessions" in by_env.read_text(encoding="utf-8")

    by_flag = tmp_path / "flag.log"
    run = _cli("sessions", "--log-file", str(by_flag), "--log-level", "warning")
    assert run.returncode == 0, run.stderr
    assert by_flag.read_text(encoding="utf-8") == ""  # INFO is under the level asked for

    (tmp_path / "a-file").write_text("")
    run = _cli("--log-file", str(tmp_path / "a-file" / "x.log"), "sessions")
    assert run.returncode == 2 and "cannot write the log" in run.stderr


def test_help_explains_the_switch() -> None:
    run = _cli("--help")
    assert "--log-file PATH" in run.stdout and "ASSISTANT_LOG" in run.stdout
    assert "--log-file" in _cli("eval", "--help").stdout


async def test_restart_death_and_pool_replacement_are_logged(log_file: Path) -> None:
    cfg = KernelConfig(timeout=1, interrupt_grace=1)
    async with Kernel(cfg) as k:
        ignored = (
            "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(30)"
        )
        res = await k.execute(ignored)
        assert res.status == "timeout" and res.restarted
        died = await k.execute("import os\nos._exit(3)")
        assert died.status == "died"
    async with KernelPool(size=1, config=KernelConfig(timeout=10)) as pool:
        bad = await pool.run_program([Cell("import os\nos._exit(3)")])
        assert bad[0].status == "died"
        good = await pool.run_program([Cell("6 * 7", print_last=True)])
        assert good[0].ok
    text = log_file.read_text(encoding="utf-8")
    assert all(LINE.match(ln) for ln in text.splitlines())
    expected = [
        r"INFO assistant\.execution\.cell: cell timed out after 1 s in kernel pid \d+",
        r"INFO assistant\.execution\.kernel: interrupting kernel pid \d+",
        r"WARNING assistant\.execution\.cell: kernel pid \d+ ignored the interrupt",
        r"INFO assistant\.execution\.kernel: restarting kernel pid \d+ \(it ignored the interrupt\)",
        r"INFO assistant\.execution\.kernel: kernel restarted: pid \d+ is now pid \d+ \(",
        r"WARNING assistant\.execution\.cell: kernel pid \d+ died while running a cell "
        r"\(process exited with code 3\)",
        r"INFO assistant\.execution\.kernel: restarting kernel pid \d+ \(it died\)",
        r"INFO assistant\.execution\.pool: pool of 1 kernels ready",
        r"INFO assistant\.execution\.kernel: kernel pid \d+ killed \(it died\); a new one starts",
        r"INFO assistant\.execution\.pool: replacing kernel pid \d+: a cell timed out or "
        r"the kernel died",
        r"INFO assistant\.execution\.pool: new kernel pid \d+ ready in",
    ]
    for pattern in expected:
        assert re.search(pattern, text), f"{pattern!r} not in:\n{text}"


def test_fork_child_death_is_logged(log_file: Path) -> None:
    import asyncio

    from assistant.execution.forkpool import ForkPool

    async def go() -> str:
        async with ForkPool(size=1, preload=()) as pool:
            res = await pool.run_cells(["import os\nos._exit(5)"], timeout=10)
            return res[0].status

    assert asyncio.run(go()) == "died"
    text = log_file.read_text(encoding="utf-8")
    assert re.search(r"INFO assistant\.execution\.forkserver: fork server started: pid \d+", text)
    assert re.search(r"WARNING assistant\.execution\.forkprogram: fork child died: ", text), text


def test_without_the_switch_nothing_new_reaches_the_terminal(tmp_path: Path) -> None:
    """Deaths and timeouts log warnings: without a log set up they must not fall through to
    logging's stderr last resort (over the TUI, or once per crashing program in ``eval``),
    while the app's other warnings keep reaching stderr as before, with or without the file."""
    script = textwrap.dedent(
        """
        import asyncio, logging, sys
        from assistant.execution import Kernel, KernelConfig

        async def main():
            async with Kernel(KernelConfig(timeout=5)) as k:
                res = await k.execute("import os; os._exit(1)")
                print(res.status)

        asyncio.run(main())
        if len(sys.argv) > 1:
            from assistant.logs import setup_logging
            setup_logging(sys.argv[1])
            asyncio.run(main())
        logging.getLogger("assistant.models.llama").warning("model warning as before")
        """
    )
    plain = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert plain.stdout.split() == ["died"], plain.stderr
    assert plain.stderr == "model warning as before\n"
    log = tmp_path / "x.log"
    switched = subprocess.run(
        [sys.executable, "-c", script, str(log)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert switched.stdout.split() == ["died", "died"], switched.stderr
    assert switched.stderr == "model warning as before\n"
    text = log.read_text(encoding="utf-8")
    assert "died while running a cell" in text and "model warning as before" in text
