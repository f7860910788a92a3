"""The model side of an attempt: a backend call in a worker thread, streamed back in chunks.

Backends block (llama.cpp decodes in C; an HTTP backend waits on a socket), so they run in a
thread while the event loop keeps the UI alive; ``cancel`` is checked between tokens.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from assistant.models.base import Completion, Model, Request

# (candidate index, text) for each piece of text as the backend produces it.
OnChunk = Callable[[int, str], None]


async def generate_in_thread(
    model: Model, request: Request, n: int, on_chunk: OnChunk, cancel: threading.Event
) -> list[Completion]:
    """``n`` completions of ``request``; ``on_chunk`` is called from the worker thread."""
    if request.prime:
        for i in range(n):
            on_chunk(i, request.prime)
    if n == 1:
        comp = await asyncio.to_thread(model.generate, request, lambda t: on_chunk(0, t), cancel)
        comps = [comp]
    else:
        comps = await asyncio.to_thread(model.sample, request, n, on_chunk, cancel)
    if request.prime:  # the answer's start was given, not generated: put it back
        for comp in comps:
            if request.prime.strip() not in comp.text:  # (canned answers may have it)
                comp.text = request.prime + comp.text
    return comps
