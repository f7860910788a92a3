"""The turn loop against a real kernel with the scripted backend."""

from __future__ import annotations

import asyncio
import threading

import pytest

from assistant.config import Settings
from assistant.engine.events import (
    AttemptStarted,
    CheckFinished,
    CodeReady,
    CopyRejected,
    StateRestored,
    TokenChunk,
    TurnCommitted,
    TurnFailed,
)
from assistant.engine.options import EngineOptions
from assistant.engine.session import Session
from assistant.models.base import ModelError, Request
from assistant.models.stop_filter import FENCE_END
from assistant.sessions.training import records

pytestmark = [pytest.mark.kernel, pytest.mark.asyncio(loop_scope="module")]


async def test_turn_commits_and_history_feeds_the_next_prompt(make_engine) -> None:
    engine, model, events = make_engine(
        {"turns": ["e1 = [3, 1, 2]\n# Sort it.\nnoise", "print(sorted(e1))"]}
    )
    t0 = await engine.run_turn("Make a list e1.")
    t1 = await engine.run_turn("Print it sorted.", expect=[1, 2, 3])
    assert (t0.status, t0.code) == ("passed", "e1 = [3, 1, 2]")
    assert t1.status == "passed"
    assert model.requests[1].prompt.endswith(
        "# Make a list e1.\ne1 = [3, 1, 2]\n# Print it sorted.\n"
    )
    assert model.requests[1].meta == {"turn": 1, "attempt": 0, "candidate": 0}
    assert events.kinds()[:7] == [
        "TurnStarted",
        "AttemptStarted",
        "CodeReady",
        "ExecutionStarted",
        "ExecutionFinished",
        "CheckFinished",
        "TurnCommitted",
    ]
    chunks = "".join(e.text for e in events.of(TokenChunk) if e.turn == 0)
    assert chunks == "e1 = [3, 1, 2]\n# Sort it.\nnoise"
    assert engine.session.program() == "e1 = [3, 1, 2]\n\nprint(sorted(e1))"


async def test_raise_then_copy_rejected_then_pass(make_engine, tmp_path) -> None:
    bad = "e2 = 10\nprint(e2 / 0)"
    engine, model, events = make_engine(
        {"turns": [[bad, "e2 = 10\n\nprint( e2/0 )  # same thing", "e2 = 10\nprint(e2 / 2)"]]},
        settings=Settings(timeout=10, refine_prompt="hint"),
    )
    turn = await engine.run_turn("Halve ten.", expect=5.0)
    assert turn.status == "passed" and turn.code == "e2 = 10\nprint(e2 / 2)"
    a0, a1, a2 = turn.attempts
    assert a0.best is not None and a0.best.result is not None
    assert "ZeroDivisionError" in a0.best.feedback
    assert (a1.copy_of, a1.copies_rejected, a1.candidates[0].result) == (0, 1, None)
    assert a2.reason == "resample" and a2.told == a0.best.feedback
    assert [e.copies_attempt for e in events.of(CopyRejected)] == [0]
    # the resample asked for more diversity and told the model what went wrong
    assert model.requests[2].temperature > model.requests[1].temperature
    assert "ZeroDivisionError: division by zero" in model.requests[1].prompt
    assert events.kinds().count("ExecutionStarted") == 2  # the copy never ran
    # the record survives a save/load and yields one CYCLE triple (the copy is not one)
    loaded = Session.load(engine.session.save(tmp_path / "s.json"))
    assert loaded.turns[0].attempts[1].copy_of == 0
    (row,) = records(loaded, "cycle")
    assert (row["faulty_code"], row["fixed_code"], row["attempt"], row["fixed_attempt"]) == (
        bad,
        "e2 = 10\nprint(e2 / 2)",
        0,
        2,
    )


async def test_failed_attempt_side_effects_do_not_leak(make_engine) -> None:
    engine, _, events = make_engine(
        {"turns": ["leak = []", ["leak.append(1)\n1/0", "leak.append(2)\nprint(leak)"]]}
    )
    await engine.run_turn("Make an empty list.")
    turn = await engine.run_turn("Append and show.", expect=[2])
    assert turn.status == "passed"
    restored = events.of(StateRestored)
    assert restored and restored[-1].replayed == [0] and restored[-1].failed == []
    res = await engine.kernel.execute("leak", print_last=True)
    assert res.last_printed is not None and res.last_printed.value == [2]


