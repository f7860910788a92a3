"""Evaluating derived checks (``derived.py``) in the kernel, and the feedback they give.

The probe is one user expression (no visible cell, no history, nothing left in the user's
namespace): it ``exec``\\ s ``PROBE`` in a fresh dict that sees the user's globals and returns
JSON, one verdict per check plus the user's names (for "there is `best_score`"). A probe that
cannot run (a dead or busy kernel) gives no verdicts: the derived checks then do not count, as
a check that cannot be made must not fail code.

"printed" is read from the cell's own result (stdout, displays, print calls), not the kernel.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Sequence
from typing import Any

from assistant.engine import derived_output
from assistant.engine.derived import DerivedCheck
from assistant.execution.result import ExecResult

log = logging.getLogger(__name__)

# Runs inside the kernel with ``user`` (its globals) and ``spec`` (JSON) bound; sets ``out``.
PROBE = r"""
import inspect, json, reprlib
_r = reprlib.Repr(); _r.maxlist = 8; _r.maxstring = 40; _r.maxother = 60
_hidden = {'In', 'Out', 'get_ipython', 'exit', 'quit', 'open'}
names = sorted(k for k, v in user.items() if not k.startswith('_') and k not in _hidden
               and type(v).__name__ != 'module')
def _fits(f, n):
    try:
        inspect.signature(f).bind(*range(n))
        return True, ''
    except TypeError:
        return False, 'its parameters are ' + str(inspect.signature(f))
    except ValueError:
        return True, ''
def _same(a, b):
    try:
        if isinstance(a, bool) or isinstance(b, bool):  # True is no 1
            return isinstance(a, bool) and isinstance(b, bool) and a == b
        if isinstance(a, float) or isinstance(b, float):
            return abs(float(a) - float(b)) <= 1e-9 + 1e-6 * abs(float(b))
        return bool(a == b)
    except Exception:
        return False
def _items(v):
    if isinstance(v, (str, bytes, dict)) or not hasattr(v, '__iter__'):
        return None
    try:
        return list(v)
    except Exception:
        return None
from collections.abc import Mapping as _Mapping
_TYPES = {'dict': _Mapping, 'set': (set, frozenset), 'tuple': tuple, 'str': str}
def _one(c):
    name = c['name']
    import builtins
    if c['kind'] == 'shows':
        if name not in user:
            return {'ok': True, 'why': 'cannot tell'}
        op, n, other = c['values']
        if other is not None and other not in user:
            return {'ok': True, 'why': 'cannot tell'}
        try:
            want = _want(user[name], user.get(other), op, n)
        except Exception:
            want = None
        return {'ok': True, 'want': want}
    if name not in user and not (c['kind'] == 'callable' and hasattr(builtins, name)):
        return {'ok': False, 'why': 'missing'}
    v = user[name] if name in user else getattr(builtins, name)
    if c['kind'] == 'name':
        what = c['values'][0] if c['values'] else None
        if what == 'data':
            ok = not (inspect.isroutine(v) or inspect.isclass(v) or inspect.ismodule(v))
            return {'ok': ok, 'why': 'code', 'type': type(v).__name__}
        if what == 'list':  # any sequence a user would take for one: a tuple, an array
            ok = (hasattr(v, '__len__') and hasattr(v, '__getitem__')
                  and not isinstance(v, (str, bytes, dict, set, frozenset)))
            return {'ok': ok, 'why': 'type', 'type': type(v).__name__, 'repr': _r.repr(v)}
        if what in _TYPES:
            ok = isinstance(v, _TYPES[what])
            return {'ok': ok, 'why': 'type', 'type': type(v).__name__, 'repr': _r.repr(v)}
        return {'ok': True}
    if c['kind'] == 'callable':
        if not callable(v):
            return {'ok': False, 'why': 'not callable', 'type': type(v).__name__}
        if c['arity'] is None:
            return {'ok': True}
        ok, why = _fits(v, c['arity'])
        return {'ok': ok, 'why': why}
    shown = _r.repr(v)
    if c['kind'] == 'equals':
        want = c['values'][0]
        ok = v == want if isinstance(want, str) else _same(v, want)
        return {'ok': bool(ok), 'why': 'value', 'repr': shown}
    if c['kind'] == 'mapping':
        ok = isinstance(v, dict) and len(v) == len(c['values']) and all(
            k in v and _same(v[k], want) for k, want in c['values'])
        return {'ok': bool(ok), 'why': 'value', 'repr': shown}
    items = _items(v)
    if items is None:
        return {'ok': False, 'why': 'not a sequence', 'type': type(v).__name__, 'repr': shown}
    if c['kind'] == 'length':
        return {'ok': len(items) == c['values'][0], 'why': 'length', 'repr': shown}
    if c['kind'] == 'tail':
        want = list(c['values'])
        got = items[-len(want):]
        ok = len(got) == len(want) and all(_same(a, b) for a, b in zip(got, want))
        return {'ok': ok, 'why': 'values', 'repr': shown}
    if c['kind'] == 'values':
        left = list(items)
        for want in c['values']:
            hit = next((i for i, got in enumerate(left) if _same(got, want)), None)
            if hit is None:
                return {'ok': False, 'why': 'values', 'repr': shown}
            left.pop(hit)
        return {'ok': not left, 'why': 'values', 'repr': shown}
    try:
        ok = items == sorted(items, reverse=c['descending'])
        if not ok and c['values'] == ['alpha'] and all(isinstance(x, str) for x in items):
            ok = items == sorted(items, key=str.casefold, reverse=c['descending'])
    except Exception:
        ok = True  # not comparable: the check cannot tell
    return {'ok': bool(ok), 'why': 'order', 'repr': shown}
