"""Reference solutions for the 115 MTPB problems, written by this project.

Each module holds ``SOLUTIONS: dict[str, list[str]]``: problem id -> one code template per turn.
A placeholder ``{{name}}`` stands for the test case's input ``name`` and is replaced by the
``repr`` of its value, so one template serves all five test cases. No outputs are hard-coded:
each turn's code does what its prompt says.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@cache
def all_solutions() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("p"):
            mod = importlib.import_module(f"{__name__}.{info.name}")
            out.update(mod.SOLUTIONS)
    return out


def fill(template: str, inputs: dict[str, Any]) -> str:
    """Replace ``{{name}}`` by ``repr(inputs[name])``; unknown names are an error."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in inputs:
            raise KeyError(
                f"reference solution uses {{{{{name}}}}} but the inputs have no '{name}'"
            )
        return repr(inputs[name])

    return _PLACEHOLDER.sub(sub, template)


def solution(problem_id: str, inputs: dict[str, Any]) -> list[str]:
    """The reference code of every turn of a problem, filled for one test case."""
    sols = all_solutions()
    if problem_id not in sols:
        raise KeyError(f"no reference solution for MTPB problem {problem_id}")
    return [fill(t, inputs) for t in sols[problem_id]]
