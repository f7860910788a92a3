"""Code installed into every Jupyter kernel the assistant starts.

It runs inside the kernel process (executed silently right after start) and installs:

* a print hook recording the arguments of every ``print`` call, so the client can fetch the
  last printed object of a cell as a value (JSON-safe where possible, repr otherwise);
* an IPython AST transformer that, for cells marked "final" (MTPB semantics), wraps a last
  bare expression in ``print(...)``; a cell already ending in a print stays as it is;
* a line transformer that recognises the final-cell marker (a last comment line) so the
  client needs one round trip per cell.

Everything lives in one namespace object, ``__assistant__``, kept out of ``%who``.
This file must stay importable without the assistant package: it runs in user kernels too.
"""

from __future__ import annotations

import ast
import builtins
import copy
import json
import math
import sys
from typing import Any

FINAL_MARKER = "#%%assistant:final"
_MAX_ITEMS = 10_000
_MAX_REPR = 4_000


def type_name(obj: object) -> str:
    cls = type(obj)
    mod = cls.__module__
    if mod in ("builtins", "__builtin__"):
        return cls.__qualname__
    top = mod.split(".")[0]
    if top == "numpy":
        return "numpy." + cls.__qualname__
    if top == "pandas":
        return "pandas." + cls.__qualname__
    return mod + "." + cls.__qualname__


def safe_repr(obj: object) -> str:
    try:
        text = repr(obj)
    except Exception as exc:  # a broken __repr__ must not break capture
        text = f"<unrepresentable {type(obj).__name__}: {exc!r}>"
    if len(text) > _MAX_REPR:
        text = text[:_MAX_REPR] + f"... [{len(text) - _MAX_REPR} chars truncated]"
    return text


class _NotJsonable(Exception):
    pass


def _jsonable(obj: object, depth: int = 0) -> object:
    """A JSON-safe copy of ``obj`` or raise _NotJsonable. Floats keep nan/inf (Python json)."""
    if depth > 50:
        raise _NotJsonable
    if obj is None or isinstance(obj, (bool, int, str)):
        if isinstance(obj, int) and not isinstance(obj, bool) and abs(obj) > 2**63:
            return {"__int__": str(obj)}
        return obj
    if isinstance(obj, float):
        if math.isnan(obj) or math.isinf(obj):
            return {"__float__": repr(obj)}
        return obj
    if isinstance(obj, (list, tuple)):
        if len(obj) > _MAX_ITEMS:
            raise _NotJsonable
        return [_jsonable(x, depth + 1) for x in obj]
    if isinstance(obj, (set, frozenset)):
        if len(obj) > _MAX_ITEMS:
            raise _NotJsonable
        items = [_jsonable(x, depth + 1) for x in obj]
        try:
            items.sort()
        except TypeError:
            items.sort(key=repr)
        return items
    if isinstance(obj, dict):
        if len(obj) > _MAX_ITEMS:
            raise _NotJsonable
        if all(isinstance(k, str) for k in obj):
            return {k: _jsonable(v, depth + 1) for k, v in obj.items()}
        # Non-string keys: keep them as pairs so nothing is silently stringified.
        return {
            "__pairs__": [
                [_jsonable(k, depth + 1), _jsonable(v, depth + 1)] for k, v in obj.items()
            ]
        }
    mod = type(obj).__module__.split(".")[0]
    if mod == "numpy" and hasattr(obj, "tolist"):
        size = getattr(obj, "size", 1)
        if size > _MAX_ITEMS:
            raise _NotJsonable
        return _jsonable(obj.tolist(), depth + 1)
    if mod == "pandas":
        if hasattr(obj, "to_dict") and hasattr(obj, "columns"):  # DataFrame
            if obj.size > _MAX_ITEMS:  # type: ignore[attr-defined]
                raise _NotJsonable
            return _jsonable(obj.to_dict(orient="list"), depth + 1)
        if hasattr(obj, "tolist"):  # Series, Index
            if len(obj) > _MAX_ITEMS:  # type: ignore[arg-type]
                raise _NotJsonable
            return _jsonable(obj.tolist(), depth + 1)
    raise _NotJsonable


def describe(obj: object) -> dict[str, Any]:
    """Type, JSON value (or None) and repr of one printed object."""
    try:
        value = _jsonable(obj)
        exact = True
    except (_NotJsonable, RecursionError, Exception):
        value, exact = None, False
    return {"type": type_name(obj), "value": value, "json": exact, "repr": safe_repr(obj)}


def _snapshot(obj: object) -> object:
    """Keep what was printed even if the program mutates it afterwards (small containers)."""
    if isinstance(obj, (list, dict, set)) and len(obj) <= 1000:
        try:
            return copy.deepcopy(obj)
        except Exception:
            return obj
    return obj


