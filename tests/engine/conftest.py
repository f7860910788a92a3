"""Engine test helpers: one real kernel per module, an engine factory that records events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from assistant.config import Settings
from assistant.engine.engine import Engine
from assistant.engine.events import Event
from assistant.execution import Kernel, KernelConfig
from assistant.models.scripted import ScriptedModel


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def kernel() -> AsyncIterator[Kernel]:
    k = await Kernel(KernelConfig(timeout=10, interrupt_grace=2)).start()
    yield k
    await k.shutdown()


class Recorder(list):  # type: ignore[type-arg]
    """Events as they arrive; ``kinds()`` gives their class names (TokenChunk left out)."""

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self if type(e).__name__ != "TokenChunk"]

    def of(self, cls: type) -> list[Any]:
        return [e for e in self if isinstance(e, cls)]


MakeEngine = Callable[..., tuple[Engine, ScriptedModel, Recorder]]


@pytest.fixture
def make_engine(kernel: Kernel) -> MakeEngine:
    """``make_engine(script, **engine_kwargs)`` -> (engine, scripted model, recorded events)."""

    def make(script: Any, **kwargs: Any) -> tuple[Engine, ScriptedModel, Recorder]:
        model = ScriptedModel(script, delay=kwargs.pop("delay", 0.0))
        events = Recorder()
        settings = kwargs.pop("settings", Settings(timeout=10))
        on_event: Callable[[Event], None] = events.append
        engine = Engine(model, kernel, settings=settings, on_event=on_event, **kwargs)
        return engine, model, events

    return make
