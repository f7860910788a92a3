"""The MTPB equivalence rules, one by one, and program verdicts from execution results."""

from __future__ import annotations

import pytest

from assistant.execution.result import ExecError, ExecResult, Printed
from assistant.mtpb.grading import (
    Opaque,
    SeriesValue,
    Verdict,
    equivalent,
    grade_program,
    rebuild,
)


def pr(type_: str, value: object, repr_: str | None = None, json: bool = True) -> Printed:
    return Printed(type=type_, value=value, json=json, repr=repr_ if repr_ else repr(value))


def ok(*printed: Printed | None, status: str = "ok") -> ExecResult:
    return ExecResult(status=status, printed=None if printed == (None,) else list(printed))  # type: ignore[arg-type]


def eq(actual: object, expected: object) -> bool:
    return equivalent(actual, expected)[0]


# Upstream's own rules (no tolerance inside lists, dict and None unsupported, a program graded
# on what it printed before an error, a syntax error anywhere running nothing) are checked on
# the real upstream path, in a kernel: tests/mtpb/test_upstream_probes.py.


# -- rebuilding printed objects ---------------------------------------------------------------
@pytest.mark.unit
def test_rebuild_keeps_tuples_sets_and_special_values() -> None:
    assert rebuild(pr("list", [1, [2, 3]], "[1, (2, 3)]")) == [1, (2, 3)]
    assert rebuild(pr("tuple", [1, 2], "(1, 2)")) == (1, 2)
    assert rebuild(pr("set", ["a", "b"], "{'b', 'a'}")) == {"a", "b"}
    assert rebuild(pr("dict", {"__pairs__": [[1, "x"]]}, "{1: 'x'}")) == {1: "x"}
    assert rebuild(pr("int", {"__int__": str(10**30)}, str(10**30))) == 10**30
    assert rebuild(pr("float", {"__float__": "inf"}, "inf")) == float("inf")
    # A truncated repr cannot be parsed: the JSON copy is used.
    assert rebuild(pr("list", [1, 2], "[1, ... [10 chars truncated]")) == [1, 2]
    # numpy 2 reprs (np.float64(1.5)) are no literals: the JSON copy is used.
    assert rebuild(pr("list", [1.5], "[np.float64(1.5)]")) == [1.5]


@pytest.mark.unit
def test_rebuild_numpy_pandas_and_opaque() -> None:
    assert rebuild(pr("numpy.int64", 3, "np.int64(3)")) == 3
    assert rebuild(pr("numpy.bool", True, "np.True_")) is True
    assert rebuild(pr("numpy.ndarray", [[1, 2]], "array([[1, 2]])")) == [[1, 2]]
    assert rebuild(pr("pandas.Series", [1, 2], "0 1\n1 2")) == SeriesValue([1, 2])
    obj = rebuild(pr("foo.Bar", None, "<Bar>", json=False))
    assert isinstance(obj, Opaque) and obj.repr == "<Bar>"


# -- the equivalence rules -------------------------------------------------------------------
@pytest.mark.unit
def test_same_type_equality() -> None:
    assert eq("abc", "abc") and not eq("abc", "abd")
    assert eq(3, 3) and not eq(3, 4)
    assert eq([1, "a"], [1, "a"]) and not eq([1, 2], [2, 1])


@pytest.mark.unit
def test_float_tolerance_top_level_only() -> None:
    assert eq(0.1 + 0.2, 0.3)
    assert eq(1.0000005, 1.0) and not eq(1.00001, 1.0)
    assert eq([0.1 + 0.2, {"a": 1.0000001}], [0.3, {"a": 1}])  # here: tolerance at any depth
    assert not eq([1.001], [1.0])
    assert eq([True], [1])  # == as upstream
    assert eq([float("inf")], [float("inf")])


