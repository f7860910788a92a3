"""Model specs to backends: one table searched in order, typed options, lazy imports.

A backend is a matcher (an exact name, a prefix, or a test of the whole spec), the
``BackendOptions`` fields it takes and a factory. Factories import their module when called, so
naming a backend costs nothing until it loads (``assistant --help`` imports none of this).

This package registers the backends it holds (scripted, openai, built-in GGUFs, hf, llama).
Packages above it add their own with ``register``: the MTPB package registers ``reference``
(``assistant.mtpb.reference.register``), because ``assistant.models`` must not import the
benchmark. Front ends load models through ``assistant.frontends.loading``, which makes sure of
that registration first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Literal, Protocol

from assistant.models.base import Model, ModelError

PromptStyle = Literal["completion", "chat"]

# (target, keyword options) -> a model; the target is the spec without its prefix
Factory = Callable[[str, dict[str, Any]], Model]
# spec -> target, or None when the spec is not this backend's
Matcher = Callable[[str], str | None]

# Specs documented in the grammar whose backend lives in a package above this one: what to say
# when a program loads one without that package's registration.
PROVIDED_ABOVE = {
    "reference": "the MTPB package provides it: call assistant.mtpb.reference.register() "
    "first (front ends do, through assistant.frontends.loading)",
}


@dataclass(frozen=True)
class BackendOptions:
    """What the user's settings tell a backend, the same for every front end.

    ``None`` means the backend's own default. Each backend takes only the fields it declares
    (a server gets ``chat`` only: its context and threads are the server's business).
    """

    chat: bool | None = None
    n_ctx: int | None = None
    n_gpu_layers: int | None = None
    threads: int | None = None
    seed: int | None = None

    def kwargs(self, names: tuple[str, ...]) -> dict[str, Any]:
        """The named fields that are set, as keyword arguments for a backend."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name in names}
        return {k: v for k, v in values.items() if v is not None}


ALL_OPTIONS = tuple(f.name for f in fields(BackendOptions))  # what a llama.cpp backend takes


class ModelSettings(Protocol):
    """The fields of ``assistant.config.Settings`` that concern a backend (a protocol: the
    config module sits outside this layer)."""

    @property
    def model(self) -> str | None: ...
    @property
    def chat(self) -> bool | None: ...
    @property
    def n_ctx(self) -> int: ...
    @property
    def n_gpu_layers(self) -> int | None: ...
    @property
    def threads(self) -> int | None: ...
    @property
    def seed(self) -> int: ...


def backend_options(settings: ModelSettings) -> BackendOptions:
    """The one place Settings become backend options (n_ctx, GPU layers, threads, seed, chat)."""
    return BackendOptions(
        chat=settings.chat,
        n_ctx=settings.n_ctx,
        n_gpu_layers=settings.n_gpu_layers,
        threads=settings.threads,
        seed=settings.seed,
    )


@dataclass(frozen=True)
class Backend:
    name: str
    match: Matcher
    factory: Factory
    takes: tuple[str, ...] = ()  # BackendOptions fields passed on

    def build(self, target: str, options: BackendOptions, extra: dict[str, Any]) -> Model:
        return self.factory(target, {**options.kwargs(self.takes), **extra})


def exact(name: str) -> Matcher:
    return lambda spec: "" if spec == name else None


def prefix(start: str) -> Matcher:
    return lambda spec: spec[len(start) :] if spec.startswith(start) else None


_BACKENDS: list[Backend] = []


def register(backend: Backend) -> None:
    """Add a backend after those registered so far, or replace the one of the same name in
    place (registering twice is harmless)."""
    for i, known in enumerate(_BACKENDS):
        if known.name == backend.name:
            _BACKENDS[i] = backend
            return
    _BACKENDS.append(backend)


def registered() -> list[str]:
    return [b.name for b in _BACKENDS]


def resolve(spec: str) -> tuple[Backend, str]:
    """The backend a spec names and its target; ModelError for a spec nothing claims."""
    spec = spec.strip()
    for backend in _BACKENDS:
        target = backend.match(spec)
        if target is not None:
            return backend, target
    if spec in PROVIDED_ABOVE:
        hint = PROVIDED_ABOVE[spec]
        raise ModelError(f"model spec {spec!r} has no backend registered in this program: {hint}")
    from assistant.models.builtin import BUILTINS

    raise ModelError(
        f"unknown model spec {spec!r}: use 'reference', {', '.join(map(repr, BUILTINS))}, "
        "'scripted:FILE.json', 'PATH.gguf', "
        "'hf:REPO/FILE.gguf' or 'openai:http://HOST:PORT/v1#MODEL'"
    )


def load_model(spec: str, options: BackendOptions | None = None, **extra: Any) -> Model:
    """Build a backend from a spec string.

    ``options`` are the user's settings (each backend takes the fields it declares); ``extra``
    keyword arguments go to the backend as they are (tests and benchmarks: ``retries=1``...).
    """
    backend, target = resolve(spec)
    return backend.build(target, options or BackendOptions(), extra)


def load_model_for(settings: ModelSettings, spec: str | None = None) -> Model:
    """Load the model a Settings object names (or ``spec``), with its backend options."""
    spec = spec or settings.model
    if not spec:
        raise ModelError("no model configured: pass --model SPEC or set `model` in the config")
    return load_model(spec, backend_options(settings))


def engine_style(model: Model, chat: bool | None) -> PromptStyle:
    """Chat or completion prompts: ``chat`` (--chat/--no-chat) when set, else what the model
    says it is (a llama model is a chat model when its GGUF carries a chat template)."""
    if chat is not None:
        return "chat" if chat else "completion"
    return "chat" if getattr(model, "chat", False) is True else "completion"


# -- the backends of this package (searched in this order) ------------------------------------
def _scripted(target: str, options: dict[str, Any]) -> Model:
    from assistant.models.scripted import ScriptedModel

    return ScriptedModel.from_file(target)


def _openai(target: str, options: dict[str, Any]) -> Model:
    from assistant.models.openai_compat import OpenAIModel

    url, _, model = target.partition("#")
    return OpenAIModel(base_url=url, model=model or None, **options)


def _is_builtin(spec: str) -> str | None:
    from assistant.models.builtin import BUILTINS

    return spec if spec in BUILTINS else None


def _builtin(target: str, options: dict[str, Any]) -> Model:
    from assistant.models.builtin import ensure
    from assistant.models.llama import LlamaModel

    return LlamaModel(ensure(target), name=target, **options)


def _hub(target: str, options: dict[str, Any]) -> Model:
    from assistant.models.llama import LlamaModel

    return LlamaModel.from_hub(target, **options)


def _gguf_path(spec: str) -> str | None:
    if spec.startswith("llama:"):
        return spec.split(":", 1)[1]
    return spec if spec.endswith(".gguf") else None


def _llama(target: str, options: dict[str, Any]) -> Model:
    from assistant.models.llama import LlamaModel

    return LlamaModel(target, **options)


for _backend in (
    Backend("scripted", prefix("scripted:"), _scripted),
    Backend("openai", prefix("openai:"), _openai, takes=("chat",)),
    Backend("builtin", _is_builtin, _builtin, takes=ALL_OPTIONS),
    Backend("hf", prefix("hf:"), _hub, takes=ALL_OPTIONS),
    Backend("llama", _gguf_path, _llama, takes=ALL_OPTIONS),
):
    register(_backend)
