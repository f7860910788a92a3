"""Prompt assembly: MTPB format, single-turn control, chat variants, refinement prefix sharing."""

from __future__ import annotations

import pytest

from assistant.engine import prompting
from assistant.engine.prompting import PastTurn

PREFIX = "# Import libraries.\n\nimport numpy as np\n\n"
HIST = [PastTurn("Assign 3 to a.", "a = 3"), PastTurn("Double a.", "b = a * 2\n")]


@pytest.mark.unit
def test_prefix_is_the_mtpb_one() -> None:
    assert prompting.mtpb_prefix() == PREFIX


@pytest.mark.unit
def test_first_turn_prompt() -> None:
    assert prompting.multi_turn_prompt([], "Assign 3 to a.") == PREFIX + "# Assign 3 to a.\n"


@pytest.mark.unit
def test_multi_turn_history_matches_the_mtpb_sampler() -> None:
    got = prompting.multi_turn_prompt(HIST, "Print b.")
    assert got == PREFIX + "# Assign 3 to a.\na = 3\n# Double a.\nb = a * 2\n# Print b.\n"


@pytest.mark.unit
def test_prompts_of_a_session_are_append_only() -> None:
    first = prompting.multi_turn_prompt(HIST[:1], "Double a.")
    second = prompting.multi_turn_prompt(HIST, "Print b.")
    assert second.startswith(first)


@pytest.mark.unit
def test_multiline_request_stays_commented() -> None:
    got = prompting.multi_turn_prompt([], "line one\nline two")
    assert got.endswith("# line one\n# line two\n")


@pytest.mark.unit
def test_single_turn_control_lists_all_turns_first() -> None:
    got = prompting.single_turn_prompt(["A.", "B.", "C."])
    assert got == PREFIX + "# A.\n# B.\n# C.\n"


@pytest.mark.unit
def test_refine_prompt_shares_the_attempt_prefix() -> None:
    first = prompting.multi_turn_prompt(HIST, "Print b.")
    ref = prompting.refine_prompt(
        HIST, "Print b.", "print(c)", "NameError: name 'c' is not defined"
    )
    assert ref.startswith(first + "print(c)\n")
    tail = ref[len(first) :]
    assert "# NameError: name 'c' is not defined" in tail
    assert tail.endswith("Print b.\n")
    # every added line after the faulty code is a comment, so truncation keeps the fix clean
    assert all(ln.startswith("#") for ln in tail.splitlines()[1:])


@pytest.mark.unit
def test_chat_messages_are_append_only() -> None:
    m1 = prompting.chat_messages(HIST[:1], "Double a.")
    m2 = prompting.chat_messages(HIST, "Print b.")
    assert m2[: len(m1)] == m1
    assert m1[0]["role"] == "system" and "Jupyter" in m1[0]["content"]
    assert m2[2] == {"role": "assistant", "content": "```python\na = 3\n```"}
    assert m2[-1] == {"role": "user", "content": "Print b."}


@pytest.mark.unit
def test_chat_refinement_extends_the_chat() -> None:
    base = prompting.chat_messages(HIST, "Print b.")
    ref = prompting.refine_messages(HIST, "Print b.", "print(c)", "NameError: c")
    assert ref[: len(base)] == base
    assert ref[-2] == {"role": "assistant", "content": "```python\nprint(c)\n```"}
    assert "NameError: c" in ref[-1]["content"] and "Print b." in ref[-1]["content"]


@pytest.mark.unit
def test_single_turn_chat() -> None:
    msgs = prompting.single_turn_messages(["A.", "B."])
    assert "1. A.\n2. B." in msgs[-1]["content"]


@pytest.mark.unit
def test_feedback_texts() -> None:
    assert prompting.mismatch_feedback(3, "4") == "Expected output: 3\nActual output: 4"
    assert "nothing was printed" in prompting.mismatch_feedback("x", None)


@pytest.mark.unit
def test_upstream_separator_reproduces_the_upstream_sampler() -> None:
    # upstream: history + truncate(completion) + "\n\n", truncation keeping the "\n" before "#"
    upstream = PREFIX + "# Assign 3 to a.\n" + "a = 3\n" + "\n\n" + "# Print a.\n"
    got = prompting.multi_turn_prompt(HIST[:1], "Print a.", sep=prompting.UPSTREAM_SEPARATOR)
    assert got == upstream


@pytest.mark.unit
def test_refine_variants() -> None:
    from assistant.engine import prompting as p

    hist = [p.PastTurn("Make nums.", "nums = [3, 1]")]
    first = p.multi_turn_prompt(hist, "Sort nums.")
    plain = p.refine_prompt(hist, "Sort nums.", "x = nums[5]", "IndexError: oops", variant="plain")
    primed = p.refine_prompt(
        hist, "Sort nums.", "x = nums[5]", "IndexError: oops", variant="primed"
    )
    retry = p.refine_prompt(hist, "Sort nums.", "x = nums[5]", "IndexError: oops", variant="retry")
    assert plain.startswith(first) and "# IndexError: oops" in plain
    # primed: the feedback in a docstring, and the prompt ends with the turn comment again
    assert primed.startswith(first + "x = nums[5]\n")
    assert '"""\nThe code above failed:\nIndexError: oops\n' in primed
    assert primed.endswith('"""\n# Sort nums.\n')
    assert retry == first
    hint = p.refine_prompt(hist, "Sort nums.", "x = nums[5]", 'Err: """', variant="hint")
    assert "x = nums[5]" not in hint and hint.endswith('"""\n# Sort nums.\n')
    assert "Err: '''" in hint  # the feedback cannot close the docstring
    assert p.refine_variant("auto", "completion") in p.REFINE_VARIANTS
    assert p.refine_messages(hist, "Sort nums.", "x", "err", variant="retry") == p.chat_messages(
        hist, "Sort nums."
    )


@pytest.mark.kernel
@pytest.mark.asyncio(loop_scope="module")
async def test_chat_refinement_is_primed_with_a_fence(make_engine) -> None:
    from assistant.config import Settings

    engine, model, _ = make_engine(
        {"turns": [["```python\ncp = 1 / 0\n```", "cp = 2\n```"]]},
        style="chat",
        settings=Settings(timeout=10, refine_prompt="primed"),
    )
    turn = await engine.run_turn("Make cp.", attempts=2)
    assert turn.status == "passed" and turn.code == "cp = 2"
    assert model.requests[0].prime == "" and model.requests[1].prime == "```python\n"
