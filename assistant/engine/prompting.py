"""Prompt assembly: MTPB-style multi-turn and single-turn prompts, chat variants, refinement.

Completion style follows the CodeGen MTPB sampler exactly::

    # Import libraries.\\n\\nimport numpy as np\\n\\n      <- prefix (prompts/mtpb_prefix.txt)
    # {turn 1}\\n{code 1}\\n                               <- each past turn
    # {current turn}\\n                                  <- the model continues from here

Every prompt of a session is an extension of the previous one (append-only), so backends with
prefix caching (llama.cpp keeps the KV cache for the longest common prefix) only evaluate the
new text. Refinement prompts keep that property: they append the faulty code and the feedback
*after* the current turn's prompt instead of rewriting the history. Chat variants are
append-only message lists for the same reason.

Templates are text files in ``prompts/`` (see ``assistant.resources.prompt_path``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from assistant.resources import prompt_path

_CELL = re.compile(r"Cell In\[\d+\], line")
_BARE_NUMBER = re.compile(r"^\s*\d+\s*$")


# Between a past turn's code and the next comment. The upstream sampler appends
# ``truncate(completion) + "\\n\\n"`` and its truncation keeps the newline before the cut, so
# upstream prompts usually have two blank lines there; one newline is the compact default
# here. Byte-for-byte upstream prompts: ``exact=True`` (MTPB runs), which keeps each turn's
# code as ``upstream_truncate`` left it and appends exactly "\\n\\n".
TURN_SEPARATOR = "\n"
UPSTREAM_SEPARATOR = "\n\n\n"  # what exact mode usually gives; kept for callers


@dataclass(frozen=True)
class PastTurn:
    """One earlier turn as the prompt shows it: the user's words and the code kept for it."""

    prompt: str
    code: str


@cache
def template(name: str) -> str:
    return prompt_path(name).read_text(encoding="utf-8")


def mtpb_prefix() -> str:
    return template("mtpb_prefix.txt")


def system_prompt() -> str:
    return template("system.txt").strip()


def _comment(text: str) -> str:
    """A turn as a comment; multi-line requests stay comments on every line."""
    lines = text.strip().splitlines() or [""]
    return "".join(f"# {ln}".rstrip() + "\n" for ln in lines)


def upstream_turn(prompt: str) -> str:
    """Upstream MTPB's turn line: ``"# " + prompt + "\\n"``, the prompt exactly as given.

    Nothing is stripped or re-commented: problem 17's multi-line prompt keeps its own
    ``# str(4) = 4`` lines (``_comment`` would make them ``# # str(4) = 4``) and the trailing
    space of problems 58, 59, 102 and 103 stays.
    """
    return f"# {prompt}\n"


def _as_comments(text: str) -> str:
    return "".join(f"# {ln}".rstrip() + "\n" for ln in text.strip().splitlines())


