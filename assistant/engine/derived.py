"""Checks derived from the words of a turn: what the request promises, checked after the run.

A user rarely types tests. Their request still says what must be true afterwards: "Define a
list called nums", "store it in best and worst", "a function fib(n)", "Print the sum". The rules
here read the turn's text and return ``DerivedCheck``\\ s; ``derived_probe`` evaluates them in the
kernel after the candidate ran, as ordinary checks of the turn (``checks.py``), so a candidate
that creates ``best_score`` instead of ``best`` fails and refinement runs.

Precision first: a rule only fires on phrasings whose meaning is unambiguous, and a derived
check must never fail code that did what was asked (the MTPB reference solutions pass every
turn with them on: ``tests/mtpb/test_derived_reference.py``). So a bare word after "store it
in" counts as a name only where it ends the clause ("in best and worst."), a quoted or
backticked name always counts, "named X" counts only after a noun that makes a variable
("a list named", not "a column named"), and a sentence that prints only under a condition
("If ..., print ...") promises no output.

Kinds:
- ``name``: the name exists after the run;
- ``callable``: the name is callable, with ``arity`` positional arguments when the request
  wrote them (``fib(n)``: 1);
- ``printed``: the cell printed or displayed something;
- ``values``: the name holds exactly these values, in any order ("with the values 5, 3, 8
  and 1");
- ``sorted``: the name holds a sequence sorted as asked ("in descending order", "alphabetically");
- ``equals``, ``mapping``, ``length``: values the request spells out (``derived_values.py``);
- ``tail``: "Append 'milk' and 'eggs' to cart": the name ends with those values;
- ``shows``: the output shows a value the request names ("Print the sum of nums":
  ``derived_output.py``).

A ``name`` check can ask more of the value: "a list called grid" holds a sequence (a tuple or an
array counts; a dict, set, string, generator or number does not; ``values`` = ("list",)), and a
name the request stores a result in ("store them in primes") holds data, not a function or
class, unless the sentence speaks of functions (``values`` = ("data",)).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Any, Literal, cast

from assistant.engine import derived_output, derived_values

Kind = Literal[
    "name",
    "callable",
    "printed",
    "values",
    "sorted",
    "equals",
    "mapping",
    "length",
    "shows",
    "tail",
]
# "a list called grid": the type the noun names (a subclass counts: a Counter is a dict). A
# name check holds it in ``values``: ("list",), or ("data",) for "store it in x" (no function).
_TYPES = {
    "list": "list",
    "dict": "dict",
    "dictionary": "dict",
    "set": "set",
    "tuple": "tuple",
    "string": "str",
    "str": "str",
}

_ID = r"[A-Za-z_][A-Za-z0-9_]*"
# A name as a user writes it: `nums`, "nums", 'nums' or nums. The quotes must match.
_NAME = rf"(?:`(?P<b>{_ID})`|\"(?P<d>{_ID})\"|'(?P<s>{_ID})'|(?P<w>{_ID}))"
# Nouns that make a variable: "a list named x" creates x; "a column named x" does not.
_MAKERS = (
    r"variable|list|array|dict|dictionary|set|tuple|string|str|integer|int|float|number|"
    r"counter|value|class|object|dataframe|frame|series|matrix|vector|map|hash\s?map|"
    r"constant|generator|function|lambda|boolean|bool|word|sentence|text"
)
# Words that cannot be the name a request asks for, even where the grammar would allow it.
_NOT_NAMES = frozenset(
    re.findall(
        r"\w+",
        """a an the it its this that these those them they their one ones new variable variables
    list lists array arrays dict dictionary set tuple string strings integer integers number
    numbers value values result results memory file files order place which what where who
    to in into as of and or with by for from on at is are be each every all any some
    print show display return returns then also both first last same another other
    function class object true false none""",
    )
)
_VERB_STORE = r"\b(?:store|stores|save|saves|assign|assigns|put|keep|record)\b"
_PREP = r"\b(?:in|to|into|as)\s+"
_ARTICLE = r"(?:(?:a|an|the)\s+)?(?:new\s+)?"
_CREATE = re.compile(
    r"\b(?:write|writes|create|creates|define|defines|implement|implements|make|build|add)\b",
    re.I,
)
_CONDITIONAL = re.compile(r"\b(?:if|otherwise|unless|when|whenever|whether|else)\b", re.I)
_PRINT_START = re.compile(
    r"^\s*(?:(?:then|finally|now|and|lastly|next)[,\s]+)?(?:print|show|display|output)\b", re.I
)
_PRINT_CLAUSE = re.compile(r"(?:,|\band\b|\bthen\b)\s*(?:then\s+)?(?:print|display|show)\b", re.I)
_SENTENCES = re.compile(r"(?<=[.!?;])\s+(?=[A-Z\"'`])")


@dataclass(frozen=True)
class DerivedCheck:
    """One promise read from a turn's words; ``phrase`` is the words it was read from."""

    kind: Kind
    name: str = ""
    arity: int | None = None  # callable: positional arguments, None when not written
    values: tuple[Any, ...] = ()  # values: the literals the request listed
    descending: bool = False  # sorted: the order asked
    phrase: str = ""

    def describe(self) -> str:
        """What the step asks for, in the words feedback and ``/checks`` use."""
        if self.kind == "name":
            what = self.values[0] if self.values and self.values[0] != "data" else ""
            noun = {"dict": "dictionary", "str": "string"}.get(what, what or "variable")
            return f"a {noun} named `{self.name}`"
        if self.kind == "callable":
            if self.arity is None:
                return f"a function `{self.name}`"
            plural = "" if self.arity == 1 else "s"
            return f"a function `{self.name}` taking {self.arity} argument{plural}"
        if self.kind == "printed":
            return "printed output"
        if self.kind == "values":
            items = [repr(v) for v in self.values]
            if len(items) > 8:
                items = [*items[:3], "...", *items[-2:]]
            return f"`{self.name}` holding the values {', '.join(items)}"
        if self.kind == "equals":
            return f"`{self.name}` equal to {self.values[0]!r}"
        if self.kind == "mapping":
            shown = ", ".join(f"{k!r}: {v!r}" for k, v in self.values)
            return f"`{self.name}` equal to {{{shown}}}"
        if self.kind == "length":
            return f"`{self.name}` with {self.values[0]} elements"
        if self.kind == "tail":
            return f"`{self.name}` ending with {', '.join(repr(v) for v in self.values)}"
        if self.kind == "shows":
            op, n, other = self.values
            return derived_output.describe(self.name, (op, n, other))
        order = "descending" if self.descending else "ascending"
        return f"`{self.name}` sorted in {order} order"

    def to_spec(self) -> dict[str, Any]:
        """The JSON the kernel-side probe reads (``derived_probe.PROBE``)."""
        return {
            "kind": self.kind,
            "name": self.name,
            "arity": self.arity,
            "values": list(self.values),
            "descending": self.descending,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.to_spec(), "phrase": self.phrase}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DerivedCheck:
        return cls(
            kind=d["kind"],
            name=d.get("name", ""),
            arity=d.get("arity"),
            values=tuple(d.get("values") or ()),
            descending=bool(d.get("descending")),
            phrase=d.get("phrase", ""),
        )


