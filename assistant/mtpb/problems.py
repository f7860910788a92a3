"""MTPB problems: a typed record, a validating loader, and prompt filling as upstream does it.

The loader never stops at the first bad line: every malformed line is reported as
``file:line: what is wrong`` and the other lines still load, so one broken edit of a local
copy does not hide the other 114 problems.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError

# New tokens per turn when a line has no max_gen_length: upstream's sampler passes
# ``problem.get("max_gen_length", 256)`` (7 problems rely on it; 88 say 128, 19 say 256, 1 512).
DEFAULT_MAX_GEN_LENGTH = 256
EXPECTED_CASES = 5

# Problems that read a CSV the benchmark does not ship (38, 46) name it in a prompt.
_DATASET = re.compile(r"""(?P<path>(?:\./)?datasets/[\w.\-]+\.csv)""")


class DataNotFound(AssistantError):
    """No mtpb.jsonl could be located; the message says how to get one."""


@dataclass(frozen=True)
class Problem:
    id: str
    name: str
    description: str
    category: str
    prompts: list[str]
    inputs: list[dict[str, Any]]
    outputs: list[Any]
    max_gen_length: int = DEFAULT_MAX_GEN_LENGTH
    line: int = 0  # 1-based line in the source file, for messages

    @property
    def num(self) -> int:
        return int(self.id)

    @property
    def cases(self) -> int:
        return len(self.inputs)

    def filled_prompts(self, case: int) -> list[str]:
        """Every turn's prompt for one test case."""
        return [fill_prompt(p, self.inputs[case]) for p in self.prompts]

    def datasets(self) -> list[str]:
        """Relative paths of data files the prompts read (``./datasets/*.csv``)."""
        found: list[str] = []
        for p in self.prompts:
            for m in _DATASET.finditer(p):
                path = m.group("path")
                path = path if path.startswith("./") else "./" + path
                if path not in found:
                    found.append(path)
        return found

    def missing_datasets(self, workdir: Path | None) -> list[str]:
        """Datasets absent from the kernel's working folder (a scratch folder: all of them)."""
        if workdir is None:
            return self.datasets()
        return [d for d in self.datasets() if not (workdir / d).is_file()]


@dataclass
class LoadResult:
    problems: list[Problem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "file:line: what is wrong"
    warnings: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, Problem]:
        return {p.id: p for p in self.problems}


