"""The expected-value check (pure logic)."""

from __future__ import annotations

import pytest

from assistant.checks import values_match
from assistant.execution.result import Printed


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