@pytest.mark.unit
def test_cast_to_expected_type() -> None:
    assert eq("5", 5)  # int("5")
    assert eq(5.9, 5)  # int(5.9) == 5: upstream truncates
    assert eq(7, 7.0)
    assert eq("2.5", 2.5)
    assert eq(12, "12")  # str(12)
    assert eq([1, 2], "[1, 2]")
    assert eq((1, 2), [1, 2])  # tuple vs list
    assert eq({3, 1}, [1, 3])  # list(set): small int sets iterate sorted
    assert eq("ab", ["a", "b"])  # list("ab")
    assert not eq("x", 5)  # int("x") fails: wrong, not a crash
    assert "cannot compare" in equivalent("x", 5)[1]


@pytest.mark.unit
def test_bool_compared_as_text() -> None:
    assert eq(True, True) and not eq(False, True)
    assert eq("True", True) and not eq("False", True)  # bool("False") would be True
    assert eq(1, False) is False
    assert eq(rebuild(pr("numpy.bool_", False, "False")), False)


@pytest.mark.unit
def test_list_of_tuples_becomes_list_of_lists() -> None:
    assert eq([(1, 2), (3, 4)], [[1, 2], [3, 4]])
    # Upstream converts only when the first item is a tuple; here tuples always read as lists.
    assert eq([1, (2, 3)], [1, [2, 3]])


@pytest.mark.unit
def test_numpy_and_pandas() -> None:
    arr = rebuild(pr("numpy.ndarray", [1, 2, 3], "array([1, 2, 3])"))
    assert eq(arr, [1, 2, 3])
    assert eq(rebuild(pr("numpy.float32", 0.10000000149011612, "0.1")), 0.1)
    s = SeriesValue([1.0, 2.0000000001])
    assert eq(s, [1, 2])  # np.allclose
    assert not eq(s, [1, 3])
    assert eq(SeriesValue([5, 5]), 5)  # upstream broadcasts a scalar expected output
    assert not eq(SeriesValue(["a"]), ["a"])  # allclose on strings fails, as upstream


@pytest.mark.unit
def test_dict_and_none_graded_here() -> None:
    exp = {"1": ["a", "b"], "3": [[1, 2, 3]]}
    assert eq({"1": ["a", "b"], "3": [[1, 2, 3]]}, exp)
    assert eq({"1": ("a", "b"), "3": [(1, 2, 3)]}, exp)  # tuples read as JSON lists
    assert not eq({"1": ["a"]}, exp)
    assert eq(None, None) and eq("None", None) and not eq(0, None)


@pytest.mark.unit
def test_opaque_objects_cast() -> None:
    df = Opaque("pandas.DataFrame", "   a\n0  1", {"a": [1]})
    assert eq(df, "   a\n0  1")  # str(df) is its repr
    assert eq(df, ["a"])  # list(df) is the column names
    assert not eq(df, 3)


# -- program verdicts ------------------------------------------------------------------------
@pytest.mark.unit
def test_last_print_of_the_whole_program_is_graded() -> None:
    results = [ok(pr("int", 1)), ExecResult(status="ok"), ok(pr("int", 2), pr("str", "x"))]
    v = grade_program(results, 2)
    assert v.passed and v.actual == "2" and v.actual_type == "int"
    assert grade_program(results, 1).kind == "wrong"


@pytest.mark.unit
def test_wrong_output_shows_expected_and_actual() -> None:
    v = grade_program([ok(pr("list", [2, 1]))], [1, 2])
    assert v.kind == "wrong" and v.label == "wrong output"
    assert v.describe() == "wrong output: expected [1, 2], got [2, 1]"
    assert Verdict.from_dict(v.to_dict()) == v


@pytest.mark.unit
def test_no_output() -> None:
    assert grade_program([ExecResult(status="ok")], 1).kind == "no_output"
    v = grade_program([ExecResult(status="ok", printed=[])], 1)
    assert v.kind == "no_output" and "without arguments" in v.detail


@pytest.mark.unit
def test_error_timeout_died() -> None:
    err = ExecResult(status="error", error=ExecError("ZeroDivisionError", "division by zero"))
    v = grade_program([ok(pr("int", 1)), err], 1)
    assert v.kind == "error" and v.describe() == "error: ZeroDivisionError: division by zero"
    t = ExecResult(status="timeout", message="timed out after 20 s")
    assert grade_program([ok(pr("int", 1)), t], 1).kind == "timeout"
    d = ExecResult(status="died", message="the kernel died")
    assert grade_program([d], 1).describe() == "died: the kernel died"


