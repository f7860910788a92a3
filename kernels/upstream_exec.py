"""Run one MTPB program the way the upstream CodeGen harness (``mtpb_exec.py``) grades it.

Runs inside a kernel (or any Python process with numpy); standard library only at import time,
and self-contained: the client loads it as module ``assistant_upstream`` and calls
``run_upstream(program, timeout, expected=...)``. Another grading path (a fork server) may call
the same function, so it keeps no state between calls.

The rules, as upstream applies them (written here from its behaviour, not copied):

* the whole program (prefix, turn comments and every turn's code) is ONE ``exec``: a ``def``
  in one turn whose body is in the next runs fine;
* the program's last top-level statement gets its ``.value`` wrapped in ``print(...)`` unless
  it is a call of a plain name starting with ``print``: ``x = v`` becomes ``x = print(v)``, a
  ``for`` loop (no ``.value``) stays as it is; the rewritten tree is unparsed and that text runs;
* the namespace is fresh: ``__name__ == "__main__"``, ``print_stack``, ``builtins`` and a global
  ``print`` that records its arguments and then calls the real print. Only calls resolving to
  that global name are recorded (``file=sys.stderr`` included); ``builtins.print`` is not;
* the graded object is the first argument of the last recorded call, read after the program
  ended, so a later mutation of that object counts;
* an exception (timeout included) ends the program, which is still graded on what it printed;
* equivalence (``upstream_equivalent``): a pandas Series and the expected value become arrays
  compared with ``np.allclose``; a list whose first item is a tuple becomes a list of lists;
  numpy scalars and arrays become Python values; on a type mismatch the actual value is cast to
  the expected type (bool: both compared as text); str/int/set/list/bool/tuple compare with
  ``==`` (so no float tolerance inside containers), float within 1e-6; anything else (dict,
  None) raises, which is a failed test.

Where upstream depends on its environment, this module does the sensible thing instead:

* upstream's ``reliability_guard`` sets ``os.putenv``, ``os.getcwd``, ``subprocess.Popen``...
  to None and hides ``joblib``, which makes ``import sklearn`` fail (problem 14 can never pass
  there). The guard is a crude sandbox, not part of the grading rules: it is NOT reproduced,
  so programs using those functions run (the kernel has its own limits).
* ``sys.exit()`` (a ``SystemExit``, which upstream's ``except Exception`` does not catch) ends
  upstream's whole evaluation run. Here it ends the program, which is graded on what it printed
  so far, exactly as upstream grades a program that raised; ``exit()``/``quit()`` (None under
  upstream's guard, so a TypeError there) end it the same way. Other ``BaseException``s too.
* upstream recognises a Series by the text ``<class 'pandas.core.series.Series'>``, which
  pandas 3 no longer prints; the class is compared instead (``_is_series``).
* the time limit is a ``SIGALRM`` timer like upstream's (main thread only). A program that
  swallows the timeout and keeps looping is interrupted again every second (upstream would
  hang); code stuck in C ignores signals in both, and the client's own timeout then kills the
  kernel: that program is a timeout with nothing graded. Called off the main thread, there
  is no timer at all: the caller must bound the time.
* upstream runs every program of a run in one process, so module state (numpy's random state,
  monkeypatched modules) leaks from program to program; here each program gets a fresh
  namespace in a kernel that ran only that program's own cells before (modules stay loaded).
"""

from __future__ import annotations

import ast
import builtins
import signal
import sys
import threading
import time
from typing import Any

NO_EXPECTED: Any = object()
_FLOAT_TOL = 1e-6
_REPR_MAX = 2000
_GRADE_GRACE = 5.0  # seconds for grading when the program used up its time (upstream: none)


class UpstreamTimeout(Exception):
    """Raised in the program when its time is up (an Exception, as upstream's)."""


def rewrite_program(program: str) -> str:
    """The program text upstream executes: its last statement's value wrapped in print()."""
    try:
        tree = ast.parse(program)
    except Exception:
        return program  # upstream runs the original, which then fails to compile
    if _ends_with_print(tree):
        return program
    try:
        last = tree.body[-1]
        last.value = ast.Call(  # type: ignore[attr-defined]
            func=ast.Name(id="print", ctx=ast.Load()),
            args=[last.value],  # type: ignore[attr-defined]
            keywords=[],
        )
        ast.fix_missing_locations(tree)
        return ast.unparse(tree)
    except Exception:  # no .value (for, def, import...) or nothing to unparse: as it is
        return program


def _ends_with_print(tree: ast.Module) -> bool:
    try:
        return bool(tree.body[-1].value.func.id.startswith("print"))  # type: ignore[attr-defined]
    except Exception:
        return False


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:  # no numpy: no numpy value can be printed either
        return None
    return numpy


def _is_series(obj: Any) -> bool:
    """Exactly a pandas Series (no subclass), as upstream's test of ``str(type(o1))``.

    That test spells the class ``pandas.core.series.Series``; pandas 3 reports it as
    ``pandas.Series``, which would silently turn "Series by allclose" into ``list(series) ==``.
    The class itself is compared instead, so the rule holds whatever the pandas version.
    """
    pd = sys.modules.get("pandas")
    series = getattr(pd, "Series", None) if pd is not None else None
    return series is not None and type(obj) is series


