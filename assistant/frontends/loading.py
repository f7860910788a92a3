"""How every front end loads a model: all backends registered, then the user's options.

``assistant.models`` holds the generic backends; the MTPB package, above it, registers
``reference`` itself. This is where the two meet, so the TUI, the REPL, ``/model`` and
``assistant info`` resolve the same specs (``eval`` and ``replay`` register it too, in
``assistant.mtpb.cli``).
"""

from __future__ import annotations

from assistant.config import Settings
from assistant.models import Model
from assistant.models import load_model_for as _load_model_for


def register_backends() -> None:
    """Register the backends that live above ``assistant.models`` (idempotent)."""
    from assistant.mtpb.reference import register

    register()


def load_model_for(settings: Settings, spec: str | None = None) -> Model:
    """The model ``spec`` (default: ``settings.model``) names, with the user's n_ctx, threads,
    GPU layers, seed and --chat; ModelError with a message to show when it cannot load."""
    register_backends()
    return _load_model_for(settings, spec)
