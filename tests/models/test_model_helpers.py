"""Pure logic under the backends: stop-sequence streaming, token history, tiny-GGUF helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.models.stop_filter import FENCE_END, StopFilter, server_stops
from assistant.models.tiny_gguf import exact_grammar
from assistant.models.token_history import TokenHistory, common_prefix


def run(stops: list[str], pieces: list[str]) -> tuple[str, list[str], bool]:
    out: list[str] = []
    f = StopFilter(stops, out.append)
    for p in pieces:
        if f.feed(p):
            break
    text = f.finish()
    assert "".join(out) == text
    return text, out, f.stopped


@pytest.mark.unit
def test_stop_split_across_pieces() -> None:
    text, out, stopped = run(["\ndef "], ["x = 1", "\n", "de", "f g():"])
    assert (text, stopped) == ("x = 1", True)
    assert out == ["x = 1"]  # "\n" and "de" were held back, then dropped


@pytest.mark.unit
def test_fence_end_stops_after_the_first_code_block() -> None:
    answer = (
        "Sure:\n```python\nx = [3, 1]\nprint(x)\n```\nThis prints [3, 1].\n```python\ny = 2\n```"
    )
    text, _out, stopped = run([FENCE_END], [answer[i : i + 3] for i in range(0, len(answer), 3)])
    assert (text, stopped) == ("Sure:\n```python\nx = [3, 1]\nprint(x)\n```", True)
    # A bare opening fence counts; an unclosed block streams to the end.
    assert run([FENCE_END], ["```\nz = 1\n", "```", " more"])[0] == "```\nz = 1\n```"
    assert run([FENCE_END], ["```python\nz = 1\n", "print(z)"])[1:] == (
        ["```python\nz = 1\n", "print(z)"],
        False,
    )
    # A stop string inside the block still wins; the rule is never sent to a server.
    assert run([FENCE_END, "\n#"], ["```\nz = 1\n# c\n```"])[0] == "```\nz = 1"
    assert server_stops([FENCE_END, "\n#"]) == ["\n#"]
    # An answer primed with the opening fence (Request.prime): the block's end still stops it.
    out: list[str] = []
    primed = StopFilter([FENCE_END], out.append, context="```python\n")
    for piece in ["x = 1\n", "``", "`\nDone."]:
        if primed.feed(piece):
            break
    assert (primed.finish(), "".join(out), primed.stopped) == ("x = 1\n```", "x = 1\n```", True)


@pytest.mark.unit
def test_false_alarm_is_released() -> None:
    text, out, stopped = run(["\ndef "], ["a", "\n", "d", "x"])
    assert (text, stopped) == ("a\ndx", False)
    assert out == ["a", "\ndx"]


@pytest.mark.unit
def test_held_text_released_at_the_end() -> None:
    assert run(["STOP"], ["abc ST"]) == ("abc ST", ["abc ", "ST"], False)


@pytest.mark.unit
def test_earliest_of_several_stops_wins() -> None:
    assert run(["bb", "a"], ["xxbba"])[0] == "xx"


@pytest.mark.unit
def test_no_stops_streams_everything() -> None:
    assert run([], ["a", "b"]) == ("ab", ["a", "b"], False)


@pytest.mark.unit
def test_common_prefix() -> None:
    assert common_prefix(b"abcdef", b"abcxyz") == 3
    assert common_prefix(b"abc", b"abc") == 3
    assert common_prefix(b"", b"abc") == 0
    assert common_prefix(bytearray(b"x" * 1000 + b"a"), b"x" * 1000 + b"b") == 1000


@pytest.mark.unit
def test_history_reuses_up_to_the_last_whole_token() -> None:
    h = TokenHistory()
    h.extend([1, 10, 11], [b"", b"def", b" f"])  # BOS has no text
    h.extend([12, 13], [b"():", b"\n"])
    assert h.reusable(b"def f():\n    pass") == (5, 9)
    assert h.reusable(b"def f()") == (3, 5)  # "():" is only partly in the new prompt
    assert h.reusable(b"xyz") == (1, 0)  # BOS only
    h.truncate(3, 5)
    assert h.tokens == [1, 10, 11] and bytes(h.text) == b"def f"


@pytest.mark.unit
def test_history_never_reuses_past_a_token_without_text() -> None:
    h = TokenHistory()
    h.extend([1, 10], [b"", b"a"])
    h.extend([99, 11], [b"", b"b"])  # a control token in the middle of generated text
    assert h.reusable(b"ab") == (2, 1)


@pytest.mark.unit
def test_opaque_segment_is_all_or_nothing() -> None:
    h = TokenHistory()
    h.extend_opaque([1, 5, 6], b"hello world")
    assert h.reusable(b"hello world!") == (3, 11)
    assert h.reusable(b"hello") == (0, 0)


@pytest.mark.unit
def test_exact_grammar_escapes() -> None:
    assert exact_grammar('say "hi"\\n') == 'root ::= "say \\"hi\\"\\\\n"'
    assert exact_grammar("a\nb é") == 'root ::= "a\\U0000000Ab \\U000000E9"'


@pytest.mark.llama
def test_tiny_gguf_is_small_and_complete(tiny_gguf: Path) -> None:
    assert tiny_gguf.read_bytes()[:4] == b"GGUF"
    assert tiny_gguf.stat().st_size < 2_000_000
    import gguf  # a required dependency: missing is a failure, not a skip

    reader = gguf.GGUFReader(str(tiny_gguf))
    tokens = reader.fields["tokenizer.ggml.tokens"]
    names = {bytes(tokens.parts[i]).decode() for i in tokens.data}
    assert {"<s>", "</s>", "<|im_start|>", "<|im_end|>", "<0x00>", "<0xFF>"} <= names
    assert "tokenizer.chat_template" in reader.fields
