"""Containment generated code cannot undo: no credential of the app is readable (environment,
/proc), limits cannot be lifted, in both runtimes and both sandbox settings."""

from __future__ import annotations

import pytest

from assistant.execution import environment, sandbox

from .probes import SECRET_PREFIX, probe

SANDBOXES = ["none", "bwrap"]


@pytest.mark.parametrize("runtime", ["jupyter", "fork"])
@pytest.mark.parametrize("box", SANDBOXES)
def test_no_secret_is_visible_and_no_limit_can_be_lifted(runtime: str, box: str) -> None:
    if box == "bwrap" and not sandbox.available() and not sandbox.required():
        pytest.skip("bubblewrap (bwrap) not usable")
    report = probe(runtime, box)
    assert report["env_hits"] == [], report
    assert report["proc_hits"] == [], report
    assert report["passthrough"] == "visible"
    assert report["lifted"] == [], report
    assert report["RLIMIT_AS"][1] == 2048 * 2**20  # the hard limit, not only the soft one
    assert report["RLIMIT_NPROC"][1] != -1
    assert not report["cap_sys_resource"] and not report["cap_sys_admin"], report
    assert not report["cap_sys_ptrace"], report


def test_minimal_environment_keeps_what_python_needs_and_no_credentials() -> None:
    source = {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "HOME": "/home/u",
        "OPENAI_API_KEY": SECRET_PREFIX + "1",
        "HF_TOKEN": "hf_abcdefgh",
        "DB_PASSWORD": "hunter22",
        "AWS_SECRET_ACCESS_KEY": "x" * 20,
        "GITHUB_PAT": "y" * 20,
        "COPY": SECRET_PREFIX + "1",
        "MY_SETTING": "on",
        "EDITOR": "vi",
    }
    env = environment.minimal(["MY_SETTING"], {"ASSISTANT_KERNEL_TAG": "t"}, source=source)
    assert env == {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "HOME": "/home/u",
        "MY_SETTING": "on",
        "ASSISTANT_KERNEL_TAG": "t",
    }
    assert environment.leaked(env, source) == []
    environment.register_secret("registered-secret-value")
    env = environment.minimal(
        ["MY_SETTING"], source={**source, "MY_SETTING": "registered-secret-value"}
    )
    assert "MY_SETTING" not in env


@pytest.mark.parametrize(
    "name", ["OPENAI_API_KEY", "HF_TOKEN", "AWS_SECRET", "DB_PASSWORD", "api_key", "MY_PASSWORD_X"]
)
def test_passthrough_of_a_credential_is_a_clear_error(name: str) -> None:
    from assistant.config import ConfigError, load

    with pytest.raises(ConfigError, match="credential"):
        load(overrides={"env_passthrough": f"PATH,{name}"})


def test_passthrough_setting_parses_lists_and_strings(tmp_path) -> None:
    from assistant.config import load

    cfg = tmp_path / "config.toml"
    cfg.write_text('env_passthrough = ["EDITOR", "MY_SETTING"]\n')
    assert load(cfg).env_passthrough == ("EDITOR", "MY_SETTING")
    assert load(cfg).kernel_config().env_passthrough == ("EDITOR", "MY_SETTING")
    assert load(overrides={"env_passthrough": "A, B"}).env_passthrough == ("A", "B")


BYPASS = """
import os, time
raw = getattr(os.fork, '__wrapped__', os.fork)  # around the Python-level guard
kids = []
try:
    for i in range(300):
        pid = raw()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        kids.append(pid)
except OSError:
    pass
print(len(kids))
"""


@pytest.mark.asyncio
@pytest.mark.parametrize("runtime", ["jupyter", "fork"])
async def test_forks_around_the_python_guard_are_still_bounded(runtime: str) -> None:
    """``os.fork.__wrapped__`` skips procs.py: the kernel itself must stop it (RLIMIT_NPROC,
    hard; as root, where the kernel ignores it, a pids cgroup)."""
    import os

    from assistant.execution import Kernel, cgroup
    from assistant.execution.forkpool import ForkPool

    from .conftest import config

    if os.getuid() == 0 and cgroup.base() is None:
        pytest.skip("root without a writable pids cgroup: no kernel-enforced process limit")
    cfg = config(timeout=20)
    if runtime == "fork":
        async with ForkPool(size=1, config=cfg, preload=[]) as pool:
            res = (await pool.run_cells([BYPASS]))[0]
    else:
        async with Kernel(cfg) as k:
            res = await k.execute(BYPASS)
    forked = int(res.stdout.split()[0])
    # A fork server's cgroup holds its programs running at once and its spare children.
    room = 24 * (2 if runtime == "fork" else 1) + cgroup.ROOM
    assert forked < room < 300, res.feedback()
    assert res.status == "error" and "process limit" in res.message  # and the cell fails


UPSTREAM_PROBE = (
    "import os\n"
    "found = sorted(k for k, v in os.environ.items() if v.startswith('sk-contain-probe-'))\n"
    "print(found)\n"
)


@pytest.mark.asyncio
async def test_upstream_exec_sees_no_credentials_in_either_runtime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--upstream`` runs programs through kernels/upstream_exec.py in the same kernels and
    fork servers: the same environment."""
    from assistant.execution import Kernel
    from assistant.execution.forkpool import ForkPool
    from assistant.mtpb.upstream import run_in_kernel

    from .conftest import config

    monkeypatch.setenv("OPENAI_API_KEY", SECRET_PREFIX + "upstream")
    monkeypatch.setenv("SOME_COPY", SECRET_PREFIX + "upstream")
    async with Kernel(config(timeout=20)) as k:
        result, _res = await run_in_kernel(k, UPSTREAM_PROBE, [])
    assert result["passed"], result
    async with ForkPool(size=1, config=config(timeout=20), preload=[]) as pool:
        reply = await pool.call(
            "upstream_exec:run_upstream", {"program": UPSTREAM_PROBE, "expected": []}
        )
    assert reply["status"] == "ok" and reply["value"]["passed"], reply
