"""End to end on the real llama.cpp backend: a tiny random GGUF, a real kernel, refinement.

Random weights write nonsense, so each generation is forced with a grammar chosen by the
request's meta (turn, attempt); everything else is real: tokenization, prefix reuse of the KV
cache across turns and refinements, streaming, log-probs.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import gguf  # noqa: F401 - required dependencies: missing is a failure, never a skip
import llama_cpp  # noqa: F401
import pytest

from assistant.config import Settings
from assistant.engine.engine import Engine
from assistant.engine.events import CodeReady, Event, TokenChunk
from assistant.models.base import Completion, OnText, Request

pytestmark = [pytest.mark.kernel, pytest.mark.llama, pytest.mark.asyncio(loop_scope="module")]

SCRIPT = {
    (0, 0): "ll = [1, 2, 3]",
    (1, 0): "print(ll[5])",
    (1, 1): "print(sum(ll))",
}


class ForcedByMeta:
    """The real backend, with each answer forced by a grammar picked from the request's meta."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.name = model.name
        self.requests: list[Request] = []
        self.completions: list[Completion] = []

    def generate(
        self, request: Request, on_text: OnText | None = None, cancel: threading.Event | None = None
    ) -> Completion:
        from assistant.models.tiny_gguf import exact_grammar

        key = (request.meta["turn"], request.meta["attempt"])
        request.grammar = exact_grammar(SCRIPT[key])
        self.requests.append(request)
        comp: Completion = self.model.generate(request, on_text, cancel)
        self.completions.append(comp)
        return comp

    def sample(self, *args: Any, **kwargs: Any) -> list[Completion]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return dict(self.model.describe())

    def close(self) -> None:
        self.model.close()


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from assistant.models.llama import LlamaModel
    from assistant.models.tiny_gguf import write_tiny_gguf

    path = write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")
    m = LlamaModel(Path(path), n_ctx=1024, n_threads=1)
    yield m
    m.close()


async def test_multi_turn_with_refinement_on_llama_cpp(kernel, llama) -> None:
    model = ForcedByMeta(llama)
    events: list[Event] = []
    engine = Engine(model, kernel, Settings(timeout=10, max_tokens=48), on_event=events.append)
    t0 = await engine.run_turn("Make a list ll of 1, 2, 3.")
    t1 = await engine.run_turn("Print the sum of ll.", expect=6)
    assert (t0.status, t0.code) == ("passed", "ll = [1, 2, 3]")
    assert t1.status == "passed" and t1.code == "print(sum(ll))"
    assert "IndexError" in t1.attempts[0].candidates[0].feedback
    # streamed chunks add up to what the backend returned
    for attempt in (0, 1):
        chunks = "".join(
            e.text
            for e in events
            if isinstance(e, TokenChunk) and e.turn == 1 and e.attempt == attempt
        )
        ready = [
            e for e in events if isinstance(e, CodeReady) and e.turn == 1 and e.attempt == attempt
        ]
        assert chunks == ready[0].raw
    # one candidate: no ranker reads log-probs, so none were asked for (issue 22 item 6)
    assert not any(r.logprobs for r in model.requests)
    assert not any(c.token_logprobs for c in model.completions)
    # append-only prompts: turn 1 and its refinement reuse the cached prefix
    p0, p1, p2 = (r.prompt for r in model.requests)
    assert p1.startswith(p0 + "ll = [1, 2, 3]\n") and p2.startswith(p1)
    assert model.completions[1].stats.prompt_reused > 0
    assert model.completions[2].stats.prompt_reused >= model.completions[1].stats.prompt_tokens - 2