class Assistant:
    """State of the assistant inside the kernel (one instance: ``__assistant__``)."""

    def __init__(self) -> None:
        self.final = False
        self.cell_prints = 0
        self.last_args: tuple[object, ...] | None = None
        self.total_prints = 0
        self._orig_print = builtins.print
        # Set by kernels/limits.py: counts (instead of writing) a plain print once the cell's
        # output quota is spent; True when it did.
        self.drop_if_full: Any = None
        self.interrupts = _Interrupts()

    # -- print capture -------------------------------------------------------------------
    def _print(self, *args: object, **kwargs: object) -> None:
        file = kwargs.get("file")
        if file is None or file is sys.stdout:
            self.cell_prints += 1
            self.total_prints += 1
            # Copies only for small mutable containers; most prints skip the tuple rebuild.
            for a in args:
                if isinstance(a, (list, dict, set)):
                    self.last_args = tuple(map(_snapshot, args))
                    break
            else:
                self.last_args = args
            dropped = self.drop_if_full
            if dropped is not None and not kwargs and dropped(args):
                return
        self._orig_print(*args, **kwargs)  # type: ignore[call-overload]

    def arm(self) -> None:
        self.interrupts.arm()

    def begin_cell(self) -> None:
        self.cell_prints = 0
        self.last_args = None

    def fetch(self) -> str:
        """JSON text with the last print call of the current cell (used as a user expression)."""
        args = None
        if self.last_args is not None:
            args = [describe(a) for a in self.last_args]
        return json.dumps({"count": self.cell_prints, "last": args})

    # -- final-cell marker ---------------------------------------------------------------
    def line_transform(self, lines: list[str]) -> list[str]:
        try:
            self.begin_cell()
            self.final = False
            idx = len(lines) - 1
            while idx >= 0 and not lines[idx].strip():
                idx -= 1
            if idx >= 0 and lines[idx].strip() == FINAL_MARKER:
                self.final = True
                lines = [*lines[:idx], "\n"]
        except Exception:
            pass
        return lines


class PrintLastExpression(ast.NodeTransformer):
    """Wrap a last bare expression in print(), like the CodeGen MTPB harness, on final cells."""

    def __init__(self, state: Assistant) -> None:
        self.state = state

    def visit_Module(self, node: ast.Module) -> ast.Module:
        try:
            if not self.state.final or not node.body:
                return node
            last = node.body[-1]
            if not isinstance(last, ast.Expr):
                return node
            value = last.value
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "print"
            ):
                return node
            call = ast.Call(func=ast.Name(id="print", ctx=ast.Load()), args=[value], keywords=[])
            new = ast.Expr(value=call)
            ast.copy_location(new, last)
            ast.fix_missing_locations(new)
            node.body[-1] = new
        except Exception:
            pass
        return node


class _Interrupts:
    """SIGINT between ipykernel taking a request and the cell's own first statement lands in
    ipykernel's code (publishing execute_input, IPython's transforms): ipykernel logs
    "KeyboardInterrupt caught in kernel" and the cell never answers until the client's timeout.
    In that window SIGINT is only noted; the cell's first statement (``arm``, put there by
    ``ArmInterrupts``) raises it, so the cell ends with an ordinary KeyboardInterrupt."""

    def __init__(self) -> None:
        self.pending = False

    def note(self, signum: int, frame: object) -> None:
        self.pending = True

    def hold(self, kernel: Any) -> None:
        """ipykernel's pre_handler_hook, deferring instead of raising."""
        import signal

        kernel.saved_sigint_handler = signal.signal(signal.SIGINT, self.note)
        self.pending = False

    def arm(self) -> None:
        import signal

        signal.signal(signal.SIGINT, signal.default_int_handler)
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


class ArmInterrupts(ast.NodeTransformer):
    """Puts ``__assistant__.arm()`` before a cell's first statement (after __future__ imports)."""

    def visit_Module(self, node: ast.Module) -> ast.Module:
        at = 0
        while (
            at < len(node.body)
            and isinstance(node.body[at], ast.ImportFrom)
            and getattr(node.body[at], "module", None) == "__future__"
        ):
            at += 1
        call = ast.Expr(
            ast.Call(
                ast.Attribute(ast.Name("__assistant__", ast.Load()), "arm", ast.Load()), [], []
            )
        )
        where = node.body[at] if at < len(node.body) else None
        if where is not None:
            ast.copy_location(call, where)
        node.body.insert(at, call)
        return ast.fix_missing_locations(node)


def install() -> Assistant:
    from IPython import get_ipython

    ip = get_ipython()
    if ip is None:
        raise RuntimeError("assistant_kernel.install() must run inside an IPython kernel")
    state = Assistant()
    builtins.print = state._print
    ip.input_transformers_post.append(state.line_transform)
    ip.ast_transformers.append(PrintLastExpression(state))
    kernel = getattr(ip, "kernel", None)
    if kernel is not None and hasattr(kernel, "pre_handler_hook"):
        guard = state.interrupts
        kernel.pre_handler_hook = lambda: guard.hold(kernel)
        ip.ast_transformers.append(ArmInterrupts())
    ip.user_ns["__assistant__"] = state
    ip.user_ns_hidden["__assistant__"] = state
    return state
