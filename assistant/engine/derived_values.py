"""Derived checks on values the request spells out (``derived.py`` reads names; this, values).

Only literal values the user typed count, where the words leave one reading:

- ``equals``: "Set balance to 100", "Assign the string 'hi' to a variable named s", "a string
  called text with the value 'fun'": the name equals the literal. A quoted literal next to a
  word like "list" or "integer" is skipped: MTPB writes lists and numbers in quotes
  (``Assign the list of numbers "[1, 2]" to ...``), which would read as a string;
- ``mapping``: "a dictionary called stock with apples: 10, pears: 4 and plums: 0": exactly these
  pairs (a bare key is a string key);
- ``length``: "a list called fibs with the first 10 Fibonacci numbers": 10 elements;
- ``values`` over a range: "a list named values with the numbers from 1 to 20" (inclusive, as
  the words say): those numbers, in any order.

Each rule returns ``(kind, name, values, phrase)``; ``derived.derive`` makes the checks.
"""

from __future__ import annotations

import ast
import re
from typing import Any

_ID = r"[A-Za-z_][A-Za-z0-9_]*"
_NAME = rf"[`\"']?(?P<name>{_ID})[`\"']?"
_LIT = r"(?P<lit>'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?)"
_END = r"\s*[.!]?\s*$"
# A quoted literal beside these words is no string: MTPB quotes its lists and numbers.
_NOT_STRING = re.compile(
    r"\b(?:list|lists|array|matrix|number|numbers|integer|integers|float|dict|dictionary|"
    r"tuple|hex|date|datetime)\b",
    re.I,
)
_VARIABLE = r"(?:(?:a|the)\s+(?:new\s+)?variable\s+(?:(?:called|named)\s+)?)?"

Found = tuple[str, str, tuple[Any, ...], str]


def _literal(text: str, sentence: str) -> tuple[Any] | None:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, str) and _NOT_STRING.search(sentence):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return (value,)


def equals(sentence: str) -> list[Found]:
    patterns = (
        # "Set balance to 100." / "Set a variable named sentence to 'the quick ...'."
        rf"^\s*(?:set|initialize|initialise)\s+{_VARIABLE}{_NAME}\s+to\s+"
        rf"(?:the\s+(?:string|value|number|integer|word|text)\s+)?{_LIT}{_END}",
        # "Assign the string 'stressed' to a variable called word."
        rf"^\s*(?:assign|store|put)\s+(?:(?:the|a|an)\s+)?(?:(?:string|value|word|text|"
        rf"sentence|positive|negative|floating|point|number|integer|float|natural|whole)\s+)*"
        rf"{_LIT}\s+to\s+{_VARIABLE}{_NAME}{_END}",
        # "Define a string called text with the value 'Programming is fun'."
        rf"\b(?:variable|string|str|word|text|sentence|constant)\s+(?:called|named)\s+{_NAME}"
        rf"\s+(?:with\s+the\s+value|equal\s+to|set\s+to)\s+{_LIT}{_END}",
    )
    for pattern in patterns:
        m = re.search(pattern, sentence, re.I)
        if m is None:
            continue
        value = _literal(m.group("lit"), sentence)
        if value is not None:
            return [("equals", m.group("name"), value, m.group(0).strip())]
    return []


_KEY = r"(?:'[^']*'|\"[^\"]*\"|[A-Za-z_][A-Za-z0-9_ ]*?)"
_VAL = r"(?:'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?)"
_PAIR = rf"\s*({_KEY})\s*:\s*({_VAL})\s*"


def mapping(sentence: str) -> list[Found]:
    m = re.search(
        rf"\b(?:dict|dictionary|mapping|map)\s+(?:called|named)\s+{_NAME}\s+with\s+(?P<pairs>.*?){_END}",
        sentence,
        re.I,
    )
    if m is None:
        return []
    parts = re.split(r",\s*and\s+|,|\s+and\s+", m.group("pairs"))
    pairs: list[list[Any]] = []
    for part in parts:
        pm = re.fullmatch(_PAIR, part)
        if pm is None:
            return []
        key_text, val_text = pm.group(1).strip(), pm.group(2)
        key = ast.literal_eval(key_text) if key_text[:1] in "'\"" else key_text
        pairs.append([key, ast.literal_eval(val_text)])
    if len(pairs) < 2 or len({str(k) for k, _ in pairs}) != len(pairs):
        return []
    return [("mapping", m.group("name"), tuple(pairs), m.group(0).strip())]