out = []
exec(want_src)
for c in json.loads(spec):
    try:
        out.append(_one(c))
    except Exception as exc:
        out.append({'ok': True, 'why': 'probe failed: %r' % (exc,)})
out = json.dumps({'names': names, 'verdicts': out})
"""


def probe_expression(checks: Sequence[DerivedCheck]) -> str:
    """One user expression that evaluates ``checks`` (not "printed") and returns JSON text."""
    spec = json.dumps([c.to_spec() for c in checks])
    env = f"{{'user': globals(), 'spec': {spec!r}, 'want_src': {derived_output.PROBE_WANT!r}}}"
    return f"(lambda ns: (exec({PROBE!r}, ns), ns['out'])[1])({env})"


def printed_something(res: ExecResult) -> bool:
    return bool(res.stdout.strip()) or bool(res.display) or res.print_count > 0


def output_text(res: ExecResult) -> str:
    """Everything the cell showed: its stdout and the text of its displays."""
    return "\n".join([res.stdout, *res.display])


def _got(output: str) -> str:
    text = output.strip()
    if not text:
        return " (it printed nothing)"
    if len(text) > 120:
        text = text[:100] + " ..."
    return f" (it printed: {text})"


def near_names(name: str, names: Sequence[str]) -> list[str]:
    """Names the code made that look like the one asked for (``best_score`` for ``best``)."""
    low = name.lower()
    contains = [n for n in names if n != name and (low in n.lower() or n.lower() in low)]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return list(dict.fromkeys([*contains, *close]))[:3]


def feedback(check: DerivedCheck, verdict: dict[str, Any], names: Sequence[str]) -> str:
    """Why a derived check failed, in words refinement can act on."""
    ask = f"the step asks for {check.describe()}"
    why = verdict.get("why", "")
    if why == "missing":
        near = near_names(check.name, names)
        there = f" (there is {', '.join(f'`{n}`' for n in near)})" if near else ""
        return f"{ask}; after the code ran there is no `{check.name}`{there}"
    if why == "not callable":
        return (
            f"{ask}; after the code ran `{check.name}` is a {verdict.get('type')}, not a function"
        )
    if check.kind == "callable":
        return f"{ask}; `{check.name}` cannot be called that way ({why})"
    shown = verdict.get("repr", "?")
    if why == "type":
        return f"{ask}; after the code ran `{check.name}` is a {verdict.get('type')}: {shown}"
    if why == "code":
        what = verdict.get("type")
        return f"{ask}; after the code ran `{check.name}` is a {what}, not a value"
    if why == "output":
        return f"{ask}; the output does not show it{verdict.get('got', '')}"
    if why == "not a sequence":
        return f"{ask}; `{check.name}` is a {verdict.get('type')}: {shown}"
    return f"{ask}; after the code ran `{check.name}` is {shown}"


async def evaluate(
    kernel: Any, checks: Sequence[DerivedCheck], res: ExecResult
) -> list[tuple[bool, str]]:
    """(passed, feedback) per check; [] when the probe could not run (nothing counts then)."""
    verdicts: dict[int, tuple[bool, str]] = {}
    in_kernel = [(i, c) for i, c in enumerate(checks) if c.kind != "printed"]
    for i, c in enumerate(checks):
        if c.kind == "printed":
            ok = printed_something(res)
            why = (
                "" if ok else "the step asks to print or show the result; the code printed nothing"
            )
            verdicts[i] = (ok, why)
    if in_kernel:
        data = await _probe(kernel, [c for _, c in in_kernel])
        if data is None:
            return []
        names = data.get("names", [])
        output = output_text(res)
        for (i, c), v in zip(in_kernel, data.get("verdicts", []), strict=False):
            if c.kind == "shows" and not derived_output.output_shows(v.get("want"), output):
                v = {"ok": False, "why": "output", "got": _got(output)}
            ok = bool(v.get("ok"))
            verdicts[i] = (ok, "" if ok else feedback(c, v, names))
    return [verdicts[i] for i in sorted(verdicts)]


async def _probe(kernel: Any, checks: Sequence[DerivedCheck]) -> dict[str, Any] | None:
    import ast

    from assistant.errors import AssistantError

    try:
        found = await kernel.evaluate({"derived": probe_expression(checks)})
    except AssistantError as exc:
        log.info("derived checks not evaluated: %s", exc)
        return None
    data = found.get("derived", {})
    if data.get("status") != "ok":
        log.info("derived check probe failed: %s", data.get("evalue", data))
        return None
    try:
        parsed = json.loads(ast.literal_eval(data["data"]["text/plain"]))
    except (ValueError, SyntaxError, KeyError, TypeError) as exc:
        log.info("derived check probe answered %r: %s", data, exc)
        return None
    return parsed if isinstance(parsed, dict) else None
