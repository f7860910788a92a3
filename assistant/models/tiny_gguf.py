"""A tiny random-weight llama GGUF, written at test time, so the real llama.cpp path is testable.

The model is nonsense (random weights) but a complete, loadable llama: SentencePiece-style vocab
with the 256 byte-fallback tokens (any UTF-8 tokenizes), ``<s>``/``</s>``, ChatML tokens and a
ChatML chat template. 64-dim, 2 layers: under a megabyte, loads in milliseconds.

Random weights emit random bytes; for deterministic tests force the output with a grammar
(``exact_grammar``) or ban the byte tokens (``ban_tokens(byte_token_ids())``).

``gguf`` and ``numpy`` are dev dependencies, imported only when a file is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

UNK, BOS, EOS = 0, 1, 2
BYTE_BASE = 3  # ids 3..258 are <0x00>..<0xFF>
IM_START, IM_END = 259, 260

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Code-ish words, so typical prompts tokenize into a few pieces rather than one per character.
_WORDS = """
def return print import from for in range if else elif while len self class True False
None and or not numpy np as lambda list dict str int float sum append sorted max min
result value values data item items key keys index count total numbers string text the
a to of is with Write function that Import libraries Print
"""
_SYMBOLS = ["==", "!=", "<=", ">=", "+=", "-=", "->", "()", "):", "[]", "]]", "))", "**", "//"]
_SPACE = "\u2581"  # SentencePiece's visible space


def _vocab() -> tuple[list[str], list[float], list[int]]:
    from gguf import TokenType

    tokens = ["<unk>", "<s>", "</s>"]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [TokenType.BYTE] * 256
    tokens += ["<|im_start|>", "<|im_end|>"]
    types += [TokenType.CONTROL, TokenType.CONTROL]

    pieces: list[str] = []
    seen: set[str] = set(tokens)

    def add(piece: str) -> None:
        if piece not in seen:
            seen.add(piece)
            pieces.append(piece)

    for code in range(33, 127):
        add(chr(code))
    for run in (1, 2, 3, 4, 8):
        add(_SPACE * run)
    # Newlines as text pieces (not only byte tokens), so code survives a ban on byte tokens.
    add("\n")
    add("\n\n")
    # SentencePiece merges adjacent symbols whose concatenation is in the vocab, so every
    # prefix of a word must be a token for the whole word to be reachable.
    for word in _WORDS.split() + _SYMBOLS:
        for form in (word, _SPACE + word):
            for end in range(2, len(form) + 1):
                add(form[:end])
    tokens += pieces
    types += [TokenType.NORMAL] * len(pieces)
    # Longer pieces score higher so merges prefer whole words.
    scores = [0.0] * (len(tokens) - len(pieces)) + [-100.0 + len(p) for p in pieces]
    return tokens, scores, [int(t) for t in types]


def write_tiny_gguf(
    path: str | Path,
    *,
    n_embd: int = 64,
    n_layer: int = 2,
    seed: int = 0,
    quant: str | None = None,
    chat_template: bool = True,
) -> Path:
    """Write a random-weight llama GGUF to ``path`` and return the path.

    ``quant`` ("Q8_0" or "Q4_0") stores the weight matrices quantized, so llama.cpp runs its
    quantized CPU kernels (the ones that fault on CPUs with broken AMX state, see buildcheck);
    f32 weights never reach them.
    """
    import gguf
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tokens, scores, types = _vocab()
    n_vocab, n_head, n_ff = len(tokens), 4, 2 * n_embd

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny-random-llama")
    w.add_context_length(4096)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)
    qtype = getattr(gguf.GGMLQuantizationType, quant) if quant else None
    ftype = {None: "ALL_F32", "Q8_0": "MOSTLY_Q8_0", "Q4_0": "MOSTLY_Q4_0"}[quant]
    w.add_file_type(getattr(gguf.LlamaFileType, ftype))
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(BOS)
    w.add_eos_token_id(EOS)
    w.add_unk_token_id(UNK)
    w.add_eot_token_id(IM_END)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    # Modern tokenizers add no leading space; this keeps token-level prompt splicing exact.
    w.add_add_space_prefix(False)
    if chat_template:  # without one the model is a base (completion) model
        w.add_chat_template(CHATML_TEMPLATE)

    def t(name: str, *shape: int, scale: float = 0.2) -> None:
        data = (rng.standard_normal(shape) * scale).astype(np.float32)
        if qtype is None:
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

    def ones(name: str) -> None:
        w.add_tensor(name, np.ones(n_embd, dtype=np.float32))

    # numpy shapes are ggml's reversed: (rows=out, cols=in)
    t("token_embd.weight", n_vocab, n_embd, scale=1.0)
    for i in range(n_layer):
        ones(f"blk.{i}.attn_norm.weight")
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            t(f"blk.{i}.{name}.weight", n_embd, n_embd)
        ones(f"blk.{i}.ffn_norm.weight")
        t(f"blk.{i}.ffn_gate.weight", n_ff, n_embd)
        t(f"blk.{i}.ffn_up.weight", n_ff, n_embd)
        t(f"blk.{i}.ffn_down.weight", n_embd, n_ff)
    ones("output_norm.weight")
    t("output.weight", n_vocab, n_embd, scale=0.3)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def byte_token_ids() -> list[int]:
    """Ids of the 256 byte-fallback tokens of the tiny model."""
    return list(range(BYTE_BASE, BYTE_BASE + 256))


def ban_tokens(ids: Iterable[int]) -> Callable[[Any, Any], Any]:
    """A llama-cpp-python logits processor that makes ``ids`` impossible to sample.

    Random weights otherwise emit stray bytes (partial UTF-8), which is slow to stream through
    llama-cpp-python's own completion path and makes text assertions flaky.
    """
    banned = sorted(set(ids))

    def process(input_ids: Any, scores: Any) -> Any:
        scores[banned] = -float("inf")
        return scores

    return process


def exact_grammar(text: str) -> str:
    """A GBNF grammar whose only sentence is ``text``: forces exact output from any model."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(f"\\U{ord(ch):08X}")
    return f'root ::= "{"".join(out)}"'
