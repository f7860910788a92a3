"""CodeBLEU syntax and data-flow match (skipped only when codebleu cannot be imported)."""

from __future__ import annotations

import pytest

pytest.importorskip("codebleu")

from assistant.mtpb.similarity import code_similarity, corpus_similarity

pytestmark = pytest.mark.unit


def test_renamed_variables_match_fully() -> None:
    s = code_similarity("a = 1\nb = a + 2\nprint(b)", "x = 1\ny = x + 2\nprint(y)")
    assert s.syntax_match == 1.0 and s.dataflow_match == 1.0


def test_different_program_scores_lower() -> None:
    ref = "x = [i * i for i in range(5)]\ntotal = sum(x)\nprint(total)"
    s = code_similarity("print('hello')", ref)
    assert s.syntax_match < 0.5 and s.dataflow_match is not None and s.dataflow_match < 0.5


def test_reference_without_data_flow_has_no_dataflow_score() -> None:
    assert code_similarity("print(2)", "print(1)").dataflow_match is None


def test_corpus_needs_aligned_lists() -> None:
    with pytest.raises(ValueError):
        corpus_similarity(["a"], [])
