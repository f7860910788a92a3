"""Text that UTF-8 can carry: lone surrogates (``'\\ud800'``) become the escape ``\\ud800``.

Python strings may hold lone surrogates; UTF-8 cannot encode them. Without this, printing one
failed in the fork runtime and passed in the Jupyter kernel, and ``raise ValueError('\\ud800')``
was reported as a ``UnicodeEncodeError`` by the Jupyter kernel (its message to the app could
not be encoded) and as a ``ValueError`` by the fork runtime. Both runtimes now escape such text
the same way wherever it leaves the program: output, error values and tracebacks, values shown.

Loaded by limits.py (the Jupyter kernel) and fork_child.py; standard library only.
"""

from __future__ import annotations

from typing import Any


def escape(text: str) -> str:
    """``text`` unchanged when UTF-8 can encode it, else with each surrogate as ``\\udXXX``."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def clean(obj: Any) -> Any:
    """``obj`` (a message: dicts, lists, strings) with every string escaped."""
    if isinstance(obj, str):
        return escape(obj)
    if isinstance(obj, dict):
        return {clean(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    return obj


def safe_packer(pack: Any) -> Any:
    """Wrap a Jupyter session's ``pack``: a message it cannot encode is sent escaped."""
    if getattr(pack, "_asst_textsafe", False):
        return pack

    def packed(obj: Any) -> Any:
        try:
            return pack(obj)
        except UnicodeEncodeError:
            return pack(clean(obj))

    packed._asst_textsafe = True  # type: ignore[attr-defined]
    return packed
