"""MTPB truncation rules, including the cases that trip naive implementations."""

from __future__ import annotations

import pytest

from assistant.engine.truncation import strip_fence, truncate, truncate_mtpb

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("a = 1\n# Print a.\nprint(a)", "a = 1"),
        ("a = 1\nprint(a)\nprint(a + 1)\n", "a = 1\nprint(a)"),
        ("def f():\n    return 1\ndef g():\n    return 2\n", "def f():\n    return 1"),
        ("x = 1\n'''\nnotes\n'''\n", "x = 1"),
        ('x = 1\n"""doc"""\n', "x = 1"),
        ("x = 1\n\n\ny = 2\n", "x = 1"),
        ("x = 1\n\ny = 2\n\n", "x = 1\n\ny = 2"),
        ("x = 1<|endoftext|>garbage", "x = 1"),
        # an indented comment, print or docstring belongs to the code above it
        (
            "def f():\n    # why\n    print(1)\n    print(2)\n    return 3\n",
            "def f():\n    # why\n    print(1)\n    print(2)\n    return 3",
        ),
        ('def f():\n    """Doc."""\n    return 1\n', 'def f():\n    """Doc."""\n    return 1'),
        # a '#' inside a string is not a comment line; a top-level string with quotes stays
        ("s = '#x'\nt = '''a'''\n", "s = '#x'\nt = '''a'''"),
        # `printer` is not a second print
        ("print(1)\nprinter = 2\n", "print(1)\nprinter = 2"),
        # the earliest rule wins
        ("a = 1\nprint(a)\n\n\n# next\nprint(2)", "a = 1\nprint(a)"),
        ("", ""),
    ],
)
def test_mtpb_rules(raw: str, want: str) -> None:
    assert truncate_mtpb(raw) == want


def test_leading_comment_kept_unless_strict() -> None:
    raw = "# use a set\ns = set(x)\n# next step\nprint(s)"
    assert truncate_mtpb(raw) == "# use a set\ns = set(x)"
    assert truncate_mtpb(raw, strict=True) == ""


def test_second_print_counted_after_leading_comments() -> None:
    assert truncate_mtpb("# p\nprint(1)\nprint(2)") == "# p\nprint(1)"


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("Here you go:\n```python\nx = 1\nprint(x)\n```\nThis prints 1.", "x = 1\nprint(x)"),
        ("```py\n# keep comments\nx = 1\n```", "# keep comments\nx = 1"),
        ("```\nx = 1\n```", "x = 1"),
        ("```python\nx = 1\nprint(x)\n", "x = 1\nprint(x)"),  # cut at max_tokens
        ("x = 1\nprint(x)", "x = 1\nprint(x)"),  # no fence at all
        ("```python\na = 1\n```\n```python\nb = 2\n```", "a = 1"),
        ("```python\nx = 1\n```<|im_end|>", "x = 1"),
    ],
)
def test_chat_fence(raw: str, want: str) -> None:
    assert truncate(raw, chat=True) == want


def test_chat_code_keeps_comments_and_prints() -> None:
    code = "# step\nprint(1)\nprint(2)"
    assert strip_fence(f"```python\n{code}\n```") == code
    assert truncate(code) == "# step\nprint(1)"  # the completion rules would cut it


def test_whole_program_keeps_every_function_and_print() -> None:
    from assistant.engine.truncation import truncate_program

    prog = "def f(x):\n    return x\n\n\n\n# helper\ndef g(y):\n    return y\nprint(f(1))\nprint(g(2))\n</s>junk"
    assert truncate_program(prog) == prog.split("</s>")[0].rstrip()
    assert truncate_program("```python\nx = 1\n```\n", chat=True).strip() == "x = 1"