def fill_prompt(template: str, inputs: dict[str, Any]) -> str:
    """Fill ``{name}`` with ``str(value)``: exactly upstream's ``template.format(**inputs)``.

    ``{{`` and ``}}`` become literal braces (problem 46 relies on it).
    """
    return template.format(**inputs)


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields of a template (``{{...}}`` escapes excluded)."""
    names: set[str] = set()
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            names.add(name.split(".")[0].split("[")[0])
    return names


def _check(obj: Any, where: str) -> tuple[Problem | None, list[str], list[str]]:
    """Validate one decoded line; returns (problem or None, errors, warnings)."""
    errs: list[str] = []
    warns: list[str] = []
    if not isinstance(obj, dict):
        return None, [f"{where}: expected a JSON object, got {type(obj).__name__}"], []

    def need(key: str, kinds: type | tuple[type, ...], what: str) -> Any:
        if key not in obj:
            errs.append(f"{where}: missing field '{key}'")
            return None
        val = obj[key]
        if not isinstance(val, kinds) or isinstance(val, bool):
            errs.append(f"{where}: field '{key}' must be {what}, got {type(val).__name__}")
            return None
        return val

    pid = need("id", (str, int), "a problem number")
    if pid is not None and not str(pid).strip().isdigit():
        errs.append(f"{where}: field 'id' must be a problem number, got {pid!r}")
        pid = None
    name = need("name", str, "a string")
    desc = need("description", str, "a string")
    cat = need("category", str, "a string")
    prompts = need("prompts", list, "a list of strings")
    inputs = need("inputs", list, "a list of objects")
    if "outputs" not in obj:
        errs.append(f"{where}: missing field 'outputs'")
    outputs = obj.get("outputs")
    if outputs is not None and not isinstance(outputs, list):
        errs.append(f"{where}: field 'outputs' must be a list, got {type(outputs).__name__}")
        outputs = None
    mgl = obj.get("max_gen_length", DEFAULT_MAX_GEN_LENGTH)
    if not isinstance(mgl, int) or isinstance(mgl, bool) or mgl <= 0:
        errs.append(f"{where}: field 'max_gen_length' must be a positive integer, got {mgl!r}")
    if prompts is not None:
        if not prompts:
            errs.append(f"{where}: field 'prompts' is empty")
        for i, p in enumerate(prompts):
            if not isinstance(p, str):
                errs.append(f"{where}: prompts[{i}] must be a string, got {type(p).__name__}")
    if inputs is not None:
        for i, case in enumerate(inputs):
            if not isinstance(case, dict):
                errs.append(f"{where}: inputs[{i}] must be an object, got {type(case).__name__}")
    if inputs is not None and outputs is not None and len(outputs) < len(inputs):
        errs.append(
            f"{where}: {len(inputs)} inputs but {len(outputs)} outputs (one output per input)"
        )
    if errs:
        return None, errs, warns
    assert prompts is not None and inputs is not None and outputs is not None
    if len(inputs) != EXPECTED_CASES:
        warns.append(f"{where}: {len(inputs)} test cases (MTPB has {EXPECTED_CASES})")
    if len(outputs) > len(inputs):
        # Problem 57 ships 6 outputs for 5 inputs; upstream zips them, dropping the extra.
        warns.append(
            f"{where}: {len(outputs)} outputs for {len(inputs)} inputs; "
            f"the extra {len(outputs) - len(inputs)} ignored (as upstream zips them)"
        )
        outputs = outputs[: len(inputs)]
    errs.extend(_check_placeholders(prompts, inputs, where, warns))
    if errs:
        return None, errs, warns
    prob = Problem(
        id=str(pid).strip(),
        name=name,
        description=desc,
        category=cat,
        prompts=list(prompts),
        inputs=[dict(c) for c in inputs],
        outputs=list(outputs),
        max_gen_length=int(mgl),
    )
    return prob, errs, warns


def _check_placeholders(
    prompts: list[str], inputs: list[dict[str, Any]], where: str, warns: list[str]
) -> list[str]:
    """Every {name} must be an input of every case (error); unused inputs are a warning."""
    errs: list[str] = []
    used: set[str] = set()
    for t, tmpl in enumerate(prompts):
        try:
            names = placeholders(tmpl)
        except ValueError as exc:
            errs.append(f"{where}: prompts[{t}] is not a valid template ({exc}); use {{{{ for {{")
            continue
        used |= names
        for c, case in enumerate(inputs):
            missing = sorted(names - set(case))
            if missing:
                errs.append(
                    f"{where}: prompts[{t}] uses {{{', '.join(missing)}}} "
                    f"but inputs[{c}] has only {sorted(case)}"
                )
                break
    for c, case in enumerate(inputs):
        unused = sorted(set(case) - used)
        if unused:
            warns.append(f"{where}: inputs[{c}] has {unused} that no prompt uses")
    return errs


def load_problems(path: str | Path) -> LoadResult:
    """Load and validate every line of an mtpb.jsonl file. Raises only if the file is unreadable."""
    p = Path(path)
    out = LoadResult()
    seen: dict[str, int] = {}
    with p.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            where = f"{p}:{lineno}"
            if not raw.strip():
                continue
            # Without its newline: an error at the end of a truncated line would otherwise be
            # reported at "line 2 column 1" of the one-line document, i.e. "column 1".
            text = raw.rstrip("\r\n")
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                out.errors.append(f"{where}: invalid JSON ({_json_error(exc, text)})")
                continue
            prob, errs, warns = _check(obj, where)
            out.errors.extend(errs)
            if prob is None:
                continue  # one report per rejected line: its errors, not also its warnings
            if prob.id in seen:
                out.errors.append(
                    f"{where}: duplicate id {prob.id} (first on line {seen[prob.id]})"
                )
                continue
            out.warnings.extend(warns)
            seen[prob.id] = lineno
            out.problems.append(_with_line(prob, lineno))
    out.problems.sort(key=lambda q: q.num)
    return out


def _json_error(exc: json.JSONDecodeError, text: str) -> str:
    """The decoder's message at the 1-based column of the line; says so when the line ends
    too early (a truncated download or an editor that cut a long line)."""
    column = exc.pos + 1
    if exc.pos >= len(text.rstrip()):
        return f"{exc.msg} at column {column}: the line ends too early, it looks truncated"
    return f"{exc.msg} at column {column}"


def _with_line(prob: Problem, line: int) -> Problem:
    from dataclasses import replace

    return replace(prob, line=line)


def cached_copy() -> Path:
    from assistant import paths

    return paths.cache_dir() / "mtpb.jsonl"


def shared_copy() -> Path:
    """``../shared/mtpb/mtpb.jsonl`` beside the repository (development checkouts)."""
    return Path(__file__).resolve().parents[3] / "shared" / "mtpb" / "mtpb.jsonl"


def resolve_path(explicit: str | Path | None = None) -> Path:
    """--mtpb PATH, else the downloaded cache copy, else ../shared beside the repo."""
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise DataNotFound(f"MTPB file not found: {p}")
        return p
    for candidate in (cached_copy(), shared_copy()):
        if candidate.is_file():
            return candidate
    raise DataNotFound(
        "no MTPB data found: run `assistant mtpb download` (saves it to "
        f"{cached_copy()}) or pass --mtpb PATH/TO/mtpb.jsonl"
    )


def parse_ids(spec: str | None, known: list[str]) -> list[str]:
    """'1-10,42' -> ['1', ..., '10', '42'] in the order of ``known``; None means all."""
    if not spec:
        return list(known)
    wanted: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise ValueError(f"bad problem range {part!r} (use e.g. '1-10,42')") from None
        if a > b:
            raise ValueError(f"bad problem range {part!r}: {a} > {b}")
        wanted.update(range(a, b + 1))
    unknown = sorted(wanted - {int(k) for k in known})
    if unknown:
        raise ValueError(f"unknown problem ids: {', '.join(map(str, unknown))}")
    return [k for k in known if int(k) in wanted]
