"""Checks of a turn's result: error, assert tests, expected printed value; did a cell run.

A candidate passes when it has code (``has_code``: not empty, not only comments or
docstrings: small models often just continue the prompt's comments), ran without error, every test (an assert line
run after it in the same kernel) passes, and its last printed object matches the expected
value when one is set. The feedback says why not, in the words the refinement prompt uses.

The engine compares the first argument of the cell's last ``print`` (as the kernel's print
capture reports it: JSON-safe value plus repr) with what the user expects. Numbers compare
within a relative 1e-6; tuples and sets compare as the lists the capture turns them into.
MTPB grading plugs its own, stricter equivalence in through ``EngineOptions.matcher``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

from assistant.engine import prompting
from assistant.engine.events import CheckFinished
from assistant.engine.session import Attempt, Candidate, Turn
from assistant.execution.kernel import Kernel
from assistant.execution.result import ExecResult, Printed

NO_CODE = "the model wrote no code"


def is_no_code(code: str) -> bool:
    """True when ``code`` does nothing: empty, only comments, or only bare string literals.

    Code that does not parse is code (it fails when run, with a useful error).
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return all(
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for node in tree.body
    )


def no_code_result() -> ExecResult:
    """The result recorded for a candidate with no code: it is not run, and it fails."""
    return ExecResult(status="error", message=NO_CODE)


async def check_candidate(
    kernel: Kernel,
    turn: Turn,
    cand: Candidate,
    matcher: Callable[[Any, Printed | None], bool],
    timeout: float,
) -> None:
    """Set ``cand.passed``, ``tests_passed/total`` and ``feedback`` from its result."""
    res = cand.result
    assert res is not None
    cand.tests_total = len(turn.tests)
    cand.tests_passed = 0
    problems: list[str] = []
    cand.no_code = is_no_code(cand.code)
    if cand.no_code:
        problems.append(NO_CODE)
    elif not res.ok:
        problems.append(prompting.error_feedback(res))
    else:
        for test in turn.tests:
            tres = await kernel.execute(test, timeout=timeout)
            if tres.ok:
                cand.tests_passed += 1
            elif len(problems) < 3:  # a few failures tell the model enough
                problems.append(f"Test failed: {test}\n{prompting.error_feedback(tres)}")
        if turn.has_expect and not matcher(turn.expect, res.last_printed):
            shown = res.last_printed.repr if res.last_printed is not None else None
            problems.append(prompting.mismatch_feedback(turn.expect, shown))
    cand.passed = not problems
    cand.feedback = "\n".join(problems)


def check_event(turn: Turn, attempt: Attempt, cand: Candidate) -> CheckFinished:
    return CheckFinished(
        turn.index,
        attempt.index,
        cand.index,
        cand.passed,
        cand.feedback,
        cand.tests_passed,
        cand.tests_total,
        cand.no_code,
    )


def _json_like(value: Any) -> Any:
    """The shape the kernel's print capture gives a value (tuples/sets as lists, ...)."""
    if isinstance(value, (list, tuple)):
        return [_json_like(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [_json_like(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _json_like(v) for k, v in value.items()}
        return {"__pairs__": [[_json_like(k), _json_like(v)] for k, v in value.items()]}
    if hasattr(value, "tolist") and type(value).__module__.split(".")[0] in ("numpy", "pandas"):
        return _json_like(value.tolist())
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def values_match(expected: Any, printed: Printed | None) -> bool:
    """Does the cell's last printed object equal ``expected``? Numbers within 1e-6."""
    if printed is None:
        return False
    if printed.json and _same(_json_like(expected), printed.value):
        return True
    return printed.repr in (repr(expected), str(expected))


def did_not_compile(code: str, res: ExecResult) -> bool:
    """The kernel rejected the cell at compile time (and so did this Python)."""
    if res.status != "error" or res.error is None:
        return False
    if res.error.ename not in ("SyntaxError", "IndentationError", "TabError"):
        return False
    try:
        compile(code, "<cell>", "exec", flags=ast.PyCF_ONLY_AST)
    except (SyntaxError, ValueError):
        return True
    return False  # it compiles here: the error came from running code (eval, exec...)
