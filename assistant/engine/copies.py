"""Copy detection for refinement (CYCLE's copy problem), pure.

Small code models often "fix" code by repeating it. A refinement that is the same as an earlier
faulty attempt, literally or after normalising whitespace and comments (AST dump when it
parses, the token stream otherwise), is a copy: ``engine.loop`` does not run it again.
"""

from __future__ import annotations

import ast
import io
import tokenize

from assistant.engine.session import Turn


def normalize_code(code: str) -> str:
    """A form of ``code`` that ignores whitespace, comments and formatting.

    Parsable code is compared by its AST (so quoting and parentheses do not matter either);
    anything else by its token stream without comments and blank lines.
    """
    try:
        return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError):
        pass
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
    parts: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type not in skip:
                parts.append(tok.string if tok.type != tokenize.NEWLINE else ";")
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # Unterminated code: fall back to the lines without comments and inner spacing.
        lines = (ln.split("#", 1)[0] for ln in code.splitlines())
        return "\n".join(" ".join(ln.split()) for ln in lines if ln.strip())
    return " ".join(parts)


def find_copy(code: str, faulty: list[tuple[int, str, str]]) -> int | None:
    """The attempt index of an earlier faulty candidate ``code`` repeats, else None.

    ``faulty`` holds (attempt index, code, normalized code).
    """
    norm = None
    for attempt, old, old_norm in faulty:
        if code == old:
            return attempt
        norm = norm if norm is not None else normalize_code(code)
        if norm == old_norm:
            return attempt
    return None


def faulty_so_far(turn: Turn) -> list[tuple[int, str, str]]:
    out = []
    for a in turn.attempts:
        for c in a.candidates:
            if c.result is not None and not c.passed and not c.no_code:
                out.append((a.index, c.code, normalize_code(c.code)))
    return out
