"""Code similarity of a candidate program to a reference: CodeBLEU's syntax and data-flow match.

* syntax match: the share of the reference's AST subtrees (leaves ignored) found in the
  candidate's AST;
* data-flow match: the share of the reference's variable dependency edges (names normalised)
  found in the candidate.

Both come from the ``codebleu`` package (tree-sitter based), imported only when called. Pins
known to work: ``codebleu==0.7.0 tree-sitter==0.22.3 tree-sitter-python==0.21.0`` (the
``metrics`` extra). A reference without any data flow (``print(1)``) has no data-flow score:
``dataflow_match`` is None rather than CodeBLEU's misleading 0.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.errors import AssistantError

INSTALL_HINT = (
    "code similarity needs the 'codebleu' package with a matching tree-sitter: "
    "pip install 'codebleu==0.7.0' 'tree-sitter==0.22.3' 'tree-sitter-python==0.21.0' "
    "(or: pip install 'mtpb-assistant[metrics]')"
)


class SimilarityUnavailable(AssistantError, RuntimeError):
    """codebleu (or its tree-sitter grammar) is missing or broken; the message says the fix.

    Still a RuntimeError: it was one before there was a common root.
    """


@dataclass(frozen=True)
class CodeSimilarity:
    syntax_match: float
    dataflow_match: float | None  # None: the reference has no data flow to match


class _NoDataflow(logging.Filter):
    """Notices (and hides) codebleu's "no reference data-flows" warning."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "data-flow" in record.getMessage():
            self.seen = True
            return False
        return True


def _calc() -> Any:
    try:
        from codebleu import calc_codebleu
    except ImportError as exc:
        raise SimilarityUnavailable(f"{INSTALL_HINT} [{exc}]") from None
    return calc_codebleu


def available() -> bool:
    try:
        corpus_similarity(["x = 1"], ["x = 1"])
    except SimilarityUnavailable:
        return False
    return True


def corpus_similarity(candidates: Sequence[str], references: Sequence[str]) -> CodeSimilarity:
    """Corpus-level scores over aligned (candidate, reference) pairs."""
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} references")
    calc = _calc()
    flt = _NoDataflow()
    root = logging.getLogger()
    root.addFilter(flt)
    try:
        scores = calc([[r] for r in references], list(candidates), lang="python")
    except TypeError as exc:  # the known tree-sitter-python/tree-sitter mismatch
        raise SimilarityUnavailable(f"{INSTALL_HINT} [{exc}]") from None
    finally:
        root.removeFilter(flt)
    return CodeSimilarity(
        syntax_match=float(scores["syntax_match_score"]),
        dataflow_match=None if flt.seen else float(scores["dataflow_match_score"]),
    )


def code_similarity(candidate: str, reference: str) -> CodeSimilarity:
    """Syntax and data-flow match of one candidate program against one reference program."""
    return corpus_similarity([candidate], [reference])