async def test_attempt_budget_and_failure(make_engine) -> None:
    engine, model, events = make_engine(
        {
            "turns": [
                ["raise ValueError('a')", "raise ValueError('b')", "raise ValueError('c')"],
                "ok_v = 1",
            ]
        }
    )
    turn = await engine.run_turn("Fail.", attempts=2)
    assert turn.status == "failed" and turn.code is None
    assert len(turn.attempts) == 2 and len(model.requests) == 2
    assert "ValueError: b" in turn.attempts[1].candidates[0].feedback
    assert events.of(TurnFailed)[0].reason.startswith("no passing code after 2")
    # the next turn runs on the committed state only (restored lazily)
    nxt = await engine.run_turn("Ok.", attempts=1)
    assert nxt.status == "passed"


async def test_tests_and_expect_checks(make_engine) -> None:
    engine, _, events = make_engine(
        {
            "turns": [
                ["def sq(x):\n    return x + x", "def sq(x):\n    return x * x"],
                ["print('2')", "print(2)"],
            ]
        }
    )
    turn = await engine.run_turn("Square.", tests=["assert sq(2) == 4", "assert sq(3) == 9"])
    first = turn.attempts[0].candidates[0]
    assert (first.passed, first.tests_passed, first.tests_total) == (False, 1, 2)
    assert "Test failed: assert sq(3) == 9" in first.feedback
    assert turn.status == "passed" and turn.attempts[1].candidates[0].tests_passed == 2
    turn = await engine.run_turn("Two.", expect=2)
    assert "Expected output: 2\nActual output: '2'" in turn.attempts[0].candidates[0].feedback
    assert turn.status == "passed"
    checks = [e.passed for e in events.of(CheckFinished)]
    assert checks == [False, True, False, True]


async def test_empty_code_fails(make_engine) -> None:
    engine, _, _ = make_engine(
        {"turns": [["# just a comment", "ok_empty = 1"]]},
        options=EngineOptions(strict_truncation=True),
    )
    turn = await engine.run_turn("Anything.")
    assert "no code" in turn.attempts[0].candidates[0].feedback and turn.status == "passed"


async def test_cancel_during_generation(make_engine) -> None:
    engine, _, events = make_engine({"turns": ["x_cancel = 1\n" * 40]}, delay=0.01)

    def on_event(ev) -> None:
        events.append(ev)
        if isinstance(ev, TokenChunk):
            engine.cancel()

    engine.on_event = on_event
    turn = await engine.run_turn("Slow.")
    assert turn.status == "cancelled"
    assert events.of(TurnFailed)[-1].reason == "cancelled"
    assert "ExecutionStarted" not in events.kinds()


async def test_cancel_during_execution_from_another_thread(make_engine) -> None:
    engine, _, events = make_engine(
        {"turns": ["import time\nfor _ in range(300):\n    time.sleep(0.1)"]}
    )

    def on_event(ev) -> None:
        events.append(ev)
        if type(ev).__name__ == "ExecutionStarted":
            threading.Timer(0.3, engine.cancel).start()

    engine.on_event = on_event
    turn = await asyncio.wait_for(engine.run_turn("Sleep."), 10)
    assert turn.status == "cancelled"
    res = turn.attempts[0].candidates[0].result
    assert res is not None and res.duration < 5
    after = await engine.run_turn("Again.", attempts=1)  # the engine is usable afterwards
    assert after.attempts[-1].candidates[0].result is not None


async def test_restore_edit_undo_retry(make_engine) -> None:
    engine, model, events = make_engine(
        {"turns": ["r = 1", ["r2 = r + 1\nprint(r2)", "r2 = r + 10\nprint(r2)"]]}
    )
    await engine.run_turn("One.")
    await engine.run_turn("Plus one.")
    failed = await engine.restore("kernel restarted")
    assert failed == [] and events.of(StateRestored)[-1].replayed == [0, 1]
    assert (await engine.kernel.execute("r2", print_last=True)).stdout == "2\n"
    # retry keeps the old attempt, asks again with the next attempt index
    turn = await engine.retry()
    assert [a.index for a in turn.attempts] == [0, 1] and turn.code == "r2 = r + 10\nprint(r2)"
    assert model.requests[-1].meta["attempt"] == 1
    # edit an earlier turn: later turns are replayed on top of it
    before = len(events.of(StateRestored))
    await engine.edit(0, "r = 100")
    # one partial restore (nothing replayed), then later turns replayed on the edited code
    assert [e.replayed for e in events.of(StateRestored)[before:]] == [[], [0, 1]]
    assert engine.session.turns[0].edited and engine.session.turns[0].code == "r = 100"
    assert (await engine.kernel.execute("r2", print_last=True)).stdout == "110\n"
    # a failing edit is not committed
    bad = await engine.edit(1, "r2 = undefined_name")
    assert (
        bad.code == "r2 = r + 10\nprint(r2)"
        and "NameError" in bad.attempts[-1].candidates[0].feedback
    )
    undone = await engine.undo()
    assert undone is not None and undone.index == 1 and len(engine.session.turns) == 1
    res = await engine.kernel.execute("'r2' in dir()", print_last=True)
    assert res.stdout == "False\n"


