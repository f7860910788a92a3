"""Cut a raw completion down to one turn's code, following the MTPB sampler's rules.

A base model keeps writing past the turn it was asked for: the next "# step" comment, another
``print``/``def`` block, a docstring, blank lines. The published MTPB harness cuts the
completion at the earliest of:

* a line starting with ``#`` (the model starting the next turn's comment),
* the second top-level ``print`` or the second top-level ``def``,
* a line starting with ``'''`` or ``\"\"\"``,
* three newlines in a row (a run of blank lines),
* an end-of-text token.

``strict=True`` applies these literally (a completion that *starts* with a comment becomes
empty, as upstream). The default is lenient in one way only: leading comment lines are kept
until the first code line, because an interactive user would rather see code that starts with a
comment than nothing. Chat models answer in a ```python fence: ``chat=True`` takes the first
fenced block (or the whole text when there is none) and applies no MTPB cut, since chat code
may contain comments and several prints on purpose.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.engine.options import EngineOptions

END_TOKENS = ("<|endoftext|>", "</s>", "<|im_end|>", "<|eot_id|>", "<|end|>")

_COMMENT_LINE = re.compile(r"^#", re.MULTILINE)
_TOP_PRINT = re.compile(r"^print\b", re.MULTILINE)
_TOP_DEF = re.compile(r"^def\b", re.MULTILINE)
_DOCSTRING = re.compile(r"^(?:'''|\"\"\")", re.MULTILINE)
_BLANK_RUN = re.compile(r"\n\n\n")
_FENCE_OPEN = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n", re.IGNORECASE)


def _cut_end_tokens(text: str) -> str:
    for tok in END_TOKENS:
        pos = text.find(tok)
        if pos >= 0:
            text = text[:pos]
    return text


def _leading_comment_end(text: str) -> int:
    """Offset of the first line that is neither blank nor a comment."""
    pos = 0
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            return pos
        pos += len(line)
    return pos


def truncate_mtpb(completion: str, *, strict: bool = False) -> str:
    """Apply the MTPB cut rules to a base-model completion; trailing whitespace removed."""
    text = _cut_end_tokens(completion)
    start = 0 if strict else _leading_comment_end(text)
    # Second top-level print / def: upstream cuts these first, on the whole completion.
    for pattern in (_TOP_PRINT, _TOP_DEF):
        hits = [m.start() for m in pattern.finditer(text, start)]
        if len(hits) > 1:
            text = text[: hits[1]]
    cuts = [
        m.start()
        for pattern in (_COMMENT_LINE, _DOCSTRING, _BLANK_RUN)
        if (m := pattern.search(text, start)) is not None
    ]
    if cuts:
        text = text[: min(cuts)]
    return text.rstrip()


def strip_fence(text: str) -> str:
    """The first fenced code block of a chat answer; the text itself when there is no fence.

    An unterminated fence (generation stopped at max_tokens) keeps everything after it.
    """
    m = _FENCE_OPEN.search(text)
    if m is None:
        # A bare ``` line with an unknown language tag, or none at all.
        bare = re.search(r"```[^\n`]*\n", text)
        if bare is None:
            return text.strip("\n").rstrip()
        m = bare
    body = text[m.end() :]
    close = re.search(r"^[ \t]*```", body, re.MULTILINE)
    if close is not None:
        body = body[: close.start()]
    return body.strip("\n").rstrip()


_UP_PRINT = re.compile(r"^print", re.MULTILINE)  # prefix match: "printer = 1" counts
_UP_DEF = re.compile(r"^def", re.MULTILINE)  # "default = 1" counts too
_UP_TERMINALS = tuple(
    re.compile(r, re.MULTILINE)
    for r in (r"^#", re.escape("<|endoftext|>"), r"^'''", r'^"""', r"\n\n\n")
)


def upstream_truncate(completion: str) -> str:
    """Upstream MTPB's cut, exactly: what its sampler keeps of a completion.

    Cut at the second line starting with ``print``, then at the second starting with ``def``
    (both prefix matches, no word boundary), then at the earliest of: a line starting with
    ``#``, ``<|endoftext|>``, a line starting with three quotes (either kind), three newlines.
    Nothing is stripped, so a completion starting with ``#`` gives ``""`` (no code: small
    models often answer with a comment first), and the newline before a cut stays.
    """
    for pattern in (_UP_PRINT, _UP_DEF):
        hits = list(pattern.finditer(completion))
        if len(hits) > 1:
            completion = completion[: hits[1].start()]
    cuts = [m.start() for t in _UP_TERMINALS if (m := t.search(completion)) is not None]
    return completion[: min(cuts)] if cuts else completion


def upstream_cut(text: str, stop: str | None = None) -> str:
    """``upstream_truncate`` of a backend's completion.

    A backend drops the stop sequence that ended the text (``"\\n#"``); upstream generated
    past it, and its cut keeps the newline before the ``#``. Putting ``stop`` back gives the
    same bytes. Other tokenizers' end-of-text markers are cut like upstream's
    ``<|endoftext|>`` (a backend that stopped on its end-of-text token adds nothing).
    """
    return upstream_truncate(_cut_end_tokens(text + (stop or "")))


def truncate(completion: str, *, chat: bool = False, strict: bool = False) -> str:
    """One turn's code from a raw completion (chat: fence stripped; else MTPB rules)."""
    if chat:
        return strip_fence(_cut_end_tokens(completion))
    return truncate_mtpb(completion, strict=strict)


def truncate_program(text: str, *, chat: bool = False) -> str:
    """A whole program (the single-turn control): only end-of-text tokens end it.

    The per-turn rules (a second def/print, a comment line, a blank run) would chop a whole
    program after its first function.
    """
    text = _cut_end_tokens(text)
    return strip_fence(text) if chat else text.rstrip()


def extract_code(raw: str, stop: str | None, options: EngineOptions, *, chat: bool = False) -> str:
    """One turn's code from a completion as the engine's options say to cut it.

    ``stop``: the stop sequence that ended the completion (upstream's cut needs it back).
    """
    if options.whole_program:
        return truncate_program(raw, chat=chat)
    if options.mtpb_exact and not chat:
        return upstream_cut(raw, stop)
    return truncate(raw, chat=chat, strict=options.strict_truncation)
