"""Checks of a turn's result: error, assert tests, expected printed value; did a cell run.

A candidate passes when it has code (``has_code``: not empty, not only comments or
docstrings: small models often just continue the prompt's comments), ran without error, every test (an assert line
run after it in the same kernel) passes, and its last printed object matches the expected
value when one is set. The feedback says why not, in the words the refinement prompt uses.

The engine compares the first argument of the cell's last ``print`` (as the kernel's print
capture reports it: JSON-safe value plus repr) with what the user expects. Numbers compare
within a relative 1e-6; tuples and sets compare as the lists the capture turns them into.
MTPB grading plugs its own, stricter equivalence in through ``EngineOptions.matcher``.

Checks derived from the turn's words (``derived.py``, on ``Turn.derived``) run after the
tests, in the same kernel state, and count like them; ``verdict_label`` says which kinds of
check a verdict rests on, so "passed" is never shown for code that nothing checked.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

from assistant.engine import derived_probe, prompting
from assistant.engine.derived import DerivedCheck
from assistant.engine.events import CheckFinished
from assistant.engine.session import Attempt, Candidate, Turn
from assistant.execution.result import ExecResult, Printed
from assistant.execution.runtime import Runtime

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
    kernel: Runtime,
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
    checks = [DerivedCheck.from_dict(d) for d in turn.derived]
    cand.derived_total, cand.derived_passed = len(checks), 0
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
        if checks:
            verdicts = await derived_probe.evaluate(kernel, checks, res)
            if not verdicts:  # the probe could not run: these checks cannot count
                cand.derived_total = 0
            cand.derived_passed = sum(ok for ok, _ in verdicts)
            problems += [why for ok, why in verdicts if not ok]
    cand.passed = not problems
    cand.feedback = "\n".join(problems)
    cand.label = verdict_label(turn, cand)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def verdict_label(turn: Turn, cand: Candidate) -> str:
    """A verdict in words that says what it rests on: user tests, the expected value and
    derived checks apart, and "no checks" when only the absence of an error was seen."""
    if cand.no_code:
        return NO_CODE
    res = cand.result
    if res is None:
        return "not run"
    if not res.ok:
        return "failed: " + (res.error.ename if res.error is not None else res.status)
    parts: list[str] = []
    if cand.tests_total:
        parts.append(f"{cand.tests_passed}/{_count(cand.tests_total, 'test')} passed")
    if turn.has_expect:
        matched = cand.passed or "Expected output" not in cand.feedback
        parts.append("expected value " + ("matched" if matched else "not matched"))
    if cand.derived_total:
        if cand.derived_passed == cand.derived_total:
            parts.append(f"{_count(cand.derived_total, 'derived check')} passed")
        else:
            failed = cand.derived_total - cand.derived_passed
            parts.append(f"{failed} of {_count(cand.derived_total, 'derived check')} failed")
    if not parts:
        return "ran without error (no checks)"
    return ", ".join(parts)


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
        cand.derived_passed,
        cand.derived_total,
        cand.label or verdict_label(turn, cand),
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