async def test_resumed_session_is_replayed_before_new_code(make_engine, kernel) -> None:
    session = Session()
    t = session.new_turn("Set.")
    t.code, t.status = "resumed_v = 41", "passed"
    engine, _, events = make_engine({"turns": ["", "print(resumed_v + 1)"]}, session=session)
    turn = await engine.run_turn("Use it.", expect=42)
    assert turn.status == "passed"
    assert events.of(StateRestored)[0].reason == "resume"


async def test_chat_style_strips_fences_and_refines_in_the_chat(make_engine) -> None:
    engine, model, _ = make_engine(
        {
            "turns": [
                [
                    "```python\nchat_v = 4\nprint(chat_v)\n```",
                    "Sure:\n```python\n# a comment\nchat_v = 5\nprint(chat_v)\n```\nDone.",
                ]
            ]
        },
        style="chat",
        settings=Settings(timeout=10, refine_prompt="plain"),
    )
    turn = await engine.run_turn("Five.", expect=5)
    assert turn.status == "passed"
    assert turn.code == "# a comment\nchat_v = 5\nprint(chat_v)"
    first, second = (r.messages for r in model.requests)
    assert first is not None and second is not None and model.requests[0].prompt == ""
    assert second[: len(first)] == first  # append-only: the chat prefix is reused
    # Decoding ends at the first block's closing fence (the engine keeps only that block).
    assert all(r.stop == [FENCE_END] for r in model.requests)
    assert second[-2] == {
        "role": "assistant",
        "content": "```python\nchat_v = 4\nprint(chat_v)\n```",
    }
    assert "Expected output: 5\nActual output: 4" in second[-1]["content"]


async def test_model_error_fails_the_turn(make_engine) -> None:
    def boom(req: Request) -> str:
        raise ModelError("model file is missing: download it with ...")

    engine, _, events = make_engine(boom)
    turn = await engine.run_turn("Anything.")
    assert turn.status == "failed" and "model error" in events.of(TurnFailed)[0].reason


async def test_meta_is_passed_through(make_engine) -> None:
    engine, model, events = make_engine(lambda req: f"meta_p = {req.meta['problem']!r}")
    await engine.run_turn("P.", meta={"problem": "7"})
    assert model.requests[0].meta == {"problem": "7", "turn": 0, "attempt": 0, "candidate": 0}
    assert events.of(CodeReady)[0].code == "meta_p = '7'"
    assert events.of(TurnCommitted)


async def test_copies_are_bounded_and_numbered(make_engine) -> None:
    engine, model, events = make_engine({"turns": ["raise KeyError('same')"]})
    turn = await engine.run_turn("Stuck.", attempts=2)
    assert turn.status == "failed"
    assert [a.reason for a in turn.attempts] == ["first", "refine", "resample", "resample"]
    assert sum(a.copies_rejected for a in turn.attempts) == 3
    assert events.kinds().count("ExecutionStarted") == 1
    temps = [r.temperature for r in model.requests]
    assert temps[0] == temps[1] < temps[2] < temps[3] <= 1.2
    assert [e.max_attempts for e in events.of(AttemptStarted)] == [2, 2, 3, 4]


async def test_code_that_does_not_compile_needs_no_restore(make_engine) -> None:
    engine, _, events = make_engine(
        {"turns": ["nc = 1", ["nc = (", "nc += 1\neval('1 +')", "print(nc)"]]}
    )
    await engine.run_turn("One.")
    turn = await engine.run_turn("Show.", expect=1)
    assert turn.status == "passed" and len(turn.attempts) == 3
    # attempt 0 never ran; attempt 1 ran (nc += 1) before its runtime SyntaxError
    assert [e.reason for e in events.of(StateRestored)] == ["retry"]


async def test_prefix_imports_run_in_the_kernel(make_engine, kernel) -> None:
    await kernel.restart()  # a kernel that has never run the prefix
    engine, _, _ = make_engine({"turns": ["print(int(np.arange(4).sum()))"]})
    turn = await engine.run_turn("Sum 0..3 with numpy.", expect=6)
    assert turn.status == "passed"


