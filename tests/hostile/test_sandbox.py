"""The optional bubblewrap sandbox. Skipped where bwrap is missing or cannot run."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest
import pytest_asyncio

from assistant.execution import Kernel, KernelStartError, sandbox
from assistant.execution.config import KernelConfig

from .conftest import config

pytestmark = pytest.mark.asyncio(loop_scope="package")
# In CI (CI=true, as CI runs .ci/run) or with ASSISTANT_REQUIRE_SANDBOX=1 a missing or broken
# bwrap fails these tests instead of skipping them (`make test` installs it where it can).
needs_bwrap = pytest.mark.skipif(
    not sandbox.required() and not sandbox.available(), reason="bubblewrap (bwrap) not usable"
)


@pytest.fixture(scope="module")
def host_server():
    """A TCP server on the host's loopback: reachable from any unsandboxed process, even on a
    machine with no network at all, so the "no network" check can fail."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.sendall(b"hello")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join()
    srv.close()


def _connect(port: int) -> str:
    return (
        "import socket\n"
        "try:\n"
        f"    s = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "    print('connected', s.recv(5).decode())\n"
        "except OSError as e:\n"
        "    print('blocked', e.errno)"
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


async def test_without_the_sandbox_the_host_loopback_is_reachable(host_server: int) -> None:
    """The control for the test below: the same probe connects when nothing isolates it."""
    async with Kernel(config()) as k:
        res = await k.execute(_connect(host_server))
    assert res.ok and res.stdout == "connected hello\n", res.feedback()


@needs_bwrap
async def test_no_network_and_read_only_outside_scratch(
    boxed: Kernel, tmp_path: Path, host_server: int
) -> None:
    res = await boxed.execute(_connect(host_server))
    assert res.ok and res.stdout.startswith("blocked"), res.stdout
    # The app's own files are not even there; the system is read-only; the host's /tmp is
    # replaced by a private one.
    outside = Path(__file__).with_name("escape-attempt.txt")
    try:
        res = await boxed.execute(f"open({str(outside)!r}, 'w').write('x')")
        assert res.error is not None and res.error.ename == "FileNotFoundError"
        assert not outside.exists()
        res = await boxed.execute("open('/usr/escape-attempt.txt', 'w').write('x')")
        assert res.error is not None and "Read-only file system" in res.error.evalue
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

    site_dir = tmp_path / "venv" / "lib" / "site-packages"
    inner = site_dir / "pkg-packages"
    inner.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(site_dir), str(inner), *sys.path])
    found = _hidden_by_tmp()
    assert str(site_dir.resolve()) in found
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


HIDDEN_PROBE = """
import json, os, pwd
home = pwd.getpwuid(os.getuid()).pw_dir
def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as e:
        return e.__class__.__name__
def readable(path):
    try:
        open(path, 'rb').read(1)
        return True
    except OSError:
        return False
print(json.dumps({
    'home_env': os.environ['HOME'],
    'home_env_listing': listing(os.environ['HOME']),
    'user_home': listing(home),
    'home_root': listing('/home'),
    'shadow': readable('/etc/shadow'),
    'var': listing('/var'),
    'home_writable': os.access(os.environ['HOME'], os.W_OK),
}))
"""


@pytest.mark.parametrize("box", ["none", "bwrap"])
async def test_bwrap_hides_homes_and_other_users_files(box: str, tmp_path: Path) -> None:
    """The home folder (with its dotfiles) and other users' files are hidden; a private, empty,
    writable home takes its place. ``none`` is the control: there the same probe sees them."""
    import json
    import pwd

    if box == "bwrap" and not sandbox.required() and not sandbox.available():
        pytest.skip("bubblewrap (bwrap) not usable")
    real_home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    (tmp_path / "marker").write_text("x")
    async with Kernel(config(sandbox=box)) as k:
        res = await k.execute(HIDDEN_PROBE)
    assert res.ok, res.feedback()
    seen = json.loads(res.stdout)
    if box == "none":
        assert seen["user_home"] == sorted(os.listdir(real_home))
        return
    assert seen["home_env"] != str(real_home) and seen["home_env_listing"] in ([], [".ipython"])
    assert seen["home_writable"]
    # The user's real home holds nothing but what the kernel needs (the interpreter may live
    # there, as with pyenv): no dotfiles, no other folders.
    assert not isinstance(seen["user_home"], list) or set(seen["user_home"]) <= {
        p.relative_to(real_home).parts[0]
        for p in map(Path, sandbox._needed_paths())
        if p.is_relative_to(real_home)
    }, seen
    assert seen["home_root"] == "FileNotFoundError" and seen["var"] == "FileNotFoundError"
    assert not seen["shadow"]


async def test_auto_is_bwrap_where_it_works_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    works = sandbox.available()
    assert sandbox.resolve("auto") == ("bwrap" if works else "none")
    assert KernelConfig(sandbox="auto").sandboxed == works
    assert sandbox.notice("auto").startswith(f"sandbox: {'bwrap' if works else 'none'}")
    assert "your user's rights" in sandbox.notice("none")
    assert KernelConfig().sandboxed is False
    assert KernelConfig(sandbox="bwrap", kernel_name="other").sandboxed is False
    assert "kernel 'other' is not the app's own Python" in sandbox.notice("auto", "other")
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    sandbox.resolve.cache_clear()
    try:
        assert sandbox.resolve("auto") == "none"
        assert "bubblewrap not installed" in sandbox.notice("auto")
    finally:
        sandbox.resolve.cache_clear()


async def test_ci_makes_the_sandbox_tests_fail_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``needs_bwrap`` and the other sandbox tests skip only when the sandbox is not required."""
    monkeypatch.delenv("ASSISTANT_REQUIRE_SANDBOX", raising=False)
    monkeypatch.setenv("CI", "true")
    assert sandbox.required()
    monkeypatch.setenv("CI", "")
    assert not sandbox.required()
    monkeypatch.setenv("ASSISTANT_REQUIRE_SANDBOX", "1")
    assert sandbox.required()
