"""One error root: every exception the package raises on purpose is an AssistantError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import assistant
from assistant.errors import AssistantError

pytestmark = pytest.mark.unit

# Not errors to show: control flow (the user cancelled), or private retry signals.
NOT_ERRORS = {
    "assistant.models.base.Cancelled",
    "assistant.execution.cell.InputCancelled",  # the user cancelled an input() prompt
    "assistant.models.openai_compat._Failed",
    "assistant.models.openai_stream.Cut",  # a cut stream, asked again (then a ServerError)
}


def _package_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(assistant.__path__, "assistant."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == info.name:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_deliberate_exception_derives_from_assistant_error() -> None:
    found = _package_exceptions()
    names = {n.rsplit(".", 1)[1] for n in found}
    assert {"ConfigError", "CommandError", "ModelError", "KernelDied", "SessionCorrupt"} <= names
    assert {"DataNotFound", "DownloadError", "SimilarityUnavailable", "SandboxError"} <= names
    outside = [n for n, c in found.items() if not issubclass(c, AssistantError)]
    assert sorted(outside) == sorted(NOT_ERRORS)
    assert not issubclass(found["assistant.models.base.Cancelled"], AssistantError)


def test_old_bases_are_kept_for_callers_that_catch_them() -> None:
    from assistant.frontends.commands import CommandError
    from assistant.mtpb.similarity import SimilarityUnavailable

    assert issubclass(CommandError, ValueError)
    assert issubclass(SimilarityUnavailable, RuntimeError)
