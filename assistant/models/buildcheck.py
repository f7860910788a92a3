"""Does this llama-cpp-python build run quantized models on this CPU? Probe, cache, fall back.

llama-cpp-python builds llama.cpp with ``GGML_NATIVE`` by default: it uses every instruction
the build machine's CPU advertises. Some virtual machines advertise AMX (Intel Sapphire/Granite
Rapids) without enabling its tile state, and the first quantized matrix product then dies of a
general protection fault at ``ldtilecfg`` (SIGSEGV), killing the whole app. f32 models never
reach those kernels, so only a quantized model with a multi-token prompt shows it.

Hence a probe that runs in a child process (a crash there is an exit status, not our death):

* ``python -m assistant.models.buildcheck --fix`` (``make`` runs it after installing): when the
  probe dies of a signal, reinstall llama-cpp-python from source with ``GGML_NATIVE=OFF`` and the
  instruction sets /proc/cpuinfo lists, AMX off. A user's GPU ``CMAKE_ARGS`` are kept.
* ``check_build()`` before the first model load on a given build + CPU (the result is cached
  in the user cache dir), so the app reports a fault as an error that names the fix.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from assistant.models.base import ModelError
from assistant.models.cpufeatures import cpu_flags, has_gpu_option, safe_cmake_args

log = logging.getLogger(__name__)

FIX_COMMAND = "python -m assistant.models.buildcheck --fix"
CACHE_NAME = "buildcheck.json"
CANNOT_PROBE = 3  # the probe's exit status when it lacks what it needs (not a verdict)
# Tests only: makes the probe child kill itself with this signal, like a faulting build.
CRASH_ENV = "ASSISTANT_TEST_PROBE_CRASH"


@dataclass
class Decision:
    action: Literal["ok", "rebuild", "fail"]
    reason: str
    cmake_args: str = ""


def describe_status(status: int) -> str:
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


def decide(status: int, flags: set[str], user_cmake_args: str = "") -> Decision:
    """What to do after the probe ended with ``status`` (a negative status: killed by a signal).

    A signal means the build's CPU code faults here: rebuild without native CPU detection (AMX
    off), keeping the user's own options (GPU backends) and adding the CPU's instruction sets.
    A normal failure is not a CPU problem (llama-cpp-python missing, a Python error): report it.
    """
    if status == 0:
        return Decision("ok", "the build runs a quantized model on this CPU")
    if status > 0:
        return Decision(
            "fail",
            f"the probe failed ({describe_status(status)}), which is not a CPU fault: see its "
            "output above",
        )
    why = f"the probe running a quantized model was {describe_status(status)}"
    user = user_cmake_args.strip()
    if "GGML_NATIVE" in user.upper():
        return Decision(
            "fail",
            f"{why} with your own CMAKE_ARGS ({user}); remove GGML_NATIVE from them so that "
            f"the fallback can pick safe CPU options, or pass: {safe_cmake_args(flags)}",
        )
    args = f"{user} {safe_cmake_args(flags)}".strip()
    kept = " (your GPU options kept)" if has_gpu_option(user) else ""
    return Decision(
        "rebuild", f"{why}: rebuilding without native CPU detection (no AMX){kept}", args
    )


def rebuild_command(version: str | None) -> list[str]:
    """pip reinstalling llama-cpp-python from source.

    --no-cache-dir: pip's wheel cache is keyed by the source archive, not by CMAKE_ARGS, so it
    would hand back the faulting native wheel. --no-binary: a prebuilt wheel on a find-links
    folder would skip the build altogether.
    """
    pkg = f"llama-cpp-python=={version}" if version else "llama-cpp-python"
    return [
        sys.executable, "-m", "pip", "install", "--no-cache-dir", "--force-reinstall",
        "--no-deps", "--no-binary", "llama-cpp-python", pkg,
    ]  # fmt: skip


def fix_hint(flags: set[str] | None = None) -> str:
    flags = cpu_flags() if flags is None else flags
    return (
        f"run `{FIX_COMMAND}` (or `make test`, which runs it), or reinstall by hand: "
        f'CMAKE_ARGS="{safe_cmake_args(flags)}" pip install --no-cache-dir --force-reinstall '
        "--no-deps --no-binary llama-cpp-python llama-cpp-python"
    )


# -- the probe (child process) ------------------------------------------------------------------
PROBE_PROMPT = "def return print import from for in range if else while len self class " * 3


def _probe_child() -> int:
    """Run a quantized model on a multi-token prompt; print what the build uses as JSON."""
    crash = os.environ.get(CRASH_ENV)
    if crash:  # "SIGSEGV" (a faulting build) or "exit:N" (a probe that fails otherwise)
        if crash.startswith("exit:"):
            return int(crash[5:])
        os.kill(os.getpid(), getattr(signal, crash))
    import llama_cpp

    try:
        import gguf  # noqa: F401  (writes the probe model)
    except ImportError:
        print("cannot probe: the gguf package is missing (pip install gguf)")
        return CANNOT_PROBE
    from assistant.models.tiny_gguf import write_tiny_gguf

    with tempfile.TemporaryDirectory() as tmp:
        generated = 0
        # Q4_0 and Q8_0 have AMX kernels in ggml; a batch of prompt tokens reaches them.
        for quant in ("Q4_0", "Q8_0"):
            path = write_tiny_gguf(Path(tmp) / f"probe-{quant}.gguf", quant=quant)
            llm = llama_cpp.Llama(str(path), n_ctx=256, n_threads=1, n_batch=64, verbose=False)
            out: Any = llm.create_completion(PROBE_PROMPT, max_tokens=4, temperature=0.0)
            generated += int(out["usage"]["completion_tokens"])
            llm.close()
    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
    print(json.dumps({"ok": True, "system_info": info, "generated": generated}))
    return 0


@dataclass
class ProbeResult:
    status: int
    output: str
    system_info: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 0


def run_probe(timeout: float = 300.0) -> ProbeResult:
    """Run the probe in a child process (with this package importable there)."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "assistant.models.buildcheck", "--probe"],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return ProbeResult(124, f"the probe took more than {timeout:.0f} s")
    output = (proc.stdout + proc.stderr).strip()
    info = ""
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                info = str(json.loads(line).get("system_info", ""))
    return ProbeResult(proc.returncode, output, info)


