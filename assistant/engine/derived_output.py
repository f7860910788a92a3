"""Derived checks on what a turn prints: "Print the sum of nums" must show that sum.

``derived.py`` checks that a step asking to print printed *something*. Where the request names
the value outright, from a variable and one operation whose meaning leaves no doubt, the kernel
computes that value after the run and the cell's output must show it:

- "Print the sum / length / maximum / minimum / average / product of NAME", also of "the first
  (last) N elements of NAME", "the number of elements (items, digits) in NAME";
- "Print how many NAME there are", "Print the number of NAME": ``len(NAME)`` where NAME is a
  collection (not a string);
- "Print the difference between A and B": ``A - B`` (or ``B - A``);
- "Print NAME in upper case" (lower case), "Print NAME rounded to N decimals";
- "Print NAME." alone: the output shows ``str(NAME)`` (or its repr, or each of its elements).

A whole sentence must be the request, so "Print the sum of the first column of x_train and ..."
promises nothing here. When the kernel cannot compute the value (no such variable, a sum of
strings) the check cannot tell and passes: a derived check never fails code on a guess.
A number in the output matches when it is the value rounded to the digits it shows ("3.33"
for 3.3333...); "rounded to N decimals" asks for exactly ``round(value, N)``.
"""

from __future__ import annotations

import math
import re
from typing import Any

_ID = r"[A-Za-z_][A-Za-z0-9_]*"
_N = r"`?[\"']?(?P<{g}>" + _ID + r")[\"']?`?"
_PRINT = r"^\s*(?:(?:then|now|finally|lastly)[,\s]+)?(?:print|show|display|output)\s+(?:out\s+)?"
_END = r"\s*[.!]?\s*$"
_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_AGG = {
    "sum": "sum", "total": "sum", "length": "len", "size": "len", "maximum": "max",
    "largest": "max", "highest": "max", "biggest": "max", "max": "max", "minimum": "min",
    "smallest": "min", "lowest": "min", "min": "min", "average": "mean", "mean": "mean",
    "product": "prod",
}  # fmt: skip
_COUNT = r"number\s+of\s+(?P<what>elements|items|values|entries|keys|characters|letters|digits)"
_COUNTS = ("elements", "items", "values", "entries", "keys", "characters", "letters", "digits")
_PART = r"(?:the\s+(?P<end>first|last)\s+(?P<k>\d+|" + "|".join(_WORDS) + r")\s+"
_PART += r"(?:elements|items|values|numbers|entries)\s+(?:of|in)\s+)?"
_NOT_NAMES = frozenset(
    re.findall(
        r"\w+",
        "it this that these those them the list array string number numbers result all each "
        "every values value elements items",
    )
)
# (op, n, other): op names the computation; n a slice (first n, or last -n) or the decimals of
# "rounded"; other the second name of "difference".
Recipe = tuple[str, int | None, str | None]
Found = tuple[str, Recipe, str]


def _count(text: str) -> int:
    return int(text) if text.isdigit() else _WORDS[text.lower()]


def _name_ok(name: str) -> bool:
    return name.lower() not in _NOT_NAMES


def shows(sentence: str) -> list[Found]:
    """The printed-value promise of one sentence, or [] (at most one per sentence)."""
    s = sentence.strip()
    aggs = "|".join(_AGG)
    m = re.match(
        rf"{_PRINT}the\s+(?:(?P<agg>{aggs})|{_COUNT})\s+(?:of|in)\s+(?:the\s+(?:list|array|"
        rf"string|variable|number)\s+)?{_PART}{_N.format(g='name')}{_END}",
        s,
        re.I,
    )
    if m is not None and _name_ok(m.group("name")):
        if m.group("agg"):
            op = _AGG[m.group("agg").lower()]
        else:
            op = "digits" if m.group("what").lower() == "digits" else "len"
        n = None
        if m.group("k"):
            if op == "digits":
                return []
            n = _count(m.group("k")) * (-1 if m.group("end").lower() == "last" else 1)
        return [(m.group("name"), (op, n, None), s)]
    m = re.match(
        rf"{_PRINT}(?:how\s+many\s+{_N.format(g='name')}\s+(?:there\s+are|are\s+there)|"
        rf"the\s+number\s+of\s+{_N.format(g='count')}){_END}",
        s,
        re.I,
    )
    if m is not None:  # "Print how many primes there are": the length of `primes`, if it is one
        name = m.group("name") or m.group("count")
        if _name_ok(name) and name.lower() not in _COUNTS:
            return [(name, ("count", None, None), s)]
    m = re.match(
        rf"{_PRINT}the\s+difference\s+between\s+{_N.format(g='name')}\s+and\s+"
        rf"{_N.format(g='other')}{_END}",
        s,
        re.I,
    )
    if m is not None and _name_ok(m.group("name")) and _name_ok(m.group("other")):
        return [(m.group("name"), ("diff", None, m.group("other")), s)]
    m = re.match(
        rf"{_PRINT}{_N.format(g='name')}\s+in\s+(?P<case>upper|lower)\s*-?case{_END}", s, re.I
    )
    if m is not None and _name_ok(m.group("name")):
        return [(m.group("name"), (m.group("case").lower(), None, None), s)]
    m = re.match(
        rf"{_PRINT}{_N.format(g='name')}\s+rounded\s+to\s+(?P<k>\d+|{'|'.join(_WORDS)})\s+"
        rf"(?:decimals?|decimal\s+places?|decimal\s+digits?|digits\s+after\s+the\s+decimal"
        rf"(?:\s+point)?){_END}",
        s,
        re.I,
    )
    if m is not None and _name_ok(m.group("name")):
        return [(m.group("name"), ("round", _count(m.group("k")), None), s)]
    m = re.match(rf"{_PRINT}{_N.format(g='name')}{_END}", s, re.I)
    if m is not None and _name_ok(m.group("name")) and m.group("name").lower() not in (
        "out", "it", "them", "result", "results", "everything", "both",
    ):  # fmt: skip
        return [(m.group("name"), ("value", None, None), s)]
    return []


