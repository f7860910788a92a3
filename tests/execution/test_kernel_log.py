"""The kernel process's own output goes to a log file, never to the app's terminal."""

from __future__ import annotations

import pytest

from assistant.execution import Kernel, KernelConfig
from assistant.execution.kernel_log import kernel_log_dir


async def test_kernel_process_output_goes_to_its_log(capfd: pytest.CaptureFixture[str]) -> None:
    k = await Kernel(KernelConfig(timeout=10)).start()
    try:
        # Straight to the process's file descriptors (C code, subprocesses): cell output, as
        # in the fork runtime and a terminal, and a copy in the log.
        res = await k.execute(
            "import os\nos.write(2, b'kernel noise\\n')\nos.write(1, b'raw out\\n')"
        )
        assert res.ok and res.stderr == "kernel noise\n" and res.stdout == "raw out\n"
        log = k.log.path
        assert log is not None and log.parent == kernel_log_dir()
        res = await k.execute("import os\nos.write(2, b'dying words\\n')\nos._exit(3)")
        assert res.status == "died" and f"(kernel log: {log})" in res.message
        text = log.read_text()
        # (What a dying process wrote last may not get through ipykernel's pipe before it
        # ends: only what it wrote while alive is checked.)
        assert "kernel noise" in text and "raw out" in text
        res = await k.execute("import os\nos.write(2, b'after the restart\\n')")
        assert res.ok  # the restarted process writes to the same log
    finally:
        await k.shutdown()
    captured = capfd.readouterr()
    assert "kernel noise" not in captured.err + captured.out
    assert "dying words" not in captured.err + captured.out
    assert "after the restart" in log.read_text()


async def test_a_kernel_that_wrote_nothing_leaves_no_log() -> None:
    k = await Kernel(KernelConfig(timeout=10)).start()
    try:
        assert (await k.execute("1 + 1")).ok
        path = k.log.path
    finally:
        await k.shutdown()
    assert path is not None and not path.exists()
