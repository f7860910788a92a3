"""The model registry: spec grammar, typed backend options, and ``reference`` from MTPB."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.models import BackendOptions, ModelError, backend_options, engine_style, registry
from assistant.models.scripted import ScriptedModel

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("spec", "backend", "target"),
    [
        ("scripted:/tmp/s.json", "scripted", "/tmp/s.json"),
        ("openai:http://h:1/v1#m", "openai", "http://h:1/v1#m"),
        ("smollm2-135m", "builtin", "smollm2-135m"),
        (" gemma3-270m ", "builtin", "gemma3-270m"),
        ("hf:org/repo/f.gguf", "hf", "org/repo/f.gguf"),
        ("llama:/m/x.bin", "llama", "/m/x.bin"),
        ("/m/x.gguf", "llama", "/m/x.gguf"),
    ],
)
def test_specs_resolve_as_documented(spec: str, backend: str, target: str) -> None:
    found, got = registry.resolve(spec)
    assert (found.name, got) == (backend, target)


def test_unknown_spec_message_is_unchanged() -> None:
    with pytest.raises(ModelError) as err:
        registry.resolve("gpt-17")
    assert str(err.value) == (
        "unknown model spec 'gpt-17': use 'reference', 'smollm2-135m', 'gemma3-270m', "
        "'scripted:FILE.json', 'PATH.gguf', 'hf:REPO/FILE.gguf' or "
        "'openai:http://HOST:PORT/v1#MODEL'"
    )


def test_reference_without_its_registration_says_who_provides_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kept = [b for b in registry._BACKENDS if b.name != "reference"]
    monkeypatch.setattr(registry, "_BACKENDS", kept)
    with pytest.raises(ModelError, match=r"'reference' has no backend registered.*mtpb"):
        registry.load_model("reference")


def test_front_end_loading_registers_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.frontends.loading import load_model_for

    kept = [b for b in registry._BACKENDS if b.name != "reference"]
    monkeypatch.setattr(registry, "_BACKENDS", kept)
    model = load_model_for(Settings(model="reference", n_ctx=99))
    assert model.name == "reference" and model.describe()["backend"] == "reference"
    assert registry.registered().count("reference") == 1
    load_model_for(Settings(), "reference")  # registering again replaces, never duplicates
    assert registry.registered().count("reference") == 1


def test_models_never_import_the_benchmark() -> None:
    code = (
        "import sys, assistant.models, assistant.models.registry\n"
        "assert not [m for m in sys.modules if m.startswith('assistant.mtpb')], sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_options_come_from_settings_typed() -> None:
    s = Settings(chat=False, n_ctx=512, n_gpu_layers=0, threads=2, seed=7)
    opts = backend_options(s)
    assert opts == BackendOptions(chat=False, n_ctx=512, n_gpu_layers=0, threads=2, seed=7)
    with pytest.raises(AttributeError):
        opts.n_ctx = 1  # type: ignore[misc]
    # each backend takes what it declares; unset (None) fields keep the backend's default
    assert opts.kwargs(("chat",)) == {"chat": False}
    assert BackendOptions(n_ctx=64).kwargs(registry.ALL_OPTIONS) == {"n_ctx": 64}


def test_each_backend_gets_only_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, dict[str, Any]] = {}

    def spy(name: str) -> Any:
        def factory(target: str, options: dict[str, Any]) -> Any:
            seen[name] = options
            return ScriptedModel({"turns": []}, name=name)

        return factory

    backends = [registry.Backend(b.name, b.match, spy(b.name), b.takes) for b in registry._BACKENDS]
    monkeypatch.setattr(registry, "_BACKENDS", backends)
    s = Settings(chat=True, n_ctx=512, threads=2, seed=7)
    for spec in ("scripted:x.json", "openai:http://h/v1", "m.gguf"):
        registry.load_model_for(s, spec)
    registry.load_model("hf:o/r/f.gguf", BackendOptions(n_ctx=8), cache_dir="/c")
    assert seen["scripted"] == {}
    assert seen["openai"] == {"chat": True}
    assert seen["llama"] == {"chat": True, "n_ctx": 512, "threads": 2, "seed": 7}
    assert seen["hf"] == {"n_ctx": 8, "cache_dir": "/c"}  # extra keywords pass through


def test_no_model_configured() -> None:
    with pytest.raises(ModelError, match="no model configured"):
        registry.load_model_for(Settings())


def test_a_package_can_add_a_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_BACKENDS", list(registry._BACKENDS))
    made = ScriptedModel({"turns": ["x = 1\n"]}, name="echo")
    registry.register(registry.Backend("echo", registry.prefix("echo:"), lambda t, o: made))
    assert registry.load_model("echo:anything") is made


def test_engine_style() -> None:
    chatty = ScriptedModel({"turns": []})
    chatty.chat = True  # type: ignore[attr-defined]
    plain = ScriptedModel({"turns": []})
    assert engine_style(chatty, None) == "chat" and engine_style(plain, None) == "completion"
    assert engine_style(chatty, False) == "completion" and engine_style(plain, True) == "chat"