# -- the runtime check (cached) ---------------------------------------------------------------
def build_key(flags: set[str] | None = None) -> str:
    """Identifies the installed llama.cpp libraries and this CPU (a rebuild changes it)."""
    import importlib.metadata
    import importlib.util

    flags = cpu_flags() if flags is None else flags
    h = hashlib.sha256()
    try:
        h.update(importlib.metadata.version("llama-cpp-python").encode())
    except importlib.metadata.PackageNotFoundError:
        h.update(b"?")
    spec = importlib.util.find_spec("llama_cpp")
    if spec is not None and spec.origin:
        lib = Path(spec.origin).parent / "lib"
        for f in sorted(lib.glob("*")) if lib.is_dir() else []:
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    h.update(" ".join(sorted(flags)).encode())
    return h.hexdigest()[:20]


def _cache_file() -> Path:
    from assistant import paths

    return paths.cache_dir() / CACHE_NAME


def cached_check() -> dict[str, Any] | None:
    """The cached result for the installed build and this CPU, if the check ran."""
    try:
        data = json.loads(_cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("key") == build_key() else None


def check_build(force: bool = False) -> dict[str, Any]:
    """Make sure the build runs quantized models here (once per build and CPU).

    Raises ModelError naming the fix when the probe crashes. Set ASSISTANT_BUILD_CHECK=0 to
    skip it (a build you know works, or a machine where starting a child is not possible).
    """
    if os.environ.get("ASSISTANT_BUILD_CHECK", "1").strip().lower() in ("0", "false", "no"):
        return {"ok": True, "skipped": True}
    if not force:
        cached = cached_check()
        if cached is not None:
            return cached
    flags = cpu_flags()
    result = run_probe()
    decision = decide(result.status, flags, os.environ.get("CMAKE_ARGS", ""))
    if decision.action == "rebuild":
        raise ModelError(
            f"this llama-cpp-python build crashes on this CPU: {decision.reason.split(':')[0]}. "
            f"Fix: {fix_hint(flags)}"
        )
    if not result.ok:
        # Not a crash (too slow on a busy machine, gguf missing, a Python error): only a
        # signal proves the build faults, so anything else must not keep the user's model out.
        tail = " | ".join(result.output.splitlines()[-3:])
        log.warning("llama.cpp self-check inconclusive (%s): %s", decision.reason, tail)
        return {"ok": None, "reason": f"{describe_status(result.status)}: {tail}"}
    data = {"key": build_key(flags), "ok": True, "system_info": result.system_info}
    try:
        path = _cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)
    except OSError:  # a read-only cache only costs a probe per start
        pass
    return data


# -- install-time fix ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assistant.models.buildcheck", description=__doc__)
    ap.add_argument("--fix", action="store_true", help="rebuild llama-cpp-python if it crashes")
    ap.add_argument("--dry-run", action="store_true", help="print the rebuild, do not run it")
    ap.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.probe:
        return _probe_child()
    import importlib.metadata

    flags = cpu_flags()
    user_args = os.environ.get("CMAKE_ARGS", "")
    result = run_probe()
    decision = decide(result.status, flags, user_args)
    if decision.action == "ok":
        print(f"llama-cpp-python runs quantized models on this CPU ({result.system_info})")
        return 0
    if decision.action == "fail":
        print(result.output, file=sys.stderr)
        print(f"buildcheck: {decision.reason}", file=sys.stderr)
        return 1
    try:
        version: str | None = importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        version = None
    cmd = rebuild_command(version)
    shown = f'CMAKE_ARGS="{decision.cmake_args}" ' + " ".join(cmd)
    print(f"buildcheck: {decision.reason}", file=sys.stderr)
    if not args.fix or args.dry_run:
        print(("would run: " if args.dry_run else "fix: ") + shown, file=sys.stderr)
        return 0 if args.dry_run else 1
    print(f"running: {shown}  (a source build: minutes)", file=sys.stderr)
    env = {**os.environ, "CMAKE_ARGS": decision.cmake_args}
    if subprocess.run(cmd, env=env).returncode != 0:
        print("buildcheck: the rebuild failed (see pip's output above)", file=sys.stderr)
        return 1
    again = run_probe()
    if not again.ok:
        print(again.output, file=sys.stderr)
        print(
            f"buildcheck: the rebuilt llama-cpp-python still fails ({describe_status(again.status)})",
            file=sys.stderr,
        )
        return 1
    print(f"llama-cpp-python rebuilt and runs quantized models here ({again.system_info})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
