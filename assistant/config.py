"""Typed settings: defaults < TOML config file < ASSISTANT_* environment < command-line flags.

The config file lives at ``<config dir>/config.toml`` (``ASSISTANT_HOME`` moves it, like every
other file of the app). Unknown keys and wrong types are errors that name the file and key.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant import paths
from assistant.errors import AssistantError

if TYPE_CHECKING:
    from assistant.execution.config import KernelConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(AssistantError):
    """The config file, an ASSISTANT_* variable or a flag is wrong; the message names which."""


@dataclass(frozen=True)
class Settings:
    # model
    model: str | None = None  # see assistant.models.load_model for the spec grammar
    chat: bool | None = None  # None: chat template when the model has one and says "instruct"
    n_ctx: int = 4096
    n_gpu_layers: int | None = None  # None: all layers when the build has CUDA/Metal, else 0
    threads: int | None = None
    # sampling
    temperature: float = 0.2
    top_p: float = 0.95
    max_tokens: int = 256
    seed: int = 0
    candidates: int = 1  # n candidates sampled per attempt, ranked
    ranker: str = "execution"  # "execution" (tests, errors, log-prob) | "mbr-exec"
    # refinement
    attempts: int = 3  # total attempts per turn (first try + refinements)
    refine_prompt: str = "auto"  # "auto" (measured best) | "plain" | "primed" | "hint" | "retry"
    # checks read from each interactive turn's words (engine/derived.py)
    derived_checks: bool = True
    # the kernel's user variables in interactive prompts (engine/state.py); None: the measured
    # default of the prompt style (engine/state.py, STATE_DEFAULT)
    prompt_state: bool | None = None
    # execution
    timeout: float = 20.0  # seconds per cell
    kernel: str | None = None  # a Jupyter kernelspec name; None: the app's own Python
    workdir: str | None = None  # the kernel's cwd; None: a scratch folder per session
    memory_mb: int | None = 4096  # address-space limit in the kernel
    max_procs: int | None = 256  # process limit in the kernel (fork bombs)
    background: bool = False  # keep processes a cell leaves running (else killed at its end)
    cpu_seconds: float | None = None  # CPU seconds per cell (None: the wall-clock timeout only)
    output_limit: int = 1_000_000  # bytes of output kept per cell
    sandbox: str = "auto"  # "auto" (bwrap when it works here, else none) | "none" | "bwrap"
    # Variables of the app's environment that generated code may see, on top of what Python
    # needs (execution/environment.py); credentials (*_KEY, *_TOKEN...) are refused.
    env_passthrough: tuple[str, ...] = ()
    # ui
    autosave: bool = True
    demo_delay: float = 0.02  # seconds between streamed chunks in the demo
    # agent mode (``assistant acp``): "ask" the client before code runs, or run it "always"
    acp_permission: str = "ask"

    def kernel_config(self) -> KernelConfig:
        from assistant.execution.config import KernelConfig, Limits

        limits: Limits = {}
        if self.memory_mb:
            limits["memory_mb"] = self.memory_mb
        if self.max_procs:
            limits["max_procs"] = self.max_procs
        if self.cpu_seconds:
            limits["cpu_seconds"] = self.cpu_seconds
        if self.background:
            limits["background"] = True
        return KernelConfig(
            kernel_name=self.kernel,
            timeout=self.timeout,
            output_limit=self.output_limit,
            workdir=Path(self.workdir).expanduser() if self.workdir else None,
            limits=limits,
            sandbox=self.sandbox,
            env_passthrough=self.env_passthrough,
        )


_FIELDS = {f.name: f for f in fields(Settings)}


def config_file() -> Path:
    return paths.config_dir() / "config.toml"


def _coerce(name: str, value: Any, where: str) -> Any:
    default = getattr(Settings(), name)
    ftype = str(_FIELDS[name].type)
    try:
        if ftype.startswith("tuple"):
            items = value.replace(",", " ").split() if isinstance(value, str) else value
            if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
                raise ValueError("expected a list of names")
            from assistant.execution.environment import check_passthrough

            return tuple(check_passthrough(items))
        if isinstance(value, str) and not ftype.startswith("str"):
            low = value.strip().lower()
            if low in ("", "none", "null"):
                if "None" in ftype:
                    return None
                raise ValueError("empty")
            if "bool" in ftype:
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            if "int" in ftype:
                return int(value)
            if "float" in ftype:
                return float(value)
        if "float" in ftype and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if value is not None and default is not None and not isinstance(value, type(default)):
            raise ValueError(f"expected {type(default).__name__}")
        return value
    except ValueError as exc:
        raise ConfigError(f"{where}: bad value for '{name}': {value!r} ({exc})") from None


def load(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from the config file (if any), the environment, then ``overrides`` (flags)."""
    values: dict[str, Any] = {}
    path = path or config_file()
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        for key, value in data.items():
            name = key.replace("-", "_")
            if name not in _FIELDS:
                raise ConfigError(f"{path}: unknown setting '{key}' (known: {', '.join(_FIELDS)})")
            values[name] = _coerce(name, value, str(path))
    for name in _FIELDS:
        env = os.environ.get("ASSISTANT_" + name.upper())
        if env is not None:
            values[name] = _coerce(name, env, f"environment ASSISTANT_{name.upper()}")
    for name, value in (overrides or {}).items():
        if value is not None and name in _FIELDS:
            values[name] = _coerce(name, value, "command line")
    settings = replace(Settings(), **values)
    for name, allowed in _CHOICES.items():
        if getattr(settings, name) not in allowed:
            raise ConfigError(
                f"bad value for '{name}': {getattr(settings, name)!r} (one of: {', '.join(allowed)})"
            )
    return settings


# Kept here (not imported from ranking.py) so loading settings stays light; a test checks
# that the names match the registry.
_CHOICES = {
    "ranker": ("execution", "mbr-exec"),
    "sandbox": ("auto", "none", "bwrap"),
    "refine_prompt": ("auto", "plain", "primed", "hint", "retry"),
    "acp_permission": ("ask", "always"),
}
