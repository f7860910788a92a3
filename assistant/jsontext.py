"""JSON text that UTF-8 can always hold.

Kernel text may contain lone surrogates (``print('\\ud800')``, bytes decoded with
surrogateescape). ``json.dumps(..., ensure_ascii=False)`` keeps them raw and writing the text
as UTF-8 then raises UnicodeEncodeError; written as ``\\udXXX`` escapes instead they load back
as the very same string. Everything else stays readable (no blanket ensure_ascii).
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False, **kwargs)`` with lone surrogates escaped."""
    return _SURROGATE.sub(_escape, json.dumps(obj, ensure_ascii=False, **kwargs))
