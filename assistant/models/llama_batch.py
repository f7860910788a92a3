"""The n candidates of one prompt decoded together: one llama.cpp batch, one sequence each.

Candidates share their whole prompt, so decoding them one after the other wastes most of the
work: the weights are read once per token per candidate. Here (as in llama.cpp's
``examples/batched``) the prompt is evaluated once into sequence 0, reusing the cached prefix
exactly as a single completion does; its cells are shared with sequences 1..k-1
(``llama_memory_seq_cp`` on a unified KV cache); then each step decodes one token of every
unfinished sequence in a single ``llama_decode``. Every sequence keeps its own sampler chain
(seed ``base + i``, the same chain a single completion uses, grammar included), stop filter,
UTF-8 decoder, streaming callback and log-probs; cancellation is checked between steps.

Afterwards sequence 0 holds exactly the prompt (the next, longer prompt reuses it) and the
other sequences are gone, whatever happened (an error, a cancel).

The context must have room for k sequences: ``widen_context`` gives it ``n_seq_max`` and a
unified cache at load. When the prompt plus k full-length answers would not fit, the caller
falls back to one candidate after another (each then has the whole room).
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.models.base import Cancelled, Completion, GenStats, ModelError, Request
from assistant.models.llama_logprobs import LogprobRecorder
from assistant.models.stop_filter import StopFilter

if TYPE_CHECKING:
    import threading

    from assistant.models.llama import LlamaModel


def widen_context(llm: Any, n_seq: int) -> None:
    """Recreate ``llm``'s context with room for ``n_seq`` sequences in one unified KV cache.

    A unified cache keeps n_ctx cells in all (not n_ctx / n_seq per sequence), so a single
    completion has the same room as before. Done once, right after loading.
    """
    from llama_cpp import _internals

    params = llm.context_params
    params.n_seq_max = n_seq
    params.kv_unified = True
    llm._ctx.close()  # free the first context's cache before allocating the new one
    try:
        llm._ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=llm.verbose)
    except ValueError:
        raise ModelError(
            f"llama.cpp could not make a context for {n_seq} parallel sequences; load the "
            "model with parallel=1 (candidates are then decoded one after another)"
        ) from None


@dataclass
class _Seq:
    """One candidate being decoded: sequence ``seq`` of the batch."""

    seq: int
    sampler: Any
    stops: StopFilter
    recorder: Any = None
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace"))
    generated: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    row: int = 0  # its row of logits in the last decode
    first: float = 0.0
    total: float = 0.0
    finish: str = "length"


def sample_batched(
    model: LlamaModel,
    request: Request,
    n: int,
    on_text: Callable[[int, str], None] | None,
    cancel: threading.Event | None,
) -> list[Completion] | None:
    """``n`` completions decoded together, or None when they do not fit in the context.

    Called with the model's lock held. Groups of at most ``model.parallel`` sequences.
    """
    llm = model._llm
    text, special = model._prompt_text(request)
    tokens = model._prompt_tokens(text, special)
    n_prompt, n_ctx = len(tokens), llm.n_ctx()
    if not tokens:
        raise ModelError("empty prompt")
    k = min(n, model.parallel)
    room = n_ctx - n_prompt
    max_tokens = request.max_tokens if request.max_tokens > 0 else room // k
    if n_prompt >= n_ctx or max_tokens * k > room:
        return None  # one after another: each candidate then has the whole room
    base = request.seed if request.seed is not None else 0
    out: list[Completion] = []
    for start in range(0, n, k):
        seeds = [base + i for i in range(start, min(start + k, n))]
        out += _decode_group(model, request, tokens, seeds, start, max_tokens, on_text, cancel)
    return out


def _decode_group(
    model: LlamaModel,
    request: Request,
    tokens: list[int],
    seeds: list[int],
    first_index: int,
    max_tokens: int,
    on_text: Callable[[int, str], None] | None,
    cancel: threading.Event | None,
) -> list[Completion]:
    t0 = time.perf_counter()
    llm, lc = model._llm, model._lc
    if cancel is not None and cancel.is_set():
        raise Cancelled("generation cancelled")
    reused = model._prefill(tokens, cancel)
    n_prompt, k = len(tokens), len(seeds)
    grammar = model._grammar(request.grammar) if request.grammar else None
    seqs: list[_Seq] = []
    for j, seed in enumerate(seeds):
        recorder = LogprobRecorder() if request.logprobs and model.extra_processors else None
        processors = model.extra_processors + ([recorder] if recorder else [])
        llm.set_seed(seed & 0xFFFFFFFF)
        sampler = llm._init_sampler(
            temp=request.temperature,
            top_p=request.top_p,
            logits_processor=processors or None,
            grammar=grammar,
            **model.sampling,
        )
        index = first_index + j
        emit = (lambda t, i=index: on_text(i, t)) if on_text is not None else None
        seqs.append(_Seq(j, sampler, StopFilter(request.stop, emit, request.prime), recorder))
    reader = model._last_logits if request.logprobs and not model.extra_processors else None
    is_eog = getattr(lc, "llama_vocab_is_eog", None) or lc.llama_token_is_eog
    ctx, mem, vocab = llm._ctx, llm._ctx.memory, model._vocab
    batch = lc.llama_batch_init(k, 0, k)
    decoded_last = False
    try:
        for j in range(1, k):
            lc.llama_memory_seq_cp(mem, 0, j, -1, -1)
        # Step 0: the prompt's last token, in every sequence at once (one row of logits).
        _decode(lc, ctx.ctx, batch, [(tokens[-1], n_prompt - 1, list(range(k)))])
        decoded_last = True
        active = list(seqs)
        while active:
            entries: list[tuple[int, int, list[int]]] = []
            still: list[_Seq] = []
            for s in active:
                tok = s.sampler.sample(ctx, s.row)
                now = time.perf_counter() - t0
                s.first = s.first or now
                if _step(s, tok, is_eog(vocab, tok), model, reader, max_tokens):
                    s.total = now
                    continue
                s.row = len(entries)
                entries.append((tok, n_prompt + len(s.generated) - 1, [s.seq]))
                still.append(s)
            if cancel is not None and cancel.is_set():
                raise Cancelled("generation cancelled")
            active = still
            if entries:
                _decode(lc, ctx.ctx, batch, entries)
    finally:
        lc.llama_batch_free(batch)
        for j in range(1, k):
            lc.llama_memory_seq_rm(mem, j, -1, -1)
        keep = n_prompt if decoded_last else n_prompt - 1
        lc.llama_memory_seq_rm(mem, 0, keep, -1)
        llm.input_ids[n_prompt - 1] = tokens[-1]
        llm.n_tokens = keep
        for s in seqs:
            s.sampler.close()
    done = time.perf_counter() - t0
    out = []
    for j, s in enumerate(seqs):
        if not s.stops.stopped:
            s.stops.feed(s.decoder.decode(b"", final=True))
        stats = GenStats(
            prompt_tokens=n_prompt,
            prompt_evaluated=n_prompt - reused if j == 0 and first_index == 0 else 0,
            prompt_reused=reused if j == 0 and first_index == 0 else n_prompt,
            completion_tokens=len(s.generated),
            time_to_first_token=s.first,
            total_time=s.total or done,
        )
        text = s.stops.finish()
        out.append(Completion(text, s.logprobs, s.finish, stats, s.stops.matched))
    return out


def _step(s: _Seq, tok: int, eog: bool, model: LlamaModel, reader: Any, max_tokens: int) -> bool:
    """Take sequence ``s``'s sampled token; True when the sequence is finished."""
    if eog:
        s.finish = "stop"
        return True
    s.generated.append(tok)
    if reader is not None:
        s.logprobs.append(reader(tok, s.row))
    elif s.recorder is not None:
        s.logprobs.append(float(s.recorder.last[tok]))
    if s.stops.feed(s.decoder.decode(model._piece(tok, False))):
        s.finish = "stop"
        return True
    return len(s.generated) >= max_tokens


def _decode(lc: Any, ctx: Any, batch: Any, entries: list[tuple[int, int, list[int]]]) -> None:
    """One llama_decode of ``entries`` (token, position, sequences), logits for each."""
    for j, (tok, pos, seq_ids) in enumerate(entries):
        batch.token[j] = tok
        batch.pos[j] = pos
        batch.n_seq_id[j] = len(seq_ids)
        for q, seq in enumerate(seq_ids):
            batch.seq_id[j][q] = seq
        batch.logits[j] = 1
    batch.n_tokens = len(entries)
    rc = lc.llama_decode(ctx, batch)
    if rc != 0:
        raise ModelError(f"llama.cpp failed to decode the candidates' batch (status {rc})")
