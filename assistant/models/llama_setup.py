"""Loading llama-cpp-python and checking a GGUF file before it is handed to llama.cpp.

Every failure users commonly hit (no llama-cpp-python, a CPU-only build while asking for the
GPU, a truncated download, an HTML error page saved as .gguf, a format too new) becomes a
ModelError or warning that names the fix.
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path
from typing import Any

from assistant.models.base import ModelError

GPU_HINT = (
    'CMAKE_ARGS="-DGGML_CUDA=on" (NVIDIA) or CMAKE_ARGS="-DGGML_METAL=on" (Apple) '
    "pip install --force-reinstall --no-cache-dir llama-cpp-python"
)
INSTALL_HINT = (
    "install it with `pip install llama-cpp-python` (it builds from source: needs a C "
    f"compiler and CMake); for GPU offload: {GPU_HINT}"
)
# Names llama.cpp gives its GPU backends in the system info line, and what to call them.
_GPU_NAMES = {"CUDA": "CUDA", "ROCm": "ROCm", "HIP": "ROCm", "Metal": "Metal", "MTL": "Metal",
              "Vulkan": "Vulkan", "SYCL": "SYCL", "OpenCL": "OpenCL", "CANN": "CANN",
              "MUSA": "MUSA"}  # fmt: skip


def import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelError(f"llama-cpp-python is not available ({exc}); {INSTALL_HINT}") from None
    return llama_cpp


def check_gguf(path: str | Path) -> Path:
    """The resolved path, or a ModelError saying why it cannot be a loadable GGUF file."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelError(
            f"model file not found: {p} (give the path of a .gguf file, or hf:OWNER/REPO/FILE.gguf "
            "to download one)"
        )
    if p.is_dir():
        raise ModelError(f"{p} is a folder; give the path of a .gguf file inside it")
    with p.open("rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise ModelError(
            f"{p} is not a GGUF file (it starts with {magic!r}, not b'GGUF'): it may be an "
            "unfinished download, an HTML error page, or an old GGML/.bin or safetensors model; "
            "download a .gguf file (or convert with llama.cpp's convert_hf_to_gguf.py)"
        )
    return p.absolute()  # not resolve(): hub cache files are symlinks to hash-named blobs


def gpu_backend(llama_cpp: Any) -> str | None:
    """The GPU backend this llama-cpp-python build offloads to (None: CPU-only build)."""
    if not llama_cpp.llama_supports_gpu_offload():
        return None
    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    for part in info.split("|"):
        key = part.split(":")[0].strip()
        if key in _GPU_NAMES:
            return _GPU_NAMES[key]
    return "GPU"


def cpu_features(llama_cpp: Any) -> str:
    """The CPU instruction sets this build uses (llama.cpp's system info, enabled ones only)."""
    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    on = []
    for part in info.split("|"):
        key, _, value = part.rpartition("=")
        key = key.split(":")[-1].strip()
        if key and value.strip() == "1":
            on.append(key)
    return " ".join(on)


class LoadLog:
    """Collects llama.cpp's error lines while a model loads (they explain the failure)."""

    def __init__(self, llama_cpp: Any, echo: bool = False) -> None:
        self.llama_cpp = llama_cpp
        self.lines: list[str] = []

        def record(level: int, text: bytes, _user: Any) -> None:
            line = text.decode("utf-8", "replace")
            if echo:  # verbose=True: the user wants llama.cpp's own log
                sys.stderr.write(line)
            if level in (3, 4):  # GGML_LOG_LEVEL_WARN, GGML_LOG_LEVEL_ERROR
                self.lines.append(line.strip())

        self._callback = llama_cpp.llama_log_callback(record)

    def __enter__(self) -> LoadLog:
        self.llama_cpp.llama_log_set(self._callback, ctypes.c_void_p(0))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            from llama_cpp._logger import llama_log_callback
        except ImportError:  # pragma: no cover - private module moved
            return
        self.llama_cpp.llama_log_set(llama_log_callback, ctypes.c_void_p(0))
