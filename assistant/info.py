"""``assistant info``: settings, paths, the model backend and whether GPU offload is available.

This is the first thing to run when a model is slow: it says whether llama-cpp-python was
built with CUDA/Metal and how many layers the configured model offloads.
"""

from __future__ import annotations

import argparse
import platform
import sys
from dataclasses import asdict

from assistant import __version__, paths
from assistant.config import Settings, config_file


def gpu_support() -> str:
    try:
        from assistant.models.llama_setup import GPU_HINT, gpu_backend, import_llama_cpp

        llama_cpp = import_llama_cpp()
    except Exception as exc:  # ModelError or an incomplete install: say so, do not crash
        return f"llama-cpp-python unavailable: {exc}"
    backend = gpu_backend(llama_cpp)
    version = getattr(llama_cpp, "__version__", "?")
    if backend:
        return f"llama-cpp-python {version}: {backend} build (GPU offload available)"
    return f"llama-cpp-python {version}: CPU-only build. {GPU_HINT}"


def cpu_support() -> list[str]:
    """The CPU features the llama.cpp build uses and the result of its self-check."""
    try:
        from assistant.models.buildcheck import check_build, fix_hint
        from assistant.models.llama_setup import cpu_features, import_llama_cpp

        llama_cpp = import_llama_cpp()
    except Exception:  # reported under "GPU support" already
        return ["llama.cpp not available"]
    from assistant.models.base import ModelError

    lines = [f"llama.cpp CPU features  {cpu_features(llama_cpp) or 'none reported'}"]
    try:
        result = check_build()
    except ModelError as exc:
        return [*lines, f"build check             FAILED: {exc}"]
    if result.get("skipped"):
        status = "skipped (ASSISTANT_BUILD_CHECK=0)"
    elif result.get("ok"):
        status = "ok: runs quantized models on this CPU (checked once per build)"
    else:
        status = f"inconclusive: {result.get('reason', '?')}; if models crash, {fix_hint()}"
    return [*lines, f"build check             {status}"]


def main(args: argparse.Namespace, settings: Settings) -> int:
    print(f"assistant {__version__} · Python {platform.python_version()} · {sys.platform}")
    print("\npaths")
    print(f"  config file  {config_file()}{'' if config_file().exists() else '  (not present)'}")
    print(f"  sessions     {paths.sessions_dir()}")
    print(f"  cache        {paths.cache_dir()}")
    print("\nsettings")
    for key, value in asdict(settings).items():
        print(f"  {key:<16}{value!r}")
    print("\nexecution")
    from assistant.execution.sandbox import notice

    print("  " + notice(settings.sandbox, settings.kernel))
    print("\nGPU support")
    print("  " + gpu_support())
    print("\nCPU")
    for line in cpu_support():
        print("  " + line)
    print("\nmodel")
    if not settings.model:
        print("  none configured (use --model or `model = ...` in the config file)")
        return 0
    from assistant.frontends.loading import load_model_for
    from assistant.frontends.textview import describe_line
    from assistant.models import ModelError

    try:
        model = load_model_for(settings)
    except (ModelError, OSError) as exc:
        print(f"  {settings.model}: cannot load: {exc}")
        return 1
    try:
        print("  " + describe_line(model.describe()).replace("\n", "\n  "))
    finally:
        model.close()
    return 0
