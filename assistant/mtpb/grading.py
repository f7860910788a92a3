"""MTPB grading: the last printed object of a program against the expected output.

Upstream (CodeGen ``mtpb_exec.py``) grades the first argument of the program's last ``print``
call with these rules, reproduced here:

1. a pandas Series becomes a numpy array, and so does the expected output; arrays are
   compared with ``np.allclose``;
2. a list whose first item is a tuple becomes a list of lists;
3. numpy scalars become Python int/float/bool, a numpy array becomes ``.tolist()``;
4. on a type mismatch the actual value is cast to the expected output's type
   (``type(expected)(actual)``), except bool, compared as text (``bool("False")`` is True);
5. str/int/set/list/bool/tuple compare with ``==``, float within 1e-6 (top level only).

Upstream supports no other type, so its dict (problem 89) and None (problem 41) tests can never
pass. This project grades them: dicts like lists (tuples read as lists, as in JSON), None as
text (``None`` or ``"None"``, like bool). It also applies the float tolerance inside lists and
dicts, where upstream's ``==`` fails ``[0.1 + 0.2]`` against ``[0.3]``.

Upstream's verdicts come from running the whole program once more the way its harness does
(``upstream.py`` + ``kernels/upstream_exec.py``): one exec, its print recorder, its equivalence
on the live object. Both are strategies of the one grading path in ``rules.py``.

The kernel hands back printed objects as ``Printed`` (type name, JSON-safe value, repr);
``rebuild`` turns one back into the Python value the rules above expect.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from assistant.execution.result import ExecResult, Printed

FLOAT_TOL = 1e-6
Kind = Literal["pass", "wrong", "error", "timeout", "died", "no_output", "needs_dataset"]
LABELS: dict[str, str] = {
    "pass": "pass",
    "wrong": "wrong output",
    "error": "error",
    "timeout": "timeout",
    "died": "died",
    "no_output": "no output",
    "needs_dataset": "needs dataset",
}
_CONTAINERS = {"list", "tuple", "set", "frozenset", "dict"}
_TRUNCATED = "chars truncated]"


@dataclass
class Opaque:
    """A printed object with no Python literal form (a DataFrame, a class instance...)."""

    type: str
    repr: str
    value: Any = None  # its JSON-safe copy when the kernel could make one

    def __str__(self) -> str:
        return self.repr


@dataclass
class SeriesValue:
    """A printed pandas Series (its values), graded with numpy like upstream."""

    values: list[Any]


def _decode(v: Any) -> Any:
    """Undo the kernel's JSON markers for big ints, nan/inf and non-string dict keys."""
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if isinstance(v, dict):
        if set(v) == {"__int__"}:
            return int(v["__int__"])
        if set(v) == {"__float__"}:
            return float(v["__float__"])
        if set(v) == {"__pairs__"}:
            out = {}
            for k, val in v["__pairs__"]:
                k = _decode(k)
                out[tuple(k) if isinstance(k, list) else k] = _decode(val)
            return out
        return {k: _decode(x) for k, x in v.items()}
    return v


def rebuild(p: Printed) -> Any:
    """The Python value of a printed object, as close to the original as the capture allows."""
    t = p.type
    if t in _CONTAINERS and _TRUNCATED not in p.repr:
        # The repr keeps what JSON loses (tuples inside lists, set elements): prefer it.
        try:
            val = ast.literal_eval(p.repr)
            if type(val).__name__ == t:
                return val
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    if not p.json:
        return Opaque(t, p.repr)
    v = _decode(p.value)
    if t in ("str", "int", "float", "bool", "NoneType", "list", "dict"):
        return v
    if t == "tuple":
        return tuple(v)
    if t in ("set", "frozenset"):
        try:
            return set(v)
        except TypeError:
            return Opaque(t, p.repr, v)
    if t.startswith("numpy."):
        if t in ("numpy.bool_", "numpy.bool"):
            return bool(v)
        return v  # scalars are already int/float; arrays are .tolist() as upstream does
    if t == "pandas.Series":
        return SeriesValue(list(v))
    return Opaque(t, p.repr, v)