def length(sentence: str) -> list[Found]:
    m = re.search(
        rf"\b(?:list|array|tuple)\s+(?:called|named)\s+{_NAME}\s+(?:with|of|holding|containing)"
        rf"\s+the\s+first\s+(?P<n>\d+)\s",
        sentence,
        re.I,
    )
    if m is None:
        return []
    return [("length", m.group("name"), (int(m.group("n")),), m.group(0).strip())]


def number_range(sentence: str) -> list[Found]:
    m = re.search(
        rf"\b(?:list|array|tuple)\s+(?:called|named)\s+{_NAME}\s+(?:with|of|holding|containing)"
        rf"\s+(?:all\s+)?the\s+(?:whole\s+)?(?:numbers|integers)\s+from\s+(?P<a>-?\d+)\s+to\s+"
        rf"(?P<b>-?\d+)(?:\s+inclusive)?{_END}",
        sentence,
        re.I,
    )
    if m is None:
        return []
    a, b = int(m.group("a")), int(m.group("b"))
    if not a <= b <= a + 1000:
        return []
    return [("values", m.group("name"), tuple(range(a, b + 1)), m.group(0).strip())]


def literals(text: str) -> tuple[Any, ...] | None:
    """ "[5, 3, 8, 1]" or "5, 3, 8 and 1": the literals, or None when not all are literals."""
    text = text.strip().rstrip(".;")
    if text.startswith("["):
        end = text.find("]")
        try:
            value = ast.literal_eval(text[: end + 1])
        except (ValueError, SyntaxError):
            return None
        return tuple(value) if isinstance(value, list) else None
    parts = re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", text)
    out: list[Any] = []
    for part in parts:
        try:
            value = ast.literal_eval(part)
        except (ValueError, SyntaxError):
            return None
        if not isinstance(value, (int, float, str)) or isinstance(value, bool):
            return None
        out.append(value)
    return tuple(out) if len(out) >= 2 else None


_PAIRED = re.compile(
    r"^\s*(?:create|define|make|build)\s+(?:two|three|four|\d+)\s+"
    r"(?P<noun>lists|variables|tuples|sets|arrays)\s*[,:]\s*(?P<rest>.*?)\s*[.!]?\s*$",
    re.I,
)
_WITH = r"\s+(?:with|holding|containing)\s+(?:the\s+(?:values|numbers)\s+)?"


def paired(sentence: str) -> list[Found]:
    """ "Create two lists, xs with 1, 2 and 3 and ys with 4, 5 and 6.": both, with those values."""
    m = _PAIRED.match(sentence)
    if m is None:
        return []
    parts = re.split(
        rf"\s*(?:,\s*and|,|\band)\s+(?=[`\"']?{_ID}[`\"']?{_WITH})", m.group("rest"), flags=re.I
    )
    found: list[Found] = []
    for part in parts:
        pm = re.fullmatch(rf"{_NAME}{_WITH}(?P<lits>.+)", part, re.I)
        values = literals(pm.group("lits")) if pm is not None else None
        if pm is None or values is None:
            return []
        name, phrase = pm.group("name"), part.strip()
        noun = m.group("noun").lower()[:-1]
        typed = (noun,) if noun in ("list", "tuple", "set") else ()
        found += [("name", name, typed, phrase), ("values", name, values, phrase)]
    return found if len(found) > 3 else []


def appended(sentence: str) -> list[Found]:
    """ "Append 'milk', 'bread' and 'eggs' to cart.": cart ends with them, in that order."""
    m = re.match(
        rf"^\s*(?:append|add)\s+(?P<lits>.+?)\s+to\s+(?:the\s+end\s+of\s+)?(?:the\s+list\s+)?"
        rf"{_NAME}{_END}",
        sentence,
        re.I,
    )
    if m is None:
        return []
    text = m.group("lits")
    values = literals(text) if re.search(r",|\band\b", text) else _literal(text, "")
    if values is None or any(not isinstance(v, str) for v in values):
        return []  # "Add 5 to total" is arithmetic; only strings are surely appended
    return [("tail", m.group("name"), tuple(values), m.group(0).strip())]


def value_checks(sentence: str) -> list[Found]:
    """Every value promise of one sentence (``derived.derive`` calls this)."""
    return (
        equals(sentence)
        + mapping(sentence)
        + length(sentence)
        + number_range(sentence)
        + paired(sentence)
        + appended(sentence)
    )
