"""The expected-value check (pure logic)."""

from __future__ import annotations

import pytest

from assistant.engine.checks import values_match
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