def _picked(m: re.Match[str]) -> tuple[str, bool]:
    """The name of a ``_NAME`` match and whether it was quoted."""
    for group in ("b", "d", "s"):
        if m.group(group):
            return m.group(group), True
    return m.group("w"), False


def _usable(name: str, quoted: bool) -> bool:
    if keyword.iskeyword(name):
        return False
    return quoted or name.lower() not in _NOT_NAMES


def sentences(text: str) -> list[str]:
    """The request split into sentences (a decimal point or ``c2.Round`` does not split)."""
    return [s.strip() for s in _SENTENCES.split(text.strip()) if s.strip()]


def _function_checks(sentence: str) -> list[DerivedCheck]:
    """ "a function fib(n)", "a function called fib", "a function named 'fib'"."""
    found: list[DerivedCheck] = []
    if not _CREATE.search(sentence):
        return []  # "Apply the function len to ...": a use, not a new function
    pattern = rf"\bfunction\s+(?:(?P<how>called|named)\s+)?{_NAME}(?P<paren>\((?P<args>[^()]*)\))?"
    for m in re.finditer(pattern, sentence, re.I):
        name, quoted = _picked(m)
        paren = m.group("paren")
        if not (m.group("how") or quoted or paren) or not _usable(name, quoted or bool(paren)):
            continue
        arity = None
        args = (m.group("args") or "").strip()
        if args and all(re.fullmatch(_ID, a.strip()) for a in args.split(",")):
            arity = len(args.split(","))
        found.append(DerivedCheck("callable", name, arity=arity, phrase=m.group(0)))
    return found