def _fence(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


# -- completion style ------------------------------------------------------------------------
def history_prompt(
    history: Sequence[PastTurn],
    prefix: str | None = None,
    sep: str = TURN_SEPARATOR,
    exact: bool = False,
) -> str:
    """Prefix plus every past turn ("# {prompt}\\n" + code + ``sep``).

    ``exact``: upstream's bytes, ``upstream_turn(prompt) + code + "\\n\\n"`` (``sep`` unused).
    """
    out = [mtpb_prefix() if prefix is None else prefix]
    for past in history:
        if exact:
            out.append(upstream_turn(past.prompt) + past.code + "\n\n")
        else:
            out.append(_comment(past.prompt) + past.code.rstrip("\n") + sep)
    return "".join(out)


def multi_turn_prompt(
    history: Sequence[PastTurn],
    current: str,
    prefix: str | None = None,
    sep: str = TURN_SEPARATOR,
    exact: bool = False,
) -> str:
    """The MTPB multi-turn prompt: history, then the current turn as a comment."""
    turn = upstream_turn(current) if exact else _comment(current)
    return history_prompt(history, prefix, sep, exact) + turn


def single_turn_prompt(turns: Sequence[str], prefix: str | None = None) -> str:
    """The single-turn control: all turn comments first, the model writes the whole program."""
    return (mtpb_prefix() if prefix is None else prefix) + "".join(_comment(t) for t in turns)


# Refinement prompt variants (setting ``refine_prompt``), measured on real models (README):
# * "plain": the faulty code, then the feedback as comment lines (completion) or as a user
#   message (chat). Small base models tend to continue the comments instead of writing code.
# * "primed": the faulty code, the feedback in a docstring, then the turn's comment again, so
#   the model's next line is code (completion); chat: the feedback message and the answer
#   primed with an opening ```python fence.
# * "hint": the feedback without the faulty code (a docstring, then the turn's comment again;
#   chat: added to the turn's request), so there is no code to copy.
# * "retry": no feedback at all, the first attempt's prompt again: a fresh sample (the
#   baseline refinement must beat, at the same token cost).
REFINE_VARIANTS = ("plain", "primed", "hint", "retry")
# Measured (README, "MTPB on the two small models"): for SmolLM2 (chat) hint fixes the most
# failing turns and copies least; for Gemma 3 270M (completion) no feedback variant fixed a
# turn while fresh samples (retry) did.
DEFAULT_REFINE = {"completion": "retry", "chat": "hint"}
CHAT_PRIME = "```python\n"


def refine_variant(setting: str, style: str) -> str:
    """The variant a ``refine_prompt`` setting means for a prompt style ("auto": measured)."""
    if setting == "auto":
        return DEFAULT_REFINE.get(style, "plain")
    if setting not in REFINE_VARIANTS:
        raise ValueError(
            f"unknown refine_prompt {setting!r} (one of: auto, {', '.join(REFINE_VARIANTS)})"
        )
    return setting


def _docstring_safe(feedback: str) -> str:
    """Feedback that cannot end the docstring it is put in."""
    return feedback.strip().replace('"""', "'''") or "(no feedback)"


def refine_prompt(
    history: Sequence[PastTurn],
    current: str,
    faulty_code: str,
    feedback: str,
    prefix: str | None = None,
    sep: str = TURN_SEPARATOR,
    variant: str = "plain",
    exact: bool = False,
) -> str:
    """Refinement request appended after the first attempt's prompt (shares its cache prefix).

    The task is every turn so far (history + current comment); then the faulty code and the
    feedback (see ``REFINE_VARIANTS``).
    """
    base = multi_turn_prompt(history, current, prefix, sep, exact)
    turn = upstream_turn(current) if exact else _comment(current)
    if variant == "retry":
        return base
    if variant == "hint":
        # Before the turn's comment, so the prompt still ends with it: the answer starts as code.
        body = template("refine_hint.txt").format(feedback=_docstring_safe(feedback))
        return history_prompt(history, prefix, sep, exact) + body + turn
    if variant == "primed":
        body = template("refine_primed.txt").format(feedback=_docstring_safe(feedback))
        return base + faulty_code.rstrip("\n") + "\n" + body + turn
    body = template("refine.txt").format(
        feedback=_as_comments(feedback).rstrip("\n") or "# (no feedback)",
        prompt=" ".join(current.split()),
    )
    return base + faulty_code.rstrip("\n") + "\n" + body


# -- chat style --------------------------------------------------------------------------------
def chat_messages(
    history: Sequence[PastTurn], current: str, system: str | None = None
) -> list[dict[str, str]]:
    """System prompt, then (user turn, assistant code) pairs, then the current user turn."""
    msgs = [{"role": "system", "content": system_prompt() if system is None else system}]
    for past in history:
        msgs.append({"role": "user", "content": past.prompt.strip()})
        msgs.append({"role": "assistant", "content": _fence(past.code)})
    msgs.append({"role": "user", "content": current.strip()})
    return msgs


def single_turn_messages(turns: Sequence[str], system: str | None = None) -> list[dict[str, str]]:
    steps = "\n".join(f"{i}. {t.strip()}" for i, t in enumerate(turns, 1))
    return [
        {"role": "system", "content": system_prompt() if system is None else system},
        {"role": "user", "content": template("single_turn_chat.txt").format(steps=steps).strip()},
    ]


def refine_messages(
    history: Sequence[PastTurn],
    current: str,
    faulty_code: str,
    feedback: str,
    system: str | None = None,
    variant: str = "plain",
) -> list[dict[str, str]]:
    """Chat refinement: the first attempt's messages + the faulty answer + the feedback.

    ("primed" adds nothing here: the engine primes the answer with ``CHAT_PRIME``.)
    """
    msgs = chat_messages(history, current, system)
    if variant == "retry":
        return msgs
    if variant == "hint":
        body = template("refine_hint_chat.txt").format(feedback=feedback.strip() or "(none)")
        msgs[-1] = {"role": "user", "content": msgs[-1]["content"] + "\n\n" + body.strip()}
        return msgs
    msgs.append({"role": "assistant", "content": _fence(faulty_code)})
    body = template("refine_chat.txt").format(
        feedback=feedback.strip() or "(no feedback)", prompt=" ".join(current.split())
    )
    msgs.append({"role": "user", "content": body.strip()})
    return msgs


# -- feedback ------------------------------------------------------------------------------------
def error_feedback(result: Any, max_lines: int = 12) -> str:
    """Error type and message plus the relevant (last) traceback lines of an ExecResult."""
    err = getattr(result, "error", None)
    if err is not None:
        # IPython's header and bare context-line numbers only cost tokens.
        lines = [
            _CELL.sub("line", ln)
            for ln in err.short_traceback(max_lines + 4).splitlines()
            if "Traceback (most recent call last)" not in ln and not _BARE_NUMBER.match(ln)
        ]
        tb = "\n".join(lines[-max_lines:])
        summary = err.summary()
        if tb and summary not in tb:
            return f"{tb}\n{summary}"
        return tb or summary
    return str(result.feedback() or getattr(result, "status", "failed"))


def mismatch_feedback(expected: Any, actual: str | None) -> str:
    got = actual if actual is not None else "nothing was printed"
    return f"Expected output: {expected!r}\nActual output: {got}"
