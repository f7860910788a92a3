"""``input()`` in generated code: answered by the front end, recorded, and replayed.

The engine passes these handlers to ``Kernel.execute`` (kernel with ``allow_stdin``). A live
run emits ``InputRequested`` and awaits the front end's ``EngineOptions.ask`` (the REPL asks on its
prompt line, the TUI in a dialog); the answers are kept on the candidate, and on the turn when
it is committed, so a replay (restore after a death, undo, resume) feeds them again instead of
asking twice. Without ``ask`` (batch runs: ``eval``, the pool) there is no handler: the kernel
refuses stdin and ``input()`` fails fast with StdinNotImplementedError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant.engine.events import EngineEvent, InputRequested

if TYPE_CHECKING:
    from assistant.engine.options import Ask
    from assistant.engine.session import Attempt, Candidate, Turn

Emit = Callable[[EngineEvent], None]


def live_answers(ask: Ask | None, emit: Emit, turn: Turn, attempt: Attempt, cand: Candidate) -> Any:
    if ask is None:
        return None

    async def answer(prompt: str, password: bool) -> str:
        emit(InputRequested(turn.index, attempt.index, cand.index, prompt, password))
        text = await ask(prompt, password)
        cand.inputs.append("" if password else text)  # a password never reaches the file
        return text

    return answer


def replay_answers(ask: Ask | None, emit: Emit, turn: Turn) -> Any:
    """The committed run's answers in order; past those, ask like a live run (or answer
    empty text when nobody can be asked)."""
    recorded = list(turn.inputs)
    if not recorded and ask is None:
        return None

    async def answer(prompt: str, password: bool) -> str:
        if recorded:
            return recorded.pop(0)
        if ask is not None:
            emit(InputRequested(turn.index, -1, -1, prompt, password))
            return await ask(prompt, password)
        return ""

    return answer