def _named_checks(sentence: str) -> list[DerivedCheck]:
    """ "a list called nums", "a list of integers named "numbers"", "a class named Player"."""
    found: list[DerivedCheck] = []
    pattern = rf"\b(?P<noun>{_MAKERS})s?\s+(?:of\s+\w+\s+)?(?:called|named)\s+{_NAME}"
    for m in re.finditer(pattern, sentence, re.I):
        name, quoted = _picked(m)
        if not _usable(name, quoted):
            continue
        after = sentence[m.end() :]
        if after.startswith("(") or m.group("noun").lower() in ("function", "lambda"):
            continue  # _function_checks reads functions
        if re.match(r"[-.]\w", after):  # "two-edges", "data.txt": not a Python name
            continue
        typ = _TYPES.get(m.group("noun").lower())  # "a list of lists called grid": a list
        found.append(DerivedCheck("name", name, values=(typ,) if typ else (), phrase=m.group(0)))
    return found


_END = r"\s*(?:,?\s*respectively)?\s*(?=[.;!?]|,\s|$)"


def _stored_checks(sentence: str) -> list[DerivedCheck]:
    """ "store it in avg", "assign the result to "total"", "in best and worst"."""
    verb = re.search(_VERB_STORE, sentence, re.I)
    if verb is None:
        return []
    clause = sentence[verb.end() :]
    target = rf"{_PREP}{_ARTICLE}(?:(?P<noun>{_MAKERS})\s+(?:(?:called|named)\s+)?)?{_NAME}"
    matches = list(re.finditer(target, clause, re.I))
    if not matches:
        return []
    last = matches[-1]
    # "Store the highest value in best and the lowest in worst": a bare name that ends its
    # own clause ("and the ...") counts too.
    earlier = [
        DerivedCheck("name", m.group("w"), phrase=m.group(0).strip())
        for m in matches[:-1]
        if m.group("w")
        and not m.group("noun")
        and m.group(0).split()[1].lower() not in ("a", "an", "the")
        and _usable(m.group("w"), False)
        and re.match(r"\s+and\s+(?:the|a|an)\b", clause[m.end() :], re.I)
    ]
    name, quoted = _picked(last)
    rest = clause[last.end() :]
    if re.match(r"[-(]|\.\w", rest):
        return earlier
    words = last.group(0).split()
    has_article = words[1].lower() in ("a", "an", "the")
    named = re.search(r"\b(?:called|named)\s", last.group(0), re.I) is not None
    if not quoted and not named:
        # A bare word is a name only when it ends the clause and no article came before it
        # ("in best and worst." but not "in a list" nor "as keys and values to ...").
        if has_article or last.group("noun"):
            return earlier
        more = re.match(rf"((?:\s*(?:,\s*and|,|and)\s*{_ID})*){_END}", rest, re.I)
        if more is None:
            return earlier
        names = [name, *re.findall(_ID, re.sub(r"\band\b", " ", more.group(1)))]
    else:
        names = [name]
        more = re.match(rf"\s*(?:,\s*and|,|and)\s*{_NAME}{_END}", rest, re.I)
        if more is not None and _picked(more)[1] == quoted:
            names.append(_picked(more)[0])
    if not all(_usable(n, quoted or named) for n in names):
        return earlier
    return earlier + [DerivedCheck("name", n, phrase=last.group(0).strip()) for n in names]


_CODE_WORDS = re.compile(
    r"\b(?:function|functions|lambda|class|classes|method|methods|callable|def|decorator|"
    r"generator|iterator|module|type)\b",
    re.I,
)


