"""``--model reference``: the project's MTPB reference solutions behind the Model protocol.

The answer to a request is the reference code of one turn, filled for one test case, chosen by
``Request.meta``: ``problem`` (id), ``case`` (0-4) and ``turn`` (index). With
``meta["mode"] == "single"`` (the single-turn control) it is the code of all turns joined.
``meta["inputs"]`` may carry the test case's inputs; otherwise they are read from the MTPB data
(``problems`` given, or the default data path), so the engine and the runner can both use it.

``register()`` adds the spec ``reference`` to the model registry: ``assistant.models`` may not
import the benchmark, so the benchmark registers itself (front ends call it through
``assistant.frontends.loading``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.models.base import Model, ModelError, Request
from assistant.models.registry import Backend, exact
from assistant.models.registry import register as register_backend
from assistant.models.scripted import ScriptedModel
from assistant.mtpb.problems import Problem, load_problems, resolve_path


def program_code(cells: list[str]) -> str:
    """Turn codes joined into one program (single-turn mode, exports)."""
    return "\n".join(c.rstrip("\n") + "\n" for c in cells)


class ReferenceModel(ScriptedModel):
    def __init__(
        self,
        problems: dict[str, Problem] | None = None,
        data_path: str | Path | None = None,
        chunk_size: int = 16,
        delay: float = 0.0,
    ) -> None:
        super().__init__(self._respond, name="reference", chunk_size=chunk_size, delay=delay)
        self._problems = problems
        self._data_path = data_path

    def problems(self) -> dict[str, Problem]:
        if self._problems is None:
            try:
                loaded = load_problems(resolve_path(self._data_path))
            except (AssistantError, OSError, ValueError) as exc:  # no data, unreadable file
                raise ModelError(f"reference model: cannot load MTPB data: {exc}") from exc
            self._problems = loaded.by_id()
        return self._problems

    def cells(self, problem_id: str, case: int, inputs: dict[str, Any] | None = None) -> list[str]:
        """The filled reference code of every turn of one problem and test case."""
        from assistant.mtpb.solutions import solution

        pid = str(problem_id)
        if inputs is None:
            prob = self.problems().get(pid)
            if prob is None:
                raise ModelError(f"reference model: no MTPB problem {pid}")
            if not 0 <= case < prob.cases:
                raise ModelError(f"reference model: problem {pid} has no test case {case}")
            inputs = prob.inputs[case]
        try:
            return solution(pid, inputs)
        except KeyError as exc:
            raise ModelError(f"reference model: {exc.args[0] if exc.args else exc}") from None

    def _respond(self, request: Request) -> str:
        meta = request.meta
        if "problem" not in meta:
            raise ModelError(
                "the reference model only answers MTPB turns (request meta needs 'problem', "
                "'case' and 'turn'); use it with `assistant eval`, `replay` or `demo`"
            )
        cells = self.cells(str(meta["problem"]), int(meta.get("case", 0)), meta.get("inputs"))
        if meta.get("mode") == "single":
            return program_code(cells)
        turn = int(meta.get("turn", 0))
        if not 0 <= turn < len(cells):
            raise ModelError(
                f"reference model: problem {meta['problem']} has {len(cells)} turns, not {turn + 1}"
            )
        return cells[turn]

    def describe(self) -> dict[str, Any]:
        return {"backend": "reference", "model": "MTPB reference solutions", "device": "none"}


def _reference(target: str, options: dict[str, Any]) -> Model:
    return ReferenceModel()  # settings such as n_ctx mean nothing to canned solutions


def register() -> None:
    """Make ``--model reference`` loadable through the model registry (idempotent)."""
    register_backend(Backend("reference", exact("reference"), _reference))