def _jsonish(v: Any) -> Any:
    """Tuples as lists, recursively: how a value looks once it has been through JSON."""
    if isinstance(v, (list, tuple)):
        return [_jsonish(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonish(x) for k, x in v.items()}
    return v


def _cast(value: Any, target: type) -> Any:
    if isinstance(value, Opaque):
        if target is str:
            return value.repr  # str() of such objects is nearly always their repr
        if target in (list, tuple, set) and isinstance(value.value, (list, dict)):
            return target(value.value)  # list(DataFrame) is its column names, like list(dict)
        if target in (int, float) and isinstance(value.value, (int, float)):
            return target(value.value)
        raise TypeError(f"cannot cast a {value.type} to {target.__name__}")
    return target(value)


def equivalent(actual: Any, expected: Any) -> tuple[bool, str]:
    """Whether ``actual`` (rebuilt) matches ``expected`` (from JSON); the reason when not."""
    try:
        return _equivalent(actual, expected)
    except Exception as exc:  # a failed cast is a wrong answer, not a crash of the grader
        return False, f"cannot compare: {type(exc).__name__}: {exc}"


def _equivalent(o1: Any, o2: Any) -> tuple[bool, str]:
    if isinstance(o1, SeriesValue):
        import numpy as np

        a, b = np.array(o1.values), np.array(o2)
        return bool(np.allclose(a, b)), ""
    if isinstance(o1, list) and o1 and isinstance(o1[0], tuple):
        o1 = [list(t) for t in o1]
    if o2 is None:
        return str(o1) == "None", ""  # like bool: compared as text
    if type(o1) is not type(o2):
        if type(o2) is bool:
            return str(o1) == str(o2), ""
        o1 = _cast(o1, type(o2))
    if isinstance(o2, float):
        return bool(abs(o1 - o2) < FLOAT_TOL), ""
    if isinstance(o2, (list, dict)):
        return _close(_jsonish(o1), o2), ""
    return bool(o1 == o2), ""


def _close(a: Any, b: Any) -> bool:
    """``==`` with the float tolerance at every depth: passes whatever ``==`` passes, and more."""
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a == b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return bool(a == b or abs(a - b) < FLOAT_TOL)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return bool(a == b)


@dataclass
class Verdict:
    """How one program did on one test case."""

    kind: Kind
    detail: str = ""  # the error, the reason for a mismatch, the missing dataset
    expected: Any = None
    actual: str | None = None  # repr of the last printed object
    actual_type: str | None = None

    @property
    def passed(self) -> bool:
        return self.kind == "pass"

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    def describe(self) -> str:
        """One line for humans: 'wrong output: expected [1, 2], got [2, 1]'."""
        if self.kind == "pass":
            return "pass"
        if self.kind == "wrong":
            why = f" ({self.detail})" if self.detail else ""
            return f"wrong output: expected {self.expected!r}, got {self.actual}{why}"
        if self.kind == "needs_dataset":
            return f"needs dataset: {self.detail}"
        return f"{self.label}: {self.detail}" if self.detail else self.label

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verdict:
        kind = d.get("kind")
        if kind not in LABELS:
            raise ValueError(f"unknown verdict kind {kind!r}")
        return cls(
            kind,
            str(d.get("detail") or ""),
            d.get("expected"),
            d.get("actual"),
            d.get("actual_type"),
        )


def _dataset_from_error(res: ExecResult, datasets: Sequence[str]) -> str | None:
    """The data file a FileNotFoundError names, when the problem's prompts name it too."""
    err = res.error
    if err is None or err.ename != "FileNotFoundError":
        return None
    return named_dataset(err.evalue, datasets)


def named_dataset(error: str, datasets: Sequence[str]) -> str | None:
    """Which of ``datasets`` (the data files a problem's prompts name, ``./datasets/x.csv``)
    the text of a FileNotFoundError names; None for any other file. A model that invents
    ``read_csv('datasets/x.csv')`` for a problem that reads no data gets an error, not a
    "needs dataset" that would take the problem out of the pass@k average."""
    for path in datasets:
        bare = path.removeprefix("./")
        for quote in ("'", '"'):
            for shown in (bare, "./" + bare):
                if f"{quote}{shown}{quote}" in error:
                    return shown
    return None


def last_print(results: Sequence[ExecResult]) -> tuple[bool, Printed | None]:
    """(whether anything was printed, the first argument of the last print of all cells)."""
    for res in reversed(results):
        if res.printed is not None:
            return True, (res.printed[0] if res.printed else None)
    return False, None


def grade_program(
    results: Sequence[ExecResult],
    expected: Any,
    *,
    missing_datasets: Sequence[str] = (),
    datasets: Sequence[str] = (),
) -> Verdict:
    """Grade the cells of one program (in the order they ran) against one expected output.

    ``datasets``: the data files the problem's prompts name (``Problem.datasets()``); only a
    FileNotFoundError for one of them is "needs dataset"."""
    exp = expected if _json_safe(expected) else repr(expected)
    if missing_datasets:
        return Verdict("needs_dataset", ", ".join(missing_datasets), exp)
    failed = next((r for r in results if r.status != "ok"), None)
    if failed is not None:
        ds = _dataset_from_error(failed, datasets)
        if ds is not None:
            return Verdict("needs_dataset", ds, exp)
    if failed is not None:
        failure = _failure(failed, exp)
        if failure is not None:
            return failure
    printed_any, arg = last_print(results)
    if not printed_any:
        return Verdict("no_output", "the program printed nothing", exp)
    if arg is None:
        return Verdict("no_output", "print() was called without arguments", exp)
    ok, why = equivalent(rebuild(arg), expected)
    if ok:
        return Verdict("pass", "", exp, arg.repr, arg.type)
    return Verdict("wrong", why, exp, arg.repr, arg.type)


def _failure(res: ExecResult, exp: Any) -> Verdict | None:
    if res.status == "timeout":
        return Verdict("timeout", res.message or "timed out", exp)
    if res.status == "died":
        return Verdict("died", res.message or "the kernel died", exp)
    if res.status in ("error", "interrupted"):
        detail = res.error.summary() if res.error is not None else (res.message or res.status)
        return Verdict("error", detail, exp)
    return None


def _json_safe(v: Any) -> bool:
    if v is None or isinstance(v, (str, bool, int)):
        return True
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, list):
        return all(_json_safe(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _json_safe(x) for k, x in v.items())
    return False


def printed_matches(expected: Any, printed: Printed | None) -> bool:
    """An engine ``matcher`` with MTPB semantics: ``EngineOptions(matcher=printed_matches)``."""
    return printed is not None and equivalent(rebuild(printed), expected)[0]
