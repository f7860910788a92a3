"""Which CPU options the first llama.cpp build gets: decided before it, from the CPU and kernel.

Standard library only, and importing nothing of this package: ``make`` runs this file as a
script before anything is installed, to choose llama-cpp-python's ``CMAKE_ARGS``::

    CMAKE_ARGS="$(python assistant/models/cpufeatures.py)" pip install -e .

Some virtual machines list AMX in /proc/cpuinfo (the CPU has it) without granting its tile
state to processes (the hypervisor or the kernel does not enable it). A native build then
faults at the first ``ldtilecfg`` of a quantized matrix product. Linux (5.16+) makes a process
ask for the tile state with ``arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)``; when the
kernel refuses, or a tiny compiled program that loads a tile configuration dies of a signal,
AMX cannot run here and the first build goes without native CPU detection (AMX off, the CPU's
other instruction sets on). Where the answer is unclear (no compiler) the kernel's answer
decides, and ``assistant.models.buildcheck`` stays the safety net after the build.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# /proc/cpuinfo flag -> the ggml CMake option for it (only what ggml can use on x86).
CPU_OPTIONS = (
    ("avx", "GGML_AVX"),
    ("avx2", "GGML_AVX2"),
    ("fma", "GGML_FMA"),
    ("f16c", "GGML_F16C"),
    ("bmi2", "GGML_BMI2"),
    ("avx512f", "GGML_AVX512"),
    ("avx512vbmi", "GGML_AVX512_VBMI"),
    ("avx512_vnni", "GGML_AVX512_VNNI"),
    ("avx512_bf16", "GGML_AVX512_BF16"),
    ("avx_vnni", "GGML_AVX_VNNI"),
)
AMX_OFF = ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")
# CMake options that select a GPU backend: a user who set them wants that build kept.
GPU_OPTIONS = ("CUDA", "METAL", "HIP", "HIPBLAS", "VULKAN", "SYCL", "MUSA", "CANN", "OPENCL")

SYS_ARCH_PRCTL = 158  # x86_64
ARCH_REQ_XCOMP_PERM = 0x1023
XFEATURE_XTILEDATA = 18
# Tests only: "granted" / "refused" replaces the kernel's answer, "crash" the tile program's.
AMX_ENV = "ASSISTANT_TEST_AMX"

# Loads a one-tile configuration and zeroes the tile: the first AMX instructions ggml runs.
TILE_PROGRAM = r"""
#include <immintrin.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    unsigned char cfg[64];
    if (syscall(SYS_arch_prctl, 0x1023, 18)) return 3;
    memset(cfg, 0, sizeof cfg);
    cfg[0] = 1;    /* palette 1 */
    cfg[16] = 64;  /* tile 0: 64 bytes per row */
    cfg[48] = 16;  /* tile 0: 16 rows */
    _tile_loadconfig(cfg);
    _tile_zero(0);
    _tile_release();
    return 0;
}
"""


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def safe_cmake_args(flags: set[str]) -> str:
    """CMake options for a portable build with the CPU's own instruction sets and no AMX."""
    opts = ["-DGGML_NATIVE=OFF"]
    opts += [f"-D{opt}=ON" for flag, opt in CPU_OPTIONS if flag in flags]
    opts += [f"-D{opt}=OFF" for opt in AMX_OFF]
    return " ".join(opts)


def has_gpu_option(cmake_args: str) -> bool:
    upper = cmake_args.upper()
    return any(f"GGML_{name}=" in upper or f"LLAMA_{name}=" in upper for name in GPU_OPTIONS)


def kernel_grants_amx() -> bool:
    """Does the kernel give this process the AMX tile state? (Linux x86_64 5.16+.)"""
    forced = os.environ.get(AMX_ENV, "")
    if forced in ("granted", "refused"):
        return forced == "granted"
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.syscall(SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)) == 0
    except (OSError, AttributeError):
        return False


def tile_program_runs(timeout: float = 60.0) -> bool | None:
    """Run TILE_PROGRAM: True when it ran, False when it died of a signal, None: cannot tell."""
    if os.environ.get(AMX_ENV) == "crash":
        return False
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "tile.c", Path(tmp) / "tile"
        src.write_text(TILE_PROGRAM, encoding="utf-8")
        try:
            built = subprocess.run(
                [cc, "-O0", "-mamx-tile", str(src), "-o", str(exe)],
                capture_output=True,
                timeout=timeout,
            )
            if built.returncode != 0:
                return None  # a compiler without AMX support: no verdict
            ran = subprocess.run([str(exe)], capture_output=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired):
            return None
    if ran.returncode < 0:
        return False
    return ran.returncode == 0 or None


def amx_verdict(flags: set[str]) -> tuple[bool, str]:
    """(can AMX code run here, why). Only asked when the CPU lists AMX."""
    if "amx_tile" not in flags:
        return True, "the CPU lists no AMX"
    if not kernel_grants_amx():
        return False, "the CPU lists AMX but the kernel does not grant its tile state"
    if tile_program_runs() is False:
        return False, "the CPU lists AMX but a program loading a tile configuration faults"
    return True, "the CPU lists AMX and it runs"


def first_build_args(user_args: str, flags: set[str], amx_ok: bool) -> str:
    """CMAKE_ARGS for the first llama-cpp-python build: the user's, plus AMX off where needed.

    A user who set GGML_NATIVE chose the CPU options themselves: theirs are kept as they are.
    """
    user = user_args.strip()
    if amx_ok or "GGML_NATIVE" in user.upper():
        return user
    return f"{user} {safe_cmake_args(flags)}".strip()


def main() -> int:
    flags = cpu_flags()
    user = os.environ.get("CMAKE_ARGS", "")
    amx_ok, why = amx_verdict(flags)
    args = first_build_args(user, flags, amx_ok)
    if args != user.strip():
        print(f"llama.cpp build: {why}: building without AMX ({args})", file=sys.stderr)
    print(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
