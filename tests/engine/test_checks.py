"""The expected-value check (pure logic)."""

from __future__ import annotations

import pytest

from assistant.engine.checks import values_match
from assistant.execution.result import Printed

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("expected", "printed", "ok"),
    [
        (3, Printed("int", 3, True, "3"), True),
        (0.1 + 0.2, Printed("float", 0.3, True, "0.3"), True),
        ((1, 2), Printed("tuple", [1, 2], True, "(1, 2)"), True),
        ({2, 1}, Printed("set", [1, 2], True, "{1, 2}"), True),
        (True, Printed("int", 1, True, "1"), False),
        (1, Printed("bool", True, True, "True"), False),
        ("a", Printed("str", "a", True, "'a'"), True),
        (5, None, False),
    ],
)
def test_values_match(expected, printed, ok) -> None:
    assert values_match(expected, printed) is ok


def test_is_no_code() -> None:
    from assistant.engine.checks import is_no_code

    for empty in ["", "  \n", "# line 2", "# a\n# b\n", '"""doc"""', "'''a'''\n# b", "'x'\n'y'"]:
        assert is_no_code(empty), empty
    for code in ["x = 1", "# c\nx = 1", "print(1)", '"""doc"""\nx = 2', "f(", "1", "pass"]:
        assert not is_no_code(code), code


def test_text_view_labels_no_code() -> None:
    from assistant.engine.events import CheckFinished
    from assistant.frontends.textview import TextView

    lines: list[str] = []
    TextView(lines.append)(CheckFinished(0, 0, 0, False, "the model wrote no code", no_code=True))
    assert lines == ["[no code] the model wrote no code (empty or only comments): not run"]


def test_verdict_labels_say_what_a_pass_rests_on() -> None:
    from assistant.engine.checks import verdict_label
    from assistant.engine.session import Candidate, Turn
    from assistant.execution.result import ExecError, ExecResult

    ok = ExecResult(status="ok")
    turn = Turn(0, "x")
    cand = Candidate(0, "x = 1", result=ok, passed=True)
    assert verdict_label(turn, cand) == "ran without error (no checks)"
    cand.derived_passed = cand.derived_total = 2
    assert verdict_label(turn, cand) == "2 derived checks passed"
    cand.tests_passed = cand.tests_total = 1
    assert verdict_label(turn, cand) == "1/1 test passed, 2 derived checks passed"
    cand.derived_passed = 1
    assert verdict_label(turn, cand).endswith("1 of 2 derived checks failed")
    turn.has_expect = True
    assert "expected value matched" in verdict_label(turn, cand)
    bad = Candidate(
        0, "1/0", result=ExecResult(status="error", error=ExecError("ZeroDivisionError", ""))
    )
    assert verdict_label(turn, bad) == "failed: ZeroDivisionError"
    assert verdict_label(turn, Candidate(0, "", no_code=True)) == "the model wrote no code"