@pytest.mark.unit
def test_needs_dataset_up_front_and_from_error() -> None:
    v = grade_program([], 5, missing_datasets=["./datasets/melb_data.csv"])
    assert v.kind == "needs_dataset" and v.describe() == "needs dataset: ./datasets/melb_data.csv"
    err = ExecError(
        "FileNotFoundError",
        "[Errno 2] No such file or directory: './datasets/mlbootcamp5_train.csv'",
    )
    results = [ExecResult(status="ok"), ExecResult(status="error", error=err)]
    named = ["./datasets/mlbootcamp5_train.csv"]
    v = grade_program(results, 5, datasets=named)
    assert v.kind == "needs_dataset" and v.detail == "./datasets/mlbootcamp5_train.csv"
    assert not v.passed


@pytest.mark.unit
@pytest.mark.parametrize(
    ("missing", "named", "kind"),
    [
        ("'./datasets/x.csv'", ["./datasets/x.csv"], "needs_dataset"),
        ("'datasets/x.csv'", ["./datasets/x.csv"], "needs_dataset"),
        ('"datasets/x.csv"', ["./datasets/x.csv"], "needs_dataset"),
        # a file the model invented, for a problem whose prompts name no data file
        ("'datasets/x.csv'", [], "error"),
        ("'./datasets/made_up.csv'", [], "error"),
        # a problem that reads data, but the program opens another file
        ("'datasets/other.csv'", ["./datasets/x.csv"], "error"),
        ("'/tmp/datasets/x.csv.bak'", ["./datasets/x.csv"], "error"),
    ],
)
def test_needs_dataset_only_for_the_files_the_prompts_name(
    missing: str, named: list[str], kind: str
) -> None:
    from assistant.mtpb.upstream import upstream_verdict

    evalue = f"[Errno 2] No such file or directory: {missing}"
    err = ExecError("FileNotFoundError", evalue)
    v = grade_program([ExecResult(status="error", error=err)], 5, datasets=named)
    assert v.kind == kind, v.describe()
    up = {"status": "error", "error": f"FileNotFoundError: {evalue}", "passed": False}
    assert upstream_verdict(up, 5, named).kind == kind


@pytest.mark.kernel
@pytest.mark.asyncio
async def test_real_kernel_values_grade_like_upstream() -> None:
    """Capture in a real kernel, rebuild, grade: numpy, pandas, tuples, sets, dicts, None."""
    from assistant.execution import Kernel, KernelConfig

    cases = [
        ("import numpy as np\nprint(np.int64(7))", 7),
        ("import numpy as np\nprint(np.float32(0.25))", 0.25),
        ("import numpy as np\nprint(np.array([1, 2]))", [1, 2]),
        ("import numpy as np\nprint(np.bool_(True))", True),
        ("import pandas as pd\nprint(pd.Series([1.0, 2.0]))", [1, 2]),
        ("print([(1, 'a'), (2, 'b')])", [[1, "a"], [2, "b"]]),
        ("print({3, 1, 2})", [1, 2, 3]),
        ("print({'1': ('a',)})", {"1": ["a"]}),
        ("print(None)", None),
        ("x = 41\nx + 1", 42),  # final cell: a bare last expression is printed
    ]
    async with Kernel(KernelConfig(timeout=30)) as k:
        for code, expected in cases:
            res = await k.execute(code, print_last=True)
            v = grade_program([res], expected)
            assert v.passed, (code, v.describe())


@pytest.mark.unit
def test_printed_matches_for_the_engine() -> None:
    from assistant.mtpb.grading import printed_matches

    assert printed_matches([[1, 2]], pr("list", [[1, 2]], "[(1, 2)]"))
    assert printed_matches(5, pr("str", "5"))
    assert not printed_matches(5, None)
