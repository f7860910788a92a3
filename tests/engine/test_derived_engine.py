"""Derived checks in a real kernel: refinement runs on them, labels say what a pass rests on."""

from __future__ import annotations

import pytest

from assistant.engine.events import CheckFinished
from assistant.engine.options import EngineOptions
from assistant.engine.state import read

pytestmark = [pytest.mark.kernel, pytest.mark.asyncio(loop_scope="module")]
DERIVED = EngineOptions(derived_checks=True, prefix="")


async def test_missing_name_fails_names_its_twin_and_refinement_fixes_it(make_engine) -> None:
    engine, _, events = make_engine(
        {"turns": [[["best_score = 9"], ["best = 9"]]]}, options=DERIVED
    )
    turn = await engine.run_turn("Store the highest score in best.")
    assert turn.status == "passed" and turn.code == "best = 9"
    first, second = events.of(CheckFinished)
    assert not first.passed
    assert first.feedback == (
        "the step asks for a variable named `best`; after the code ran there is no `best` "
        "(there is `best_score`)"
    )
    assert (first.derived_passed, first.derived_total) == (0, 1)
    assert first.label == "1 of 1 derived check failed"
    assert second.passed and second.label == "1 derived check passed"
    assert turn.derived == [
        {
            "kind": "name",
            "name": "best",
            "arity": None,
            "values": ["data"],
            "descending": False,
            "phrase": "in best",
        }
    ]


async def test_function_arity_values_order_and_printing(make_engine) -> None:
    engine, _, events = make_engine(
        {
            "turns": [
                [["def fib(a, b):\n    return a"], ["def fib(n):\n    return n"]],
                [["nums = [5, 3, 8]"], ["nums = [1, 3, 8, 5]"]],
                [["ordered = nums"], ["ordered = sorted(nums, reverse=True)"]],
                [["total = sum(ordered)"], ["print(sum(ordered))"]],
            ]
        },
        options=DERIVED,
    )
    texts = [
        "Write a function fib(n).",
        "Define a list called nums with the values 5, 3, 8 and 1.",
        "Sort nums in descending order and store it in ordered.",
        "Print the sum of ordered.",
    ]
    for text in texts:
        turn = await engine.run_turn(text)
        assert turn.status == "passed", text
    failed = [e.feedback for e in events.of(CheckFinished) if not e.passed]
    assert failed[0].startswith("the step asks for a function `fib` taking 1 argument;")
    assert "cannot be called that way" in failed[0]
    assert failed[1] == (
        "the step asks for `nums` holding the values 5, 3, 8, 1; after the code ran `nums` "
        "is [5, 3, 8]"
    )
    assert failed[2] == (
        "the step asks for `ordered` sorted in descending order; after the code ran "
        "`ordered` is [1, 3, 8, 5]"
    )
    assert failed[3] == (
        "the step asks for the sum of `ordered` in the output; the output does not show it "
        "(it printed nothing)\n"
        "the step asks to print or show the result; the code printed nothing"
    )


async def test_no_checks_is_said_and_off_means_off(make_engine) -> None:
    engine, _, events = make_engine({"turns": ["x = 1", "y = 2"]}, options=EngineOptions(prefix=""))
    turn = await engine.run_turn("Store it in best.")  # derived checks off: y need not exist
    assert turn.status == "passed" and turn.derived == []
    assert events.of(CheckFinished)[-1].label == "ran without error (no checks)"
    turn = await engine.run_turn("Do something.", tests=["assert y == 2"])
    assert events.of(CheckFinished)[-1].label == "1/1 test passed"


async def test_state_reads_the_users_variables(make_engine, kernel) -> None:
    engine, _, _ = make_engine({"turns": ["nums = [5, 3]\ndef f(x):\n    return x"]})
    await engine.run_turn("Make nums and f.")
    found = {v.name: v for v in await read(kernel)}
    assert (found["nums"].type, found["nums"].value) == ("list", "[5, 3]")
    assert (found["f"].type, found["f"].value) == ("function", "")


async def test_checks_command_lists_drops_and_retry_then_passes(kernel, tmp_path) -> None:
    from assistant.config import Settings
    from assistant.engine.session import Session
    from assistant.frontends.commands import parse
    from assistant.frontends.controller import Controller
    from assistant.models.scripted import ScriptedModel
    from assistant.sessions.export import to_notebook

    seen: list[object] = []
    ctl = Controller(
        Settings(timeout=10, attempts=2),
        seen.append,
        model=ScriptedModel({"turns": ["best_score = 9\n"]}),
        session_path=tmp_path / "s.json",
        autosave_enabled=True,
    )
    ctl.kernel = kernel
    ctl._build_engine()
    turn = await ctl.run_turn("Store the highest score in best.")
    assert turn.status == "failed"
    listing = await ctl.command(parse("/checks"))  # type: ignore[arg-type]
    assert "1. derived: a variable named `best`  (from: 'in best')" in listing
    assert "no derived check 2" in await ctl.command(parse("/checks drop 2"))  # type: ignore[arg-type]
    said = await ctl.command(parse("/checks drop 1"))  # type: ignore[arg-type]
    assert said.startswith("dropped derived check 1 (a variable named `best`)")
    await ctl.command(parse("/retry"))  # type: ignore[arg-type]
    assert turn.status == "passed"
    assert turn.attempts[-1].best.label == "ran without error (no checks)"  # type: ignore[union-attr]
    saved = Session.load(tmp_path / "s.json")
    assert saved.turns[0].derived == [] and saved.turns[0].derived_dropped[0]["name"] == "best"
    cell = to_notebook(saved).cells[-1]
    assert cell.metadata["assistant"]["verdict"] == "ran without error (no checks)"
    assert "usage" in await ctl.command(parse("/checks drop x"))  # type: ignore[arg-type]


