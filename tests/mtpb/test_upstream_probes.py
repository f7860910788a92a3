"""Probe programs graded the upstream way in a real kernel, with upstream's verdicts.

Each probe's verdict is written here from upstream's rules (CodeGen ``mtpb_exec.py``): one
``exec`` of the whole program; its last statement's ``.value`` wrapped in ``print`` unless it
calls a name starting with ``print``; the first argument of the last call of the program's global
``print`` graded after the program ends, even when it raised or timed out; upstream's
equivalence check. Several differ from this project's own (stricter) grading on purpose.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from assistant.execution import Kernel, KernelConfig
from assistant.mtpb.upstream import run_in_kernel, upstream_program, upstream_verdict

P = "# Import libraries.\n\nimport numpy as np\n\n"

# (name, program, expected output, upstream passes?)
PROBES: list[tuple[str, str, Any, bool]] = [
    # whole program, one exec: a def in one turn, its body in the next
    (
        "def split across turns",
        upstream_program(
            ["Define f.", "Its body.", "Print f(3)."],
            ["def f(x):\n", "    return x * 2\n", "print(f(3))"],
        ),
        6,
        True,
    ),
    ("syntax error anywhere: nothing runs", P + "print(5)\ndef broken(:\n", 5, False),
    # the last statement
    ("x = v last becomes x = print(v)", P + "print(1)\nx = 5\n", 5, True),
    ("last bare expression printed", P + "y = [3, 1]\nsorted(y)\n", [1, 3], True),
    ("last call of a print-named function kept", P + "print(9)\nprint_it = len\n", 9, False),
    (
        "print_* call last: not rewritten",
        P + "def print_it(v):\n    return v\nprint(9)\nprint_it(10)\n",
        9,
        True,
    ),
    ("a function call last prints its None", P + "def f():\n    print(11)\nf()\n", 11, False),
    ("last statement without .value", P + "print(4)\nfor _ in range(2):\n    pass\n", 4, True),
    ("print() without arguments last", P + "print(1)\nprint()\n", 1, False),
    ("__name__ is __main__", P + "if __name__ == '__main__':\n    print(8)\n", 8, True),
    # what is recorded
    (
        "builtins.print not recorded",
        P + "import builtins\nprint(1)\nif True:\n    builtins.print(2)\n",
        1,
        True,
    ),
    (
        "builtins.print not recorded (value)",
        P + "import builtins\nprint(1)\nif True:\n    builtins.print(2)\n",
        2,
        False,
    ),
    (
        "print to stderr recorded",
        P + "import sys\nprint(7, file=sys.stderr)\nif True:\n    pass\n",
        7,
        True,
    ),
    (
        "print inside a function recorded",
        P + "def show(v):\n    print(v)\nshow(12)\nif True:\n    pass\n",
        12,
        True,
    ),
    # when the object is read
    (
        "later mutation counts",
        P + "x = [1]\nprint(x)\nfor i in (2, 3):\n    x.append(i)\n",
        [1, 2, 3],
        True,
    ),
    (
        "later mutation counts (old value fails)",
        P + "x = [1]\nprint(x)\nfor i in (2, 3):\n    x.append(i)\n",
        [1],
        False,
    ),
    # programs that stop early
    ("exception after a print: graded", P + "print(5)\n1 / 0\n", 5, True),
    ("timeout after a print: graded", P + "print(42)\nwhile True:\n    pass\n", 42, True),
    ("timeout before any print", P + "while True:\n    pass\n", 42, False),
    ("sys.exit ends the program: graded", P + "import sys\nprint(3)\nsys.exit(1)\n", 3, True),
    ("exit() ends the program: graded", P + "print(3)\nexit()\nprint(4)\n", 3, True),
    # equivalence
    ("Series allclose", P + "import pandas as pd\npd.Series([1.0, 2.0000000001])\n", [1, 2], True),
    ("Series allclose (wrong)", P + "import pandas as pd\npd.Series([1.0, 2.5])\n", [1, 2], False),
    ("list of tuples as lists", P + "[(1, 2), (3, 4)]\n", [[1, 2], [3, 4]], True),
    ("tuple not first: no conversion", P + "[1, (2, 3)]\n", [1, [2, 3]], False),
    ("numpy int", P + "np.int64(5)\n", 5, True),
    ("numpy array", P + "np.array([1, 2])\n", [1, 2], True),
    ("numpy float32", P + "np.float32(0.1)\n", 0.1, True),
    ("numpy bool", P + "np.bool_(False)\n", False, True),
    ("cast str to int", P + "'5'\n", 5, True),
    ("cast float to int truncates", P + "5.9\n", 5, True),
    ("cast int to str", P + "12\n", "12", True),
    ("cast tuple to list", P + "(1, 2)\n", [1, 2], True),
    ("failed cast", P + "'x'\n", 5, False),
    ("dict_keys to list", P + "{'a': 1, 'b': 2}.keys()\n", ["a", "b"], True),
    ("map to list", P + "map(str, [1, 2])\n", ["1", "2"], True),
    ("range to list", P + "range(3)\n", [0, 1, 2], True),
    ("date as text", P + "import datetime\ndatetime.date(2020, 1, 2)\n", "2020-01-02", True),
    ("bool as text: 1 is not True", P + "1\n", True, False),
    ("bool as text: 'True' is True", P + "'True'\n", True, True),
    ("float tolerance at top level", P + "0.1 + 0.2\n", 0.3, True),
    ("no float tolerance inside a list", P + "[0.1 + 0.2]\n", [0.3], False),
    ("lists compare with ==: True == 1", P + "[True]\n", [1], True),
    ("dict cannot pass", P + "{'a': 1}\n", {"a": 1}, False),
    ("None cannot pass", P + "None\n", None, False),
]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def kernel() -> AsyncIterator[Kernel]:
    k = await Kernel(KernelConfig(timeout=20, interrupt_grace=2)).start()
    yield k
    await k.shutdown()


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("name", "program", "expected", "passes"), PROBES, ids=[p[0] for p in PROBES]
)
@pytest.mark.asyncio(loop_scope="module")
async def test_probe(kernel: Kernel, name: str, program: str, expected: Any, passes: bool) -> None:
    timeout = 1.5 if "while True" in program else 20.0
    result, res = await run_in_kernel(kernel, program, expected, timeout=timeout)
    assert result.get("passed") is passes, (name, result, res.stdout, res.stderr)
    assert upstream_verdict(result, expected).passed is passes


@pytest.mark.kernel
@pytest.mark.asyncio(loop_scope="module")
async def test_result_details(kernel: Kernel) -> None:
    result, res = await run_in_kernel(kernel, P + "print(42)\nwhile True:\n    pass\n", 42, 1.0)
    assert result["status"] == "timeout" and result["prints"] == 1
    assert "42" in res.stdout  # the program's output reaches the kernel's stdout
    v = upstream_verdict(result, 42)
    assert v.passed and v.actual == "42"
    result, _ = await run_in_kernel(kernel, P + "import sys\nprint(3)\nsys.exit(2)\n", 4)
    assert result["status"] == "exit"
    assert upstream_verdict(result, 4).kind == "error"
    result, _ = await run_in_kernel(kernel, P + "x = 1\n", "2")
    v = upstream_verdict(result, "2")
    assert v.kind == "wrong" and v.actual == "1"
    result, _ = await run_in_kernel(kernel, P + "open('./datasets/x.csv')\n", 1)
    assert upstream_verdict(result, 1, ["./datasets/x.csv"]).kind == "needs_dataset"
    assert upstream_verdict(result, 1).kind == "error"  # the prompts name no data file
    # The kernel still works and its own namespace was not touched.
    again, _ = await run_in_kernel(kernel, P + "print(1)\n", 1)
    assert again["passed"] is True
    names = await kernel.evaluate({"n": "'print_stack' in dir()"})
    assert names["n"]["data"]["text/plain"] == "False"


def _module() -> Any:
    """kernels/upstream_exec.py loaded in this process, as a fork server loads it."""
    from assistant.execution.kernelcode import app_module

    return app_module("upstream_exec")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "program", "expected", "passes"), PROBES, ids=[p[0] for p in PROBES]
)
def test_probe_in_process(name: str, program: str, expected: Any, passes: bool) -> None:

    mod = _module()
    timeout = 1.0 if "while True" in program else 20.0
    result = mod.run_upstream(program, timeout, expected=expected)
    assert result["passed"] is passes, (name, result)


@pytest.mark.unit
def test_in_process_keeps_the_callers_alarm() -> None:
    import signal

    mod = _module()

    def mine(signum: int, frame: Any) -> None:
        raise AssertionError("the caller's alarm fired")

    old = signal.signal(signal.SIGALRM, mine)
    prev = signal.setitimer(signal.ITIMER_REAL, 100.0)
    try:
        result = mod.run_upstream("print(42)\nwhile True:\n    pass\n", 0.5, expected=42)
        assert result["passed"] and result["status"] == "timeout"
        assert signal.getsignal(signal.SIGALRM) is mine
        assert 95.0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100.0
        assert "passed" not in mod.run_upstream("print(1)\n", 5.0)  # no expected: no grade
    finally:
        signal.setitimer(signal.ITIMER_REAL, *prev)
        signal.signal(signal.SIGALRM, old)
