"""The optional bubblewrap sandbox. Skipped where bwrap is missing or cannot run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytest_asyncio

from assistant.execution import Kernel, KernelStartError, sandbox
from assistant.execution.config import KernelConfig

from .conftest import config

pytestmark = pytest.mark.asyncio(loop_scope="package")
# In CI (CI=true, as CI runs .ci/run) or with ASSISTANT_REQUIRE_SANDBOX=1 a missing bwrap
# fails these tests instead of skipping them (`make test` installs it where it can).
_REQUIRED = os.environ.get("ASSISTANT_REQUIRE_SANDBOX", os.environ.get("CI", "")).lower() in (
    "1",
    "true",
)
needs_bwrap = pytest.mark.skipif(
    not _REQUIRED and not sandbox.available(), reason="bubblewrap (bwrap) not usable"
)


@pytest_asyncio.fixture(loop_scope="package", scope="module")
async def boxed():
    k = await Kernel(config(sandbox="bwrap")).start()
    yield k
    await k.shutdown()


async def test_missing_bwrap_is_a_clear_start_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    with pytest.raises(sandbox.SandboxError, match="bubblewrap is not installed"):
        sandbox.bwrap_argv(["python"], KernelConfig(sandbox="bwrap"))
    with pytest.raises(KernelStartError, match="apt install bubblewrap"):
        await Kernel(KernelConfig(sandbox="bwrap")).start()


@needs_bwrap
async def test_no_network_and_read_only_outside_scratch(boxed: Kernel, tmp_path: Path) -> None:
    res = await boxed.execute(
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('blocked', e.errno)"
    )
    assert res.ok and res.stdout.startswith("blocked")
    # The app's files are visible but read-only; the host's /tmp is replaced by a private one.
    outside = Path(__file__).with_name("escape-attempt.txt")
    try:
        res = await boxed.execute(f"open({str(outside)!r}, 'w').write('x')")
        assert res.error is not None and "Read-only file system" in res.error.evalue
        assert not outside.exists()
    finally:
        outside.unlink(missing_ok=True)
    res = await boxed.execute(f"import os\nos.path.exists({str(tmp_path)!r})", print_last=True)
    assert res.ok and res.stdout == "False\n"
    res = await boxed.execute(
        "open('inside.txt', 'w').write('ok')\nprint(open('inside.txt').read())"
    )
    assert res.ok and res.stdout == "ok\n"
    assert boxed.workdir is not None and (boxed.workdir / "inside.txt").exists()


@needs_bwrap
async def test_interrupt_timeout_and_restart_work_in_the_sandbox(boxed: Kernel) -> None:
    await boxed.execute("kept = 1")
    res = await boxed.execute("while True: pass", timeout=1)
    assert res.status == "timeout" and not res.restarted  # interrupted by message
    res = await boxed.execute("kept", print_last=True)
    assert res.ok and res.last_printed is not None and res.last_printed.value == 1
    res = await boxed.execute("import os\nos._exit(1)")
    assert res.status == "died" and res.restarted
    res = await boxed.execute("6 * 7", print_last=True)
    assert res.ok and res.last_printed is not None and res.last_printed.value == 42


async def test_folders_under_tmp_are_bound_back(tmp_path, monkeypatch) -> None:
    """A venv or checkout under /tmp would vanish behind the sandbox's private /tmp."""
    import sys

    from assistant.execution.sandbox import _hidden_by_tmp

    inner = tmp_path / "venv" / "lib"
    inner.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(tmp_path / "venv"), str(inner), *sys.path])
    found = _hidden_by_tmp()
    assert str((tmp_path / "venv").resolve()) in found
    assert str(inner.resolve()) not in found  # covered by its parent


@needs_bwrap
@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("import ctypes\nctypes.string_at(0)", "SIGSEGV"),
        ("import os\nos.abort()", "SIGABRT"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
    ],
)
async def test_death_by_signal_is_named_in_the_sandbox(boxed: Kernel, code: str, name: str) -> None:
    """bwrap reports its child's death by signal N as exit code 128 + N."""
    res = await boxed.execute(code)
    assert res.status == "died" and res.restarted
    assert f"killed by {name}" in res.message and "exited with code" not in res.message