async def test_controller_puts_the_state_in_the_prompt_when_asked(kernel) -> None:
    from assistant.config import Settings
    from assistant.frontends.controller import Controller
    from assistant.models.scripted import ScriptedModel

    model = ScriptedModel({"turns": ["nums = [5, 3]\n", "print(nums)\n"]})
    ctl = Controller(Settings(timeout=10, prompt_state=True), print, model=model)
    ctl.kernel = kernel
    await kernel.restart()
    ctl._build_engine()
    await ctl.run_turn("Make a list nums.")
    await ctl.run_turn("Print nums.")
    assert model.requests[1].prompt.endswith("# Print nums. (so far: nums list)\n")


async def test_spelled_out_values_are_checked(make_engine) -> None:
    engine, _, events = make_engine(
        {
            "turns": [
                [["stock = {'apples': 10, 'pears': 5}"], ["stock = {'apples': 10, 'pears': 4}"]],
                [["fibs = [0, 1]"], ["fibs = [0, 1, 1]"]],
                [["word = 'Stressed'"], ["word = 'stressed'"]],
            ]
        },
        options=DERIVED,
    )
    for text in [
        "Make a dictionary called stock with apples: 10 and pears: 4.",
        "Make a list called fibs with the first 3 Fibonacci numbers.",
        "Set word to 'stressed'.",
    ]:
        assert (await engine.run_turn(text)).status == "passed", text
    failed = [e.feedback for e in events.of(CheckFinished) if not e.passed]
    assert failed == [
        "the step asks for `stock` equal to {'apples': 10, 'pears': 4}; after the code ran "
        "`stock` is {'apples': 10, 'pears': 5}",
        "the step asks for `fibs` with 3 elements; after the code ran `fibs` is [0, 1]",
        "the step asks for `word` equal to 'stressed'; after the code ran `word` is 'Stressed'",
    ]


async def test_chat_state_note_stays_in_history_so_prompts_only_grow(kernel) -> None:
    from assistant.config import Settings
    from assistant.frontends.controller import Controller
    from assistant.models.scripted import ScriptedModel

    model = ScriptedModel({"turns": ["nums = [5, 3]\n", "total = 8\n", "print(total)\n"]})
    ctl = Controller(Settings(timeout=10, chat=True), print, model=model)  # state: chat default
    ctl.kernel = kernel
    await kernel.restart()
    ctl._build_engine()
    for text in ["Make a list nums.", "Set total to 8.", "Print total."]:
        await ctl.run_turn(text)
    first, second, third = (r.messages or [] for r in model.requests)
    assert second[-1]["content"].startswith("Variables so far: nums (list) = [5, 3]")
    assert second[: len(first)] == first and third[: len(second)] == second


async def test_types_data_and_shown_values(make_engine) -> None:
    """A list that is a dict, a result stored as a function, output that does not show the
    value asked for: each fails with what it is, and the repaired attempt passes."""
    engine, _, events = make_engine(
        {
            "turns": [
                [["grid = {(0, 0): 1, (0, 1): 2}"], ["grid = [[1, 2], [3, 4]]"]],
                [["def primes(n):\n    return [2, 3]"], ["primes = [2, 3, 5, 7]"]],
                ["word = 'desserts'"],
                [["print(word)"], ["print(word.upper())"]],
                [["big = 2 ** 20"]],
                [["print(big)"], ["print(len(str(big)))"]],
                ["with_tax = 31.878"],
                [["print(with_tax)"], ["print(f'{with_tax:.2f}')"]],
                [["print(len(primes))"], ["print('primes:', primes)"]],
            ]
        },
        options=DERIVED,
    )
    texts = [
        "Create a 2 by 2 list of lists called grid.",
        "Find all primes below 10 and store them in primes.",
        "Set word to the string 'desserts'.",
        "Print word in upper case.",
        "Set big to 2 to the power of 20.",
        "Print the number of digits in big.",
        "Set with_tax to 31.878.",
        "Print with_tax rounded to 2 decimals.",
        "Print primes.",
    ]
    for text in texts:
        turn = await engine.run_turn(text)
        assert turn.status == "passed", (text, turn.attempts[-1].best.feedback)
    failed = [e.feedback for e in events.of(CheckFinished) if not e.passed]
    assert failed[0] == (
        "the step asks for a list named `grid`; after the code ran `grid` is a dict: "
        "{(0, 0): 1, (0, 1): 2}"
    )
    assert failed[1] == (
        "the step asks for a variable named `primes`; after the code ran `primes` is a "
        "function, not a value"
    )
    assert failed[2] == (
        "the step asks for `word` in upper case in the output; the output does not show it "
        "(it printed: desserts)"
    )
    assert failed[3].startswith("the step asks for the number of digits of `big` in the output;")
    assert failed[4].endswith("(it printed: 31.878)")
    assert failed[5].endswith("(it printed: 4)")
    assert len(failed) == 6
