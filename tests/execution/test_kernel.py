"""The execution layer against a real ipykernel: capture, errors, limits of time, death."""

from __future__ import annotations

import os

import pytest
import pytest_asyncio

from assistant.execution import Kernel, KernelConfig

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def kernel():
    k = await Kernel(KernelConfig(timeout=5, interrupt_grace=2)).start()
    yield k
    await k.shutdown()


async def test_state_is_kept_across_cells(kernel: Kernel) -> None:
    await kernel.execute("counter = 10")
    await kernel.execute("counter += 5")
    res = await kernel.execute("counter", print_last=True)
    assert res.ok
    assert res.stdout == "15\n"
    assert res.last_printed is not None and res.last_printed.value == 15


async def test_final_cell_wraps_last_expression_like_mtpb(kernel: Kernel) -> None:
    await kernel.execute("def f(x):\n    return x * 2")
    res = await kernel.execute("f(2)", print_last=True)
    assert res.stdout == "4\n"
    assert res.print_count == 1
    assert res.display == []  # printed, not displayed as an execute_result


async def test_cell_ending_in_print_stays_as_is(kernel: Kernel) -> None:
    res = await kernel.execute("print('a', 3)", print_last=True)
    assert res.stdout == "a 3\n"
    assert res.print_count == 1
    assert [p.value for p in res.printed or []] == ["a", 3]


async def test_non_final_cell_does_not_wrap(kernel: Kernel) -> None:
    res = await kernel.execute("1 + 1")
    assert res.stdout == ""
    assert res.printed is None
    assert res.display == ["2"]


@pytest.mark.parametrize(
    ("code", "type_", "value"),
    [
        ("7", "int", 7),
        ("[1, 'a', 2.5]", "list", [1, "a", 2.5]),
        ("(1, 2)", "tuple", [1, 2]),
        ("{'k': [1]}", "dict", {"k": [1]}),
        ("True", "bool", True),
        ("import numpy as np\nnp.array([[1, 2], [3, 4]])", "numpy.ndarray", [[1, 2], [3, 4]]),
        ("import numpy as np\nnp.float64(0.5)", "numpy.float64", 0.5),
        ("import pandas as pd\npd.Series([1, 2, 3])", "pandas.Series", [1, 2, 3]),
        ("import pandas as pd\npd.DataFrame({'a': [1, 2]})", "pandas.DataFrame", {"a": [1, 2]}),
    ],
)
async def test_print_capture_of_objects(
    kernel: Kernel, code: str, type_: str, value: object
) -> None:
    res = await kernel.execute(code, print_last=True)
    assert res.ok, res.feedback()
    p = res.last_printed
    assert p is not None
    assert p.type == type_
    assert p.json and p.value == value


async def test_unjsonable_objects_come_back_as_repr(kernel: Kernel) -> None:
    res = await kernel.execute(
        "class A:\n    def __repr__(self): return 'A()'\nA()", print_last=True
    )
    p = res.last_printed
    assert p is not None and not p.json and p.value is None and p.repr == "A()"
    assert p.type.endswith(".A")


async def test_printed_value_is_a_snapshot(kernel: Kernel) -> None:
    res = await kernel.execute("xs = [1]\nprint(xs)\nxs.append(2)")
    assert res.last_printed is not None and res.last_printed.value == [1]


async def test_syntax_error(kernel: Kernel) -> None:
    res = await kernel.execute("def f(:\n    pass")
    assert res.status == "error"
    assert res.error is not None and res.error.ename == "SyntaxError"


async def test_runtime_error_has_clean_traceback(kernel: Kernel) -> None:
    res = await kernel.execute("def g():\n    return 1 / 0\ng()")
    assert res.status == "error"
    assert res.error is not None and res.error.ename == "ZeroDivisionError"
    tb = res.feedback()
    assert "\x1b[" not in tb
    assert "ZeroDivisionError: division by zero" in tb
    assert "return 1 / 0" in tb


async def test_input_without_handler_fails_fast(kernel: Kernel) -> None:
    res = await kernel.execute("input('name? ')")
    assert res.status == "error"
    assert res.error is not None and res.error.ename == "StdinNotImplementedError"
    assert res.duration < 3


async def test_input_with_handler_is_answered(kernel: Kernel) -> None:
    asked: list[str] = []

    async def answer(prompt: str, password: bool) -> str:
        asked.append(prompt)
        return "Ada"

    res = await kernel.execute("name = input('name? ')\nname", print_last=True, stdin=answer)
    assert res.ok
    assert asked == ["name? "]
    assert res.last_printed is not None and res.last_printed.value == "Ada"


async def test_timeout_interrupts_and_keeps_state(kernel: Kernel) -> None:
    await kernel.execute("kept = 'yes'")
    res = await kernel.execute("while True: pass", timeout=1)
    assert res.status == "timeout"
    assert not res.restarted
    assert "timed out after 1 s" in res.message
    after = await kernel.execute("kept", print_last=True)
    assert after.last_printed is not None and after.last_printed.value == "yes"


async def test_interrupt_right_after_sending_is_not_lost(kernel: Kernel) -> None:
    """ipykernel ignores SIGINT until it handles the request: an interrupt asked for in that
    window waits for the cell to start instead of vanishing (the cell ran to its timeout)."""
    import asyncio
    import time

    for settle in (0.0, 0.005, 0.02):
        run = asyncio.ensure_future(kernel.execute("import time\ntime.sleep(4)", timeout=10))
        await asyncio.sleep(settle)  # the window between sending and the kernel taking it
        started = time.monotonic()
        await kernel.interrupt()
        res = await run
        assert res.error is not None and res.error.ename == "KeyboardInterrupt", settle
        assert time.monotonic() - started < 2


async def test_output_is_capped(kernel: Kernel) -> None:
    small = Kernel(KernelConfig(output_limit=1000))
    await small.start()
    try:
        res = await small.execute("print('x' * 100_000)")
        assert res.ok
        assert len(res.stdout) < 1200
        assert res.truncated_bytes >= 99_000
        assert "truncated" in res.stdout
    finally:
        await small.shutdown()


async def test_kernel_death_is_detected_and_kernel_restarted() -> None:
    k = await Kernel(KernelConfig(timeout=10)).start()
    try:
        await k.execute("lost = 1")
        old_pid = k.pid
        res = await k.execute("import os\nos._exit(1)")
        assert res.status == "died"
        assert res.restarted
        assert res.duration < 5
        assert k.pid != old_pid
        after = await k.execute("lost")
        assert after.status == "error" and after.error is not None
        assert after.error.ename == "NameError"
        ok = await k.execute("2 + 2", print_last=True)
        assert ok.last_printed is not None and ok.last_printed.value == 4
    finally:
        await k.shutdown()


async def test_restart_clears_state_and_shutdown_leaves_no_process() -> None:
    k = await Kernel().start()
    await k.execute("a = 1")
    await k.restart()
    res = await k.execute("'a' in dir()", print_last=True)
    assert res.last_printed is not None and res.last_printed.value is False
    pid = k.pid
    assert pid is not None
    await k.shutdown()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_the_interrupt_guard_keeps_future_imports_and_line_numbers(kernel: Kernel) -> None:
    """The cell's first statement arms interrupts: after ``from __future__`` imports, and
    without moving the lines a traceback names."""
    res = await kernel.execute("from __future__ import annotations\nx: undefined_type = 1\nx")
    assert res.ok, res.feedback()
    res = await kernel.execute("a = 1\nb = 2\nraise ValueError('on line 3')")
    assert res.error is not None and res.error.ename == "ValueError"
    assert "line 3" in res.error.short_traceback()