def describe(name: str, recipe: Recipe) -> str:
    op, n, other = recipe
    if op == "diff":
        return f"the difference between `{name}` and `{other}` in the output"
    if op in ("upper", "lower"):
        return f"`{name}` in {op} case in the output"
    if op == "round":
        return f"`{name}` rounded to {n} decimals in the output"
    if op == "value":
        return f"the value of `{name}` in the output"
    words = {"len": "length", "mean": "average", "max": "maximum", "min": "minimum"}
    if op == "count":
        return f"the number of `{name}` in the output"
    what = {"digits": "number of digits"}.get(op, words.get(op, op))
    of = f"`{name}`"
    if n is not None:
        of = f"the {'first' if n > 0 else 'last'} {abs(n)} elements of {of}"
    return f"the {what} of {of} in the output"


# Runs inside the kernel (``derived_probe.PROBE`` calls it with the value of the name, the other
# value, and the recipe); returns what the output must show: {"num": x}, {"text": s},
# {"texts": [s, ...]} (any one), or None when it cannot tell.
PROBE_WANT = r"""
def _want(v, other, op, n):
    import numbers
    def _num(x):
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(type(x).__name__)
        return float(x) if not isinstance(x, numbers.Integral) else int(x)
    if op in ('upper', 'lower'):
        return {'text': getattr(v, op)()} if isinstance(v, str) else None
    if op == 'round':
        return {'round': round(float(_num(v)), n)}
    if op == 'diff':
        a, b = _num(v), _num(other)
        return {'num': a - b, 'alt': b - a}
    if op == 'count':  # "the number of primes": only where primes is a collection
        if isinstance(v, (str, bytes)) or not hasattr(v, '__len__'):
            return None
        return {'num': len(v)}
    if op == 'digits':
        return {'num': len(str(abs(int(v))))} if isinstance(v, numbers.Integral) else None
    if op == 'value':
        if isinstance(v, numbers.Real) and not isinstance(v, bool):
            return {'num': _num(v)}
        texts = [str(v), repr(v)]
        if len(texts[0]) > 4000 or type(v).__name__ in ('function', 'type', 'module', 'method'):
            return None
        if isinstance(v, (list, tuple, set, frozenset)) and 0 < len(v) <= 50:
            return {'texts': texts, 'each': [str(x) for x in v]}
        return {'texts': texts}
    if isinstance(v, (str, bytes)) and op != 'len':
        return None
    seq = v
    if n is not None:
        seq = list(v)[:n] if n > 0 else list(v)[n:]
    if op == 'len':
        return {'num': len(seq)}
    items = [_num(x) for x in (seq.values() if isinstance(seq, dict) else seq)]
    if op == 'sum':
        return {'num': sum(items)}
    if op == 'prod':
        import math
        return {'num': math.prod(items)}
    if not items:
        return None
    if op == 'max':
        return {'num': max(items)}
    if op == 'min':
        return {'num': min(items)}
    return {'num': sum(items) / len(items)}
"""

_NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")


def _close(text: str, want: float) -> bool:
    """``text`` is ``want`` as far as the digits it shows go ("3.33" for 3.3333...)."""
    try:
        got = float(text)
    except ValueError:
        return False
    mantissa = text.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exp = int(text.lower().split("e")[1]) if "e" in text.lower() else 0
    slack = 0.5 * 10 ** (exp - decimals) if (decimals or exp) else 0.0
    if not (decimals or exp) and isinstance(want, float) and not want.is_integer():
        slack = 0.5  # "3" for 3.4: the value rounded to a whole number
    return abs(got - want) <= slack + 1e-9 * max(1.0, abs(want))


def output_shows(want: dict[str, Any] | None, output: str) -> bool:
    """Whether the cell's output shows what ``PROBE_WANT`` computed (True when it cannot tell)."""
    if not want:
        return True
    if "text" in want:
        return want["text"] in output
    if "texts" in want:
        if any(t in output for t in want["texts"]):
            return True
        each: list[str] = want.get("each") or []
        return bool(each) and all(t in output for t in each)
    numbers = _NUMBER.findall(re.sub(r"(?<=\d),(?=\d{3}\b)", "", output))
    if "round" in want:
        r = want["round"]
        return any(math.isclose(float(t), r, rel_tol=1e-12, abs_tol=1e-12) for t in numbers)
    targets = [want["num"], *([want["alt"]] if "alt" in want else [])]
    return any(_close(t, float(w)) for t in numbers for w in targets)
