"""Prompt bytes of all 115 MTPB problems against upstream's sampler, rebuilt here from its rules.

Upstream (CodeGen ``mtpb_sample.py``): the history starts as the prefix; each turn appends
``"# " + prompt.format(**inputs) + "\\n"``, the model continues, and ``truncate(completion) +
"\\n\\n"`` is appended; each turn gets ``max_gen_length`` new tokens (256 when absent). The
truncation below is written independently of ``assistant.engine.truncation`` (line starts scanned by
hand) so that both implementations must agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.engine import prompting
from assistant.engine.request import COMPLETION_STOPS
from assistant.engine.truncation import upstream_cut, upstream_truncate
from assistant.models.scripted import ScriptedModel
from assistant.models.stop_filter import StopFilter
from assistant.mtpb.problems import load_problems
from assistant.mtpb.upstream import sample_upstream, upstream_program

pytestmark = pytest.mark.unit

PREFIX = "# Import libraries.\n\nimport numpy as np\n\n"

# A fixed set of completions, one per turn (the last repeats), covering every cut rule.
COMPLETIONS = [
    "x = 1\n# next step\ny = 2\n",  # a comment line ends it; the newline before it stays
    "# only a comment\nz = 3\n",  # starts with '#': nothing is kept
    "print(a)\nprint(b)\n",  # second print
    "def f():\n    return 1\ndef g():\n    pass\n",  # second def
    "value = 7\n\n\n\nmore = 8\n",  # three newlines
    'text = 1\n"""doc"""\n',  # a docstring line
    "result = 2  <|endoftext|> junk",  # end of text
    "printer = 1\nprint(2)\nx = 3\n",  # prefix match: 'printer' counts as a print line
    "for i in range(3):\n    total = i",  # no cut, no trailing newline
    "  indented # not at line start\n'''\n",  # '#' inside a line stays; ''' line cuts
    "defaults = 1\ndef h():\n    '''doc'''\n",  # 'defaults' counts as a def line
]


def _line_starts(text: str) -> list[int]:
    return [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]


def rule_truncate(c: str) -> str:
    """Upstream's truncation from its description (independent of the project's regexes)."""
    prints = [i for i in _line_starts(c) if c.startswith("print", i)]
    if len(prints) > 1:
        c = c[: prints[1]]
    defs = [i for i in _line_starts(c) if c.startswith("def", i)]
    if len(defs) > 1:
        c = c[: defs[1]]
    cuts = [i for i in _line_starts(c) if c.startswith(("#", "'''", '"""'), i)]
    cuts += [i for i in (c.find("<|endoftext|>"), c.find("\n\n\n")) if i >= 0]
    return c[: min(cuts)] if cuts else c


def expected_prompts(prompts: list[str]) -> list[str]:
    out, history = [], PREFIX
    for t, prompt in enumerate(prompts):
        history += "# " + prompt + "\n"
        out.append(history)
        history += rule_truncate(COMPLETIONS[min(t, len(COMPLETIONS) - 1)]) + "\n\n"
    return out


@pytest.fixture(scope="module")
def problems(mtpb_path: Path) -> list:
    return load_problems(mtpb_path).problems


def test_rule_truncation_matches_upstream_truncate() -> None:
    for c in COMPLETIONS:
        assert upstream_truncate(c) == rule_truncate(c), c
    assert upstream_truncate("# a comment first\nx = 1\n") == ""
    # upstream's own example (test_truncate in mtpb_sample.py)
    raw = "\nif len_a > len_b:\n    result = a\nelse:\n    result = b\n\n\n\n#"
    assert upstream_truncate(raw) == "\nif len_a > len_b:\n    result = a\nelse:\n    result = b"


def test_stop_sequences_put_back_give_the_same_cut() -> None:
    # A backend stops at "\n#" and drops it; upstream generated on and cut at the '#'.
    for c in COMPLETIONS:
        f = StopFilter(list(COMPLETION_STOPS))
        f.feed(c)
        text = f.finish()
        assert upstream_cut(text, f.matched) == upstream_truncate(c), c


def test_upstream_sampler_prompts_for_all_115_problems(problems: list) -> None:
    model = ScriptedModel({"turns": COMPLETIONS})
    settings = Settings()
    budgets = set()
    for prob in problems:
        model.requests.clear()
        case = prob.cases - 1
        prompts = [p.format(**prob.inputs[case]) for p in prob.prompts]  # upstream's filling
        meta = {"problem": prob.id, "case": case, "sample": 0}
        codes, _ = sample_upstream(prompts, model, settings, meta, prob.max_gen_length)
        want = expected_prompts(prompts)
        assert [r.prompt for r in model.requests] == want, prob.id
        raw = json.loads(json.dumps(prob.max_gen_length))
        assert {r.max_tokens for r in model.requests} == {raw}
        budgets.add(prob.max_gen_length)
        # The program upstream runs is the final history.
        assert upstream_program(prompts, codes) == want[-1] + codes[-1] + "\n\n"
    assert budgets == {128, 256, 512}


def test_engine_prompts_in_exact_mode_for_all_115_problems(problems: list) -> None:
    # The default (engine) path builds the same bytes from committed turns.
    for prob in problems:
        prompts = prob.filled_prompts(0)
        want = expected_prompts(prompts)
        history: list[prompting.PastTurn] = []
        for t, prompt in enumerate(prompts):
            got = prompting.multi_turn_prompt(history, prompt, exact=True)
            assert got == want[t], (prob.id, t)
            comp = COMPLETIONS[min(t, len(COMPLETIONS) - 1)]
            history.append(prompting.PastTurn(prompt, upstream_cut(comp)))


def test_prompts_kept_as_given(problems: list) -> None:
    by = {p.id: p for p in problems}
    first = expected_prompts(by["17"].filled_prompts(0))[0]
    # Its prompt holds its own "# " lines: kept, not commented again ("# # str(4)").
    assert "acting odd: \n# str(4) = 4\n" in first and "# # str" not in first
    assert "# # str" in prompting.multi_turn_prompt([], by["17"].filled_prompts(0)[0])
    for pid in ("58", "59", "102", "103"):
        prompts = by[pid].filled_prompts(0)
        assert any(p.endswith(" ") for p in prompts)
        assert any(". \n" in s for s in expected_prompts(prompts)), pid
    missing = [p for p in problems if p.max_gen_length == 256]
    assert {p.id for p in missing} >= {"39", "40", "41", "42", "43", "44"}
