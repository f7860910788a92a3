"""The first build's CPU options: chosen before building, from the CPU and the kernel's answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.models import cpufeatures as cf

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
AMX_CPU = {"avx", "avx2", "fma", "f16c", "avx512f", "amx_tile", "amx_int8", "amx_bf16"}
PLAIN_CPU = {"avx", "avx2", "fma", "f16c"}


@pytest.mark.parametrize(
    ("user", "flags", "amx_ok", "expected"),
    [
        ("", PLAIN_CPU, True, ""),  # nothing to decide: the native build
        ("", AMX_CPU, True, ""),  # AMX runs here: native build uses it
        ("", AMX_CPU, False, cf.safe_cmake_args(AMX_CPU)),
        ("-DGGML_CUDA=on", AMX_CPU, False, "-DGGML_CUDA=on " + cf.safe_cmake_args(AMX_CPU)),
        ("-DGGML_CUDA=on", AMX_CPU, True, "-DGGML_CUDA=on"),
        ("-DGGML_NATIVE=ON", AMX_CPU, False, "-DGGML_NATIVE=ON"),  # the user's own choice
    ],
)
def test_first_build_args(user: str, flags: set[str], amx_ok: bool, expected: str) -> None:
    assert cf.first_build_args(user, flags, amx_ok) == expected


def test_safe_args_turn_amx_off_and_keep_the_cpu_sets() -> None:
    args = cf.safe_cmake_args(AMX_CPU).split()
    assert "-DGGML_NATIVE=OFF" in args and "-DGGML_AVX512=ON" in args
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"} <= set(args)
    assert "-DGGML_AVX512_VNNI=ON" not in args  # not listed by this CPU


@pytest.mark.parametrize(
    ("flags", "env", "ok"),
    [
        (PLAIN_CPU, "refused", True),  # no AMX listed: nothing to ask
        (AMX_CPU, "refused", False),  # listed, the kernel refuses the tile state
        (AMX_CPU, "crash", False),  # granted, but the tile program faults
    ],
)
def test_amx_verdict(flags: set[str], env: str, ok: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cf.AMX_ENV, env)
    if env == "crash":
        monkeypatch.setattr(cf, "kernel_grants_amx", lambda: True)
    assert cf.amx_verdict(flags)[0] is ok


def test_kernel_answer_on_this_machine_matches_cpuinfo() -> None:
    """Without AMX in the CPU the kernel never grants the tile state (the real syscall)."""
    if "amx_tile" not in cf.cpu_flags():
        assert cf.kernel_grants_amx() is False


def test_make_runs_it_as_a_script_before_install() -> None:
    """Run as `python FILE` with only the standard library: stdout is CMAKE_ARGS alone."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CMAKE_ARGS")}
    env.update({cf.AMX_ENV: "refused", "CMAKE_ARGS": "-DGGML_CUDA=on"})
    script = REPO / "assistant" / "models" / "cpufeatures.py"
    out = subprocess.run(
        [sys.executable, "-S", "-I", str(script)], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    if "amx_tile" in cf.cpu_flags():
        assert out.stdout.split()[0] == "-DGGML_CUDA=on" and "GGML_AMX_TILE=OFF" in out.stdout
        assert "building without AMX" in out.stderr
    else:
        assert out.stdout.strip() == "-DGGML_CUDA=on" and out.stderr == ""


def test_makefile_passes_the_choice_to_the_first_install() -> None:
    make = (REPO / "Makefile").read_text()
    assert "assistant/models/cpufeatures.py" in make
    install = next(line for line in make.splitlines() if "pip install" in line and "-e" in line)
    assert "CMAKE_ARGS=" in install


def test_the_tile_program_compiles_and_never_crashes_without_amx(tmp_path: Path) -> None:
    """The C probe is valid for this compiler; on a CPU without AMX it says "cannot tell"."""
    src = tmp_path / "tile.c"
    src.write_text(cf.TILE_PROGRAM)
    built = subprocess.run(
        ["gcc", "-O0", "-mamx-tile", "-c", str(src), "-o", str(tmp_path / "tile.o")],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    if "amx_tile" not in cf.cpu_flags():
        assert cf.tile_program_runs() is None  # the kernel refuses: exit 3, not a signal