def upstream_equivalent(o1: Any, o2: Any) -> bool:
    """Upstream's check of an actual value ``o1`` against an expected one ``o2``; may raise."""
    np = _numpy()
    if _is_series(o1) and np is not None:
        o1 = o1.to_numpy()
        o2 = np.array(o2)
    elif type(o1) is list:
        if len(o1) > 0 and type(o1[0]) is tuple:
            o1 = [list(t) for t in o1]
    elif np is not None:
        t = type(o1)
        if t in (np.uint8, np.int16, np.int32, np.int64):
            o1 = int(o1)
        elif t in (np.float16, np.float32, np.float64):
            o1 = float(o1)
        elif t is np.bool_:
            o1 = bool(o1)
        elif t is np.ndarray:
            o1 = o1.tolist()
    if type(o1) is not type(o2):
        if type(o2) is bool:
            o1, o2 = str(o1), str(o2)  # bool("False") is True: compare as text
        else:
            o1 = type(o2)(o1)
    kind = type(o1)
    if kind in (str, int, set, list, bool, tuple):
        return bool(o1 == o2)
    if kind is float:
        return bool(abs(o1 - o2) < _FLOAT_TOL)
    if np is not None and kind is np.ndarray:
        return bool(np.allclose(o1, o2))
    raise ValueError(f"Unsupported type {kind}")


def _type_name(obj: object) -> str:
    cls = type(obj)
    mod = cls.__module__
    return cls.__qualname__ if mod == "builtins" else f"{mod.split('.')[0]}.{cls.__qualname__}"


def _repr(obj: object) -> str:
    try:
        text = repr(obj)
    except Exception as exc:
        text = f"<unrepresentable {type(obj).__name__}: {exc!r}>"
    return text if len(text) <= _REPR_MAX else text[:_REPR_MAX] + "..."


def _raise_exit(code: object = None) -> None:
    raise SystemExit(code)


def _namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {"print_stack": [], "__name__": "__main__", "builtins": builtins}

    def print(*args: Any, **kwargs: Any) -> Any:  # the program's own print
        ns["print_stack"].append({"args": args, "kwargs": kwargs})
        return builtins.print(*args, **kwargs)

    ns["print"] = print
    ns["exit"] = ns["quit"] = _raise_exit  # not site's Quitter, which closes sys.stdin
    return ns


class _Alarm:
    """``SIGALRM`` raising UpstreamTimeout after ``seconds``, then every second (main thread).

    A timer and handler the caller had (a test runner's own timeout) are put back afterwards.
    """

    def __init__(self) -> None:
        self.usable = threading.current_thread() is threading.main_thread()
        self._old: Any = None
        self._old_timer: tuple[float, float] = (0.0, 0.0)
        self._since = 0.0

    def _handler(self, signum: int, frame: Any) -> None:
        raise UpstreamTimeout("Timed out!")

    def start(self, seconds: float) -> None:
        if not self.usable:
            return
        self._old = signal.signal(signal.SIGALRM, self._handler)
        self._old_timer = signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3), 1.0)
        self._since = time.monotonic()

    def stop(self) -> None:
        if not self.usable:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._old if self._old is not None else signal.SIG_DFL)
        delay, interval = self._old_timer
        if delay > 0:
            left = delay - (time.monotonic() - self._since)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), interval)


def run_upstream(
    program: str, timeout: float = 20.0, expected: Any = NO_EXPECTED
) -> dict[str, Any]:
    """Run ``program`` with upstream's semantics; grade it when ``expected`` is given.

    Returns a JSON-safe dict: ``status`` ("ok", "error", "timeout" or "exit"), ``error`` (text
    or None), ``prints`` (recorded print calls), ``printed`` (type and repr of the graded
    object, or None), ``duration`` (seconds) and, with ``expected``: ``passed`` and ``reason``
    (why it failed, upstream's exception text where it raised).
    """
    ns = _namespace()
    alarm = _Alarm()
    status, error = "ok", None
    t0 = time.perf_counter()
    code = rewrite_program(program)
    alarm.start(timeout)
    try:
        try:
            exec(code, ns)
        except UpstreamTimeout:
            status, error = "timeout", f"timed out after {timeout:g} s"
        except KeyboardInterrupt:  # the client's interrupt: treated as the timeout
            status, error = "timeout", "interrupted"
        except SystemExit as exc:
            status, error = "exit", f"SystemExit: {exc.code}"
        except BaseException as exc:  # graded all the same
            status, error = "error", f"{type(exc).__name__}: {exc}"
        duration = time.perf_counter() - t0
        alarm.stop()
        alarm.start(max(timeout - duration, _GRADE_GRACE))
        out = _grade(ns, expected)
    except UpstreamTimeout:
        out = {"printed": None, "passed": False, "reason": "Timed out! (while grading)"}
        duration = time.perf_counter() - t0
    finally:
        alarm.stop()
    stack = ns.get("print_stack")
    out.update(
        status=status,
        error=error,
        prints=len(stack) if isinstance(stack, list) else 0,
        duration=round(duration, 4),
    )
    if expected is NO_EXPECTED:
        out.pop("passed", None)
        out.pop("reason", None)
    return out


def _grade(ns: dict[str, Any], expected: Any) -> dict[str, Any]:
    """Upstream: ``print_stack[-1]["args"][0]`` then the equivalence check; any raise fails."""
    try:
        obj = ns["print_stack"][-1]["args"][0]
    except Exception as exc:
        return {"printed": None, "passed": False, "reason": f"{type(exc).__name__}: {exc}"}
    printed = {"type": _type_name(obj), "repr": _repr(obj)}
    if expected is NO_EXPECTED:
        return {"printed": printed}
    try:
        ok = upstream_equivalent(obj, expected)
        reason = "" if ok else "not equivalent"
    except UpstreamTimeout:
        raise
    except Exception as exc:
        ok, reason = False, f"{type(exc).__name__}: {exc}"
    return {"printed": printed, "passed": ok, "reason": reason}