async def test_comment_only_turn_never_commits(make_engine) -> None:
    # The TUI run: the model answers a turn with a comment line and nothing else.
    engine, _, events = make_engine({"turns": ["nc_nums = [3, 1]", "# line 2"]})
    await engine.run_turn("Make nc_nums.")
    turn = await engine.run_turn("Sort nc_nums descending into ordered.", attempts=2)
    assert turn.status == "failed" and turn.code is None and not turn.committed
    assert engine.session.program() == "nc_nums = [3, 1]"
    cands = [a.candidates[0] for a in turn.attempts]
    assert [c.no_code for c in cands] == [True, True]
    assert all(c.feedback == "the model wrote no code" and not c.passed for c in cands)
    checks = [e for e in events.of(CheckFinished) if e.turn == 1]
    assert [(e.passed, e.no_code) for e in checks] == [(False, True), (False, True)]
    # never sent to the kernel; the refinement was told why
    assert not [e for e in events if type(e).__name__ == "ExecutionStarted" and e.turn == 1]
    assert turn.attempts[1].told == "the model wrote no code"
    assert "wrote no code" in events.of(TurnFailed)[-1].reason


async def test_comment_only_refinement_is_not_a_pass(make_engine) -> None:
    docstring = '"""Fixed: divide by two instead."""\n# print(nc2 / 2)'
    engine, _, events = make_engine(
        {"turns": [["nc2 = 10\nprint(nc2 / 0)", docstring, "nc2 = 10\nprint(nc2 / 2)"]]}
    )
    turn = await engine.run_turn("Halve ten.", expect=5.0, attempts=3)
    a1 = turn.attempts[1]
    assert len(turn.attempts) == 3
    assert not a1.candidates[0].passed and a1.candidates[0].no_code
    assert a1.copies_rejected == 0  # no code is a failure of its own, not a copy
    assert turn.status == "passed" and turn.code == "nc2 = 10\nprint(nc2 / 2)"
    assert [e.passed for e in events.of(CheckFinished)] == [False, False, True]


async def test_no_code_candidate_ranks_last(make_engine) -> None:
    cands = [
        {"code": "# nothing to see", "logprob": -0.01},
        {"code": "print(1 / 0)", "logprob": -3.0},
        {"code": "print(7)", "logprob": -2.0},
    ]
    engine, _, _ = make_engine({"turns": [[cands]]})
    turn = await engine.run_turn("Print seven.", candidates=3, attempts=1)
    attempt = turn.attempts[0]
    assert [c.rank for c in attempt.candidates] == [2, 1, 0]
    assert turn.code == "print(7)"
    engine.ranker = __import__("assistant.engine.ranking", fromlist=["x"]).MBRExecRanker()
    turn = await engine.run_turn("Print seven again.", candidates=3, attempts=1)
    assert turn.attempts[0].candidates[0].rank == 2


async def test_default_refinement_prompts_are_the_measured_ones(make_engine) -> None:
    from assistant.engine.prompting import refine_variant

    # Completion style (base models): a fresh sample, the measured best for Gemma 3 270M.
    engine, model, _ = make_engine({"turns": [["dh = [1][3]", "dh = 3"]]})
    turn = await engine.run_turn("Make dh.", attempts=2)
    assert turn.status == "passed" and model.requests[1].prompt == model.requests[0].prompt
    # Chat style: the feedback without the faulty answer (hint), the best for SmolLM2.
    assert refine_variant("auto", "chat") == "hint"
    engine, model, _ = make_engine({"turns": [["dc = [1][3]", "dc = 3"]]}, style="chat")
    turn = await engine.run_turn("Make dc.", attempts=2)
    msgs = model.requests[1].messages
    assert turn.status == "passed" and msgs is not None
    assert "IndexError" in msgs[-1]["content"] and msgs[-1]["role"] == "user"
    assert not any("dc = [1][3]" in m["content"] for m in msgs if m["role"] == "assistant")


async def test_logprobs_are_asked_for_only_when_a_ranker_reads_them(make_engine) -> None:
    """Issue 22 item 6: one candidate needs none (nothing ranks it); several do (both rankers
    break ties by them); ``EngineOptions(logprobs=...)`` forces either way (a report)."""
    from assistant.engine.options import EngineOptions

    engine, model, _ = make_engine({"turns": [["lp1 = 1"], [["lp2 = 2", "lp2 = 3"]]]})
    await engine.run_turn("Make lp1.")
    await engine.run_turn("Make lp2.", candidates=2)
    assert [r.logprobs for r in model.requests[:1]] == [False]
    assert all(r.logprobs for r in model.requests[1:])
    for forced in (True, False):
        engine, model, _ = make_engine(
            {"turns": [["lf = 1"], [["lg = 2", "lg = 3"]]]},
            options=EngineOptions(logprobs=forced),
        )
        await engine.run_turn("Make lf.")
        await engine.run_turn("Make lg.", candidates=2)
        assert {r.logprobs for r in model.requests} == {forced}