def _data_checks(sentence: str, stored: list[DerivedCheck]) -> list[DerivedCheck]:
    """ "Find all primes below 30 and store them in primes": ``primes`` is no function."""
    if _CODE_WORDS.search(sentence):
        return stored
    return [
        DerivedCheck("name", c.name, values=("data",), phrase=c.phrase)
        for c in stored
        if c.kind == "name"
    ]


def _values_checks(sentence: str, names: list[str]) -> list[DerivedCheck]:
    if len(set(names)) != 1:
        return []
    # "with the values 5, 3 and 1", or literals right after the name and "with": "a list
    # called pets with 'cat' and 'dog'" (not "a list with [0, 1] and a variable named n").
    m = re.search(
        r"\b(?:with|containing|holding)\s+(?:the\s+)?(?:values|numbers|elements|strings|"
        r"words|items)\s+",
        sentence,
        re.I,
    ) or re.search(
        rf"\b{re.escape(names[0])}[`'\"]?\s+(?:with|containing|holding)\s+(?=['\"\d\[-])",
        sentence,
    )
    if m is None:
        return []
    values = derived_values.literals(sentence[m.end() :])
    if values is None or any(isinstance(v, (list, dict, tuple)) for v in values):
        return []
    return [DerivedCheck("values", names[0], values=values, phrase=sentence[m.start() :])]


def _sorted_checks(sentence: str, stored: list[str]) -> list[DerivedCheck]:
    """ "Sort nums in descending order and store it in ordered": ``ordered`` is sorted."""
    if len(stored) != 1 or not re.match(r"\s*sort\b", sentence, re.I):
        return []
    if re.search(r"\b(?:by|key|length|case)\b", sentence, re.I):
        return []  # sorted by a key: the natural order would be the wrong test
    if re.search(r"\balphabetical(?:ly)?\b", sentence, re.I):
        # strings in dictionary order, with or without regard to case
        down = re.search(r"\b(?:reverse|descending|z to a)\b", sentence, re.I)
        alpha = ("alpha",)
        return [
            DerivedCheck("sorted", stored[0], values=alpha, descending=bool(down), phrase=sentence)
        ]
    down = re.search(
        r"\b(?:descending|reverse|decreasing|largest to smallest|highest to lowest)\b",
        sentence,
        re.I,
    )
    up = re.search(
        r"\b(?:ascending|increasing|smallest to largest|lowest to highest)\b", sentence, re.I
    )
    if bool(down) == bool(up):
        return []
    return [DerivedCheck("sorted", stored[0], descending=bool(down), phrase=sentence)]


def derive(text: str) -> list[DerivedCheck]:
    """The checks a turn's words promise, without duplicates, in the order they were read."""
    out: list[DerivedCheck] = []
    printed: DerivedCheck | None = None
    for sentence in sentences(text):
        funcs = _function_checks(sentence)
        named = _named_checks(sentence)
        stored = _stored_checks(sentence)
        out += funcs + named + _data_checks(sentence, stored)
        created = [c.name for c in named + stored]
        out += _values_checks(sentence, created)
        out += _sorted_checks(sentence, [c.name for c in stored])
        for name, recipe, phrase in derived_output.shows(sentence):
            out.append(DerivedCheck("shows", name, values=recipe, phrase=phrase))
        for kind, name, values, phrase in derived_values.value_checks(sentence):
            out.append(DerivedCheck(cast(Kind, kind), name, values=values, phrase=phrase))
        if printed is None and _asks_to_print(sentence):
            printed = DerivedCheck("printed", phrase=sentence)
    if printed is not None:
        out.append(printed)
    unique: dict[tuple[str, str], DerivedCheck] = {}
    callables = {c.name for c in out if c.kind == "callable"}
    for check in out:
        key = (check.kind, check.name)
        if check.kind == "name" and check.name in callables:
            continue
        if key not in unique or (check.kind == "name" and not unique[key].values):
            unique[key] = check  # a name asked twice keeps what it must hold
    return list(unique.values())


def _asks_to_print(sentence: str) -> bool:
    if _PRINT_START.search(sentence):
        return not re.match(r"\s*(?:if|when|unless|otherwise)\b", sentence, re.I)
    return _PRINT_CLAUSE.search(sentence) is not None and not _CONDITIONAL.search(sentence)
