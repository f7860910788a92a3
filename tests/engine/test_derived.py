"""Derived checks: which words promise what (a grid), and what must promise nothing."""

from __future__ import annotations

import pytest

from assistant.engine.derived import DerivedCheck, derive, sentences
from assistant.engine.derived_output import output_shows
from assistant.engine.derived_probe import feedback, near_names, printed_something
from assistant.execution.result import ExecResult

pytestmark = pytest.mark.unit


def _short(checks: list[DerivedCheck]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for c in checks:
        if c.kind == "callable":
            out.append((c.kind, c.name, c.arity))
        elif c.kind in ("values", "equals", "mapping", "length", "shows", "tail") or (
            c.kind == "name" and c.values
        ):
            out.append((c.kind, c.name, c.values))
        elif c.kind == "sorted":
            out.append((c.kind, c.name, c.descending))
        elif c.kind == "printed":
            out.append((c.kind,))
        else:
            out.append((c.kind, c.name))
    return out


GRID = [
    (
        "Define a list called nums with the values 5, 3, 8 and 1.",
        [("name", "nums", ("list",)), ("values", "nums", (5, 3, 8, 1))],
    ),
    (
        "Sort nums in descending order and store it in a variable named ordered.",
        [("name", "ordered", ("data",)), ("sorted", "ordered", True)],
    ),
    (
        "Print the sum of the first two elements of ordered.",
        [("shows", "ordered", ("sum", 2, None)), ("printed",)],
    ),
    (
        "Store the highest value in best and the lowest in worst.",
        [("name", "best", ("data",)), ("name", "worst", ("data",))],
    ),
    (
        "Compute the min and max and store them in best and worst.",
        [("name", "best", ("data",)), ("name", "worst", ("data",))],
    ),
    ("Write a function fib(n) that returns the n-th Fibonacci number.", [("callable", "fib", 1)]),
    ("Write a function add(a, b) returning their sum.", [("callable", "add", 2)]),
    (
        "Create a function called int_to_str() that converts integers.",
        [("callable", "int_to_str", None)],
    ),
    (
        "Compute the average and store it in avg, then print it.",
        [("name", "avg", ("data",)), ("printed",)],
    ),
    ('Store the sum of all numbers in "seq" to "results".', [("name", "results", ("data",))]),
    (
        "Count the letters in w1 and w2 and assign them to f1 and f2",
        [("name", "f1", ("data",)), ("name", "f2", ("data",))],
    ),
    (
        'Define a list of integers named "numbers" with the values [1, 2, 3].',
        [("name", "numbers", ("list",)), ("values", "numbers", (1, 2, 3))],
    ),
    ("Save the result in `total_price`.", [("name", "total_price", ("data",))]),
    ("Show the first three items.", [("printed",)]),
    ("Then display the dictionary.", [("printed",)]),
    ('Defines class named "Player" that takes four arguments.', [("name", "Player")]),
    (
        "Create a dictionary called scores with alice: 82 and bob: 95.",
        [("name", "scores", ("dict",)), ("mapping", "scores", (["alice", 82], ["bob", 95]))],
    ),
    (
        "Make a list called fibs with the first 10 Fibonacci numbers.",
        [("name", "fibs", ("list",)), ("length", "fibs", (10,))],
    ),
    (
        "Create a list named evens with the numbers from 2 to 4.",
        [("name", "evens", ("list",)), ("values", "evens", (2, 3, 4))],
    ),
    ("Set balance to 100.", [("equals", "balance", (100,))]),
    ("Set letters to the string 'mississippi'.", [("equals", "letters", ("mississippi",))]),
    (
        "Assign the string 'stressed' to a variable called word.",
        [("name", "word", ("data",)), ("equals", "word", ("stressed",))],
    ),
    # MTPB quotes lists and numbers: a quoted literal beside "list" or "integer" is no string
    (
        'Assign the list of numbers "[1, 2]" to a variable named "my_numbers".',
        [("name", "my_numbers", ("data",))],
    ),
    ('Assign an integer "5" to a variable named "val".', [("name", "val", ("data",))]),
    ("Assign the length of 'hello' to n.", [("name", "n", ("data",))]),
    # sorted by a key: only the name, not the natural order
    (
        "Sort the words by length in descending order and store it in ordered.",
        [("name", "ordered", ("data",))],
    ),
    # literals right after "with"; two lists in one sentence
    (
        "Create a list called animals with 'cat', 'dog' and 'ant'.",
        [("name", "animals", ("list",)), ("values", "animals", ("cat", "dog", "ant"))],
    ),
    (
        "Create two lists, xs with 1, 2 and 3 and ys with 4, 5 and 6.",
        [
            ("name", "xs", ("list",)),
            ("values", "xs", (1, 2, 3)),
            ("name", "ys", ("list",)),
            ("values", "ys", (4, 5, 6)),
        ],
    ),
    (
        "Create a 3 by 3 list of lists called grid holding the numbers 1 to 9 row by row.",
        [("name", "grid", ("list",))],
    ),
    # a stored result is data, unless the words speak of functions
    ("Find all primes below 30 and store them in primes.", [("name", "primes", ("data",))]),
    ("Define a lambda that squares a number and store it in sq.", [("name", "sq")]),
    ("Append 'milk', 'bread' and 'eggs' to cart.", [("tail", "cart", ("milk", "bread", "eggs"))]),
    ("Add 5 to total.", []),
    (
        "Sort names alphabetically and store the result in sorted_names.",
        [("name", "sorted_names", ("data",)), ("sorted", "sorted_names", False)],
    ),
    (
        "Print how many primes there are.",
        [("shows", "primes", ("count", None, None)), ("printed",)],
    ),
    # the output shows a value the request names, where one operation on one name says it
    ("Print the sum of the first column of x_train and the sum of y_train.", [("printed",)]),
    ("Create a list called xs with 5 random numbers.", [("name", "xs", ("list",))]),
    (
        "Print backwards in upper case.",
        [("shows", "backwards", ("upper", None, None)), ("printed",)],
    ),
    (
        "Print the number of digits in big.",
        [("shows", "big", ("digits", None, None)), ("printed",)],
    ),
    (
        "Print with_tax rounded to 2 decimals.",
        [("shows", "with_tax", ("round", 2, None)), ("printed",)],
    ),
    ("Print avg.", [("shows", "avg", ("value", None, None)), ("printed",)]),
    (
        "Print the length of the last three items of nums.",
        [("shows", "nums", ("len", -3, None)), ("printed",)],
    ),
    (
        "Print the difference between best and worst.",
        [("shows", "best", ("diff", None, "worst")), ("printed",)],
    ),
]

NOTHING = [
    'Assign the names ["A", "B"] as keys and notes [1, 2] as values to a dict.',
    'If "right" is larger than "left", print out the string.',
    "Otherwise, print out the other string.",
    "Extend the class with a function __hash__ which uses the x property.",
    'Apply the function "len" to each element and keep going.',
    'Create a dataframe with a column labeled "Yes" and a column named "No" with values [3, 4].',
    "Find all substrings that are palindromes and store as a list.",
    "store the result in a new list",
    "Write a function that takes an integer minutes and converts it to seconds.",
    "Create a function encrypt that takes a string.",
    "Compute the sum of the two edges and store it in a variable two-edges.",
    "Write the text to a file named data.txt.",
]


@pytest.mark.parametrize(("text", "expected"), GRID)
def test_derive_grid(text: str, expected: list[tuple[object, ...]]) -> None:
    assert _short(derive(text)) == expected


@pytest.mark.parametrize("text", NOTHING)
def test_derive_nothing(text: str) -> None:
    assert derive(text) == []


def test_sentences_keep_decimals_together() -> None:
    assert sentences("Set x to 0.5. Print x.") == ["Set x to 0.5.", "Print x."]


def test_round_trip_through_a_saved_session() -> None:
    for check in derive("Define a list called nums with the values 5, 3 and 1. Print it."):
        assert DerivedCheck.from_dict(check.to_dict()) == check


def test_feedback_names_the_missing_name_and_its_near_twins() -> None:
    check = DerivedCheck("name", "best")
    said = feedback(check, {"ok": False, "why": "missing"}, ["best_score", "nums", "x"])
    assert said == (
        "the step asks for a variable named `best`; after the code ran there is no `best` "
        "(there is `best_score`)"
    )
    assert near_names("fib", ["fibonacci", "n"]) == ["fibonacci"]


def test_printed_something_counts_prints_and_displays() -> None:
    assert not printed_something(ExecResult(status="ok"))
    assert printed_something(ExecResult(status="ok", stdout="3\n"))
    assert printed_something(ExecResult(status="ok", display=["<Figure>"]))


@pytest.mark.parametrize(
    ("want", "output", "shown"),
    [
        ({"num": 13}, "13\n", True),
        ({"num": 13}, "13.0", True),
        ({"num": 13}, "[8, 5] 12", False),
        ({"num": 10 / 3}, "3.33", True),
        ({"num": 10 / 3}, "3.3333333333333335", True),
        ({"num": 10 / 3}, "3.4", False),
        ({"num": 1234567}, "1,234,567", True),
        ({"num": 18, "alt": -18}, "-18", True),
        ({"round": 31.88}, "31.88", True),
        ({"round": 31.88}, "31.878", False),
        ({"text": "DESSERTS"}, "desserts", False),
        ({"texts": ["[1, 2]"], "each": ["1", "2"]}, "1\n2\n", True),
        (None, "", True),  # cannot tell: passes
    ],
)
def test_output_shows(want: dict[str, object] | None, output: str, shown: bool) -> None:
    assert output_shows(want, output) is shown
