"""The llama.cpp build probe: its decision logic, the real probe, and a faulting child."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.models import ModelError
from assistant.models import buildcheck as bc

REPO = Path(__file__).resolve().parents[2]
XEON_FLAGS = set(
    [
        "fpu",
        "sse2",
        "avx",
        "avx2",
        "fma",
        "f16c",
        "bmi2",
        "avx512f",
        "avx512bw",
        "avx512_vnni",
        "avx512_bf16",
        "avx_vnni",
        "amx_tile",
        "amx_int8",
        "amx_bf16",
    ]
)


@pytest.mark.unit
def test_cpu_flags_parse_proc_cpuinfo() -> None:
    text = "processor\t: 0\nflags\t\t: fpu avx avx2 amx_tile\nbugs\t: spectre\n"
    assert bc.cpu_flags(text) == {"fpu", "avx", "avx2", "amx_tile"}
    assert bc.cpu_flags("processor : 0\n") == set()
    # the real file parses (or is absent) without error, and has this CPU's flags
    assert bc.cpu_flags() or not Path("/proc/cpuinfo").is_file()


@pytest.mark.unit
def test_probe_ok_needs_nothing() -> None:
    d = bc.decide(0, XEON_FLAGS)
    assert d.action == "ok" and d.cmake_args == ""


@pytest.mark.unit
def test_segfault_rebuilds_without_native_and_amx_with_the_cpus_own_flags() -> None:
    d = bc.decide(-signal.SIGSEGV, XEON_FLAGS)
    assert d.action == "rebuild" and "SIGSEGV" in d.reason
    args = d.cmake_args.split()
    assert args[0] == "-DGGML_NATIVE=OFF"
    for opt in ("AVX", "AVX2", "FMA", "F16C", "AVX512", "AVX512_VNNI", "AVX512_BF16", "AVX_VNNI"):
        assert f"-DGGML_{opt}=ON" in args
    assert "-DGGML_AMX_TILE=OFF" in args and not any("AMX" in a and "=ON" in a for a in args)
    # only what the CPU has: no VBMI flag on this CPU
    assert "-DGGML_AVX512_VBMI=ON" not in args
    older = bc.decide(-signal.SIGILL, {"avx", "avx2", "fma", "f16c"})
    assert older.action == "rebuild" and "AVX512" not in older.cmake_args


@pytest.mark.unit
def test_gpu_cmake_args_of_the_user_are_kept() -> None:
    d = bc.decide(-signal.SIGSEGV, XEON_FLAGS, "-DGGML_CUDA=on")
    assert d.action == "rebuild" and d.cmake_args.startswith("-DGGML_CUDA=on ")
    assert "-DGGML_NATIVE=OFF" in d.cmake_args and "GPU options kept" in d.reason
    own = bc.decide(-signal.SIGSEGV, XEON_FLAGS, "-DGGML_NATIVE=ON -DGGML_METAL=on")
    assert own.action == "fail" and "GGML_NATIVE" in own.reason


@pytest.mark.unit
def test_a_python_error_is_not_a_cpu_fault() -> None:
    d = bc.decide(1, XEON_FLAGS)
    assert d.action == "fail" and "not a CPU fault" in d.reason


@pytest.mark.unit
def test_rebuild_skips_pips_wheel_cache_and_prebuilt_wheels() -> None:
    cmd = bc.rebuild_command("0.3.36")
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    for flag in ("--no-cache-dir", "--force-reinstall", "--no-deps", "--no-binary"):
        assert flag in cmd
    assert cmd[-1] == "llama-cpp-python==0.3.36"


@pytest.mark.llama  # the probe loads a quantized model in a child
def test_real_probe_runs_quantized_models_on_this_build() -> None:
    res = bc.run_probe()
    assert res.ok, res.output
    assert "CPU" in res.system_info
    assert json.loads(res.output.splitlines()[-1])["generated"] > 0


@pytest.mark.llama  # the probe loads a quantized model in a child
def test_check_build_is_cached_per_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSISTANT_BUILD_CHECK", raising=False)
    first = bc.check_build(force=True)
    assert first["ok"] is True and first["key"] == bc.build_key()
    assert bc.cached_check() == first
    calls = []
    monkeypatch.setattr(bc, "run_probe", lambda: calls.append(1))
    assert bc.check_build() == first and not calls  # cached: no child this time
    # another CPU (or a rebuilt library) has another key: the cache does not apply
    assert bc.build_key({"avx"}) != bc.build_key()


@pytest.mark.unit
def test_a_crashing_probe_becomes_an_error_naming_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSISTANT_BUILD_CHECK", raising=False)
    monkeypatch.setenv(bc.CRASH_ENV, "SIGSEGV")
    with pytest.raises(ModelError) as err:
        bc.check_build(force=True)
    msg = str(err.value)
    assert "crashes on this CPU" in msg and "SIGSEGV" in msg
    assert bc.FIX_COMMAND in msg and "GGML_NATIVE=OFF" in msg and "--no-cache-dir" in msg


@pytest.mark.unit
def test_fix_dry_run_prints_the_rebuild_and_ok_build_needs_none(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), bc.CRASH_ENV: "SIGSEGV"}
    env.pop("CMAKE_ARGS", None)
    cmd = [sys.executable, "-m", "assistant.models.buildcheck", "--fix", "--dry-run"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "killed by SIGSEGV" in out.stderr
    assert 'would run: CMAKE_ARGS="-DGGML_NATIVE=OFF' in out.stderr
    assert "--no-cache-dir --force-reinstall --no-deps" in out.stderr
    del env[bc.CRASH_ENV]
    ok = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0 and "runs quantized models" in ok.stdout


@pytest.mark.unit
def test_a_probe_failing_without_a_signal_does_not_block_models(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ASSISTANT_BUILD_CHECK", raising=False)
    monkeypatch.setenv(bc.CRASH_ENV, "exit:1")
    before = bc.cached_check()  # an earlier test may have cached this build's good check
    result = bc.check_build(force=True)
    assert result["ok"] is None and "exit status 1" in result["reason"]
    assert bc.cached_check() == before  # not cached as ok (nor cached at all)


@pytest.mark.unit
def test_info_shows_cpu_features_and_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli import main

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "llama.cpp CPU features" in out
    assert "build check             ok" in out
