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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from assistant.models.base import Cancelled, Completion, GenStats, ModelError, Request
from assistant.models.llama_logprobs import LastLogits, LogprobRecorder
from assistant.models.stop_filter import StopFilter

if TYPE_CHECKING:
    from assistant.models.llama_prompt import LlamaPrompt


class BatchModel(Protocol):
    """What the batched decoder uses of the loaded model (``LlamaModel`` is one)."""

    parallel: int  # sequences per batch
    sampling: dict[str, Any]  # top_k, min_p, repeat_penalty: the sampler chain's settings
    extra_processors: list[Any]  # logits processors that run before sampling
    prompt: LlamaPrompt  # the llama.cpp objects, prompt tokens, the cached prefix
    last_logits: LastLogits  # log-probs read after sampling (no extra processors)


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
class Ask:
    """One sequence of a batch: a request with its own seed, stream and cancel switch.

    Requests of one batch may differ (the samples of ``eval -n N`` after their programs
    diverge): their common token prefix is evaluated once and shared, each sequence then
    evaluates its own rest.
    """

    request: Request
    seed: int
    on_text: Callable[[str], None] | None = None
    cancel: threading.Event | None = None


@dataclass
class _Seq:
    """One sequence being decoded: sequence ``seq`` of the batch."""

    seq: int
    ask: Ask
    sampler: Any
    stops: StopFilter
    max_tokens: int
    pos: int  # position of its next token
    recorder: Any = None
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace"))
    generated: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    row: int = 0  # its row of logits in the last decode
    first: float = 0.0
    total: float = 0.0
    finish: str = "length"
    cancelled: bool = False


def sample_batched(
    model: BatchModel,
    request: Request,
    n: int,
    on_text: Callable[[int, str], None] | None,
    cancel: threading.Event | None,
) -> list[Completion] | None:
    """``n`` completions decoded together, or None when they do not fit in the context.

    Called with the model's lock held. Groups of at most ``model.parallel`` sequences.
    """
    base = request.seed if request.seed is not None else 0
    asks = [Ask(request, base + i, indexed(on_text, i), cancel) for i in range(n)]
    out = decode_asks(model, asks)
    if out is None:
        return None
    if any(isinstance(c, Cancelled) for c in out):
        raise Cancelled("generation cancelled")
    return [c for c in out if isinstance(c, Completion)]


def indexed(on_text: Callable[[int, str], None] | None, i: int) -> Callable[[str], None] | None:
    if on_text is None:
        return None
    return lambda text: on_text(i, text)


def decode_asks(model: BatchModel, asks: list[Ask]) -> list[Completion | Cancelled] | None:
    """Every ask's completion (or ``Cancelled`` where its switch was set), decoded in batches of
    at most ``model.parallel`` sequences; None when they would not fit in the context (the
    caller then generates them one after another). Called with the model's lock held.
    """
    llm = model.prompt.llm
    n_ctx = llm.n_ctx()
    prompts: list[list[int]] = [[] for _ in asks]
    for i in reversed(range(len(asks))):  # the first last: the tokenizer's history is its prompt
        text, special = model.prompt.text(asks[i].request)
        prompts[i] = model.prompt.tokens(text, special)
        if not prompts[i]:
            raise ModelError("empty prompt")
    k = min(len(asks), model.parallel)
    # The prompt that shares most with the cache leads (sequence 0 keeps it afterwards): the
    # same sample leads round after round, and only the others' rests are evaluated again.
    order = sorted(range(len(asks)), key=lambda i: -_cached(llm, prompts[i]))
    groups = [order[i : i + k] for i in range(0, len(asks), k)]
    plans = []
    for g in groups:
        shared = _shared_prefix([prompts[i] for i in g])
        cells = shared + sum(len(prompts[i]) - shared for i in g)
        room = n_ctx - cells
        budgets = [asks[i].request.max_tokens for i in g]
        budgets = [b if b > 0 else room // len(g) for b in budgets]  # 0: as long as fits
        if cells >= n_ctx or sum(budgets) > room:
            return None  # one after another: each then has the whole room
        plans.append((g, shared, budgets))
    out: list[Completion | Cancelled] = [Cancelled("generation cancelled")] * len(asks)
    for g, shared, budgets in plans:
        got = _decode_group(model, [asks[i] for i in g], [prompts[i] for i in g], shared, budgets)
        for i, c in zip(g, got, strict=True):
            out[i] = c
    return out


def _cached(llm: Any, tokens: list[int]) -> int:
    """How many of ``tokens`` the context's cache already holds (a prefix)."""
    import numpy as np

    m = min(llm.n_tokens, len(tokens))
    diff = np.flatnonzero(llm.input_ids[:m] != np.asarray(tokens[:m], dtype=np.intc))
    return int(diff[0]) if len(diff) else m


def _shared_prefix(prompts: list[list[int]]) -> int:
    """Tokens all prompts start with, leaving each at least its last token of its own."""
    first = prompts[0]
    n = min(len(p) for p in prompts) - 1
    for p in prompts[1:]:
        i = 0
        while i < n and p[i] == first[i]:
            i += 1
        n = i
    return max(n, 0)


def _decode_group(
    model: BatchModel, asks: list[Ask], prompts: list[list[int]], shared: int, budgets: list[int]
) -> list[Completion | Cancelled]:
    t0 = time.perf_counter()
    llm, lc = model.prompt.llm, model.prompt.lc
    if all(a.cancel is not None and a.cancel.is_set() for a in asks):
        raise Cancelled("generation cancelled")
    same = all(p == prompts[0] for p in prompts)
    lead = prompts[0]
    # Sequence 0 gets the shared prefix exactly as a single completion would (cache reuse).
    reused = model.prompt.prefill(lead, asks[0].cancel)
    k = len(asks)
    seqs = [
        _new_seq(model, j, a, p, budgets[j])
        for j, (a, p) in enumerate(zip(asks, prompts, strict=True))
    ]
    reader = (
        model.last_logits
        if any(a.request.logprobs for a in asks) and not model.extra_processors
        else None
    )
    is_eog = getattr(lc, "llama_vocab_is_eog", None) or lc.llama_token_is_eog
    ctx, mem, vocab = llm._ctx, llm._ctx.memory, model.prompt.vocab
    width = max(k, llm.n_batch)
    batch = lc.llama_batch_init(width, 0, k)
    evaluated = [0] * k  # prompt tokens each sequence evaluated here
    lead_done = len(lead) - 1  # of the lead prompt, in sequence 0
    try:
        lc.llama_memory_seq_rm(mem, -1, lead_done, -1)  # nothing stale past it
        for j in range(1, k):  # the shared prefix's cells (all of them when prompts are equal)
            lc.llama_memory_seq_cp(mem, 0, j, 0, lead_done if same else shared)
        if same:  # the prompt's last token, in every sequence at once (one row of logits)
            _decode(lc, ctx.ctx, batch, [(lead[-1], len(lead) - 1, list(range(k)))])
            evaluated[0] = len(lead) - reused
        else:
            # Each sequence's own rest: all but its last token without logits (in batches),
            # then the k last tokens together, one row of logits each.
            rest = [  # (sequence 0 has its own already: the lead was evaluated whole)
                (p[i], i, [j], False)
                for j, p in enumerate(prompts)
                if j > 0
                for i in range(shared, len(p) - 1)
            ]
            for start in range(0, len(rest), llm.n_batch):
                _decode(lc, ctx.ctx, batch, rest[start : start + llm.n_batch])
            _decode(lc, ctx.ctx, batch, [(p[-1], len(p) - 1, [j]) for j, p in enumerate(prompts)])
            for j, p in enumerate(prompts):
                seqs[j].row = j
                evaluated[j] = len(p) - shared
            evaluated[0] = len(lead) - reused
        lead_done = len(lead)
        active = list(seqs)
        while active:
            entries: list[tuple[int, int, list[int]] | tuple[int, int, list[int], bool]] = []
            still: list[_Seq] = []
            for s in active:
                if s.ask.cancel is not None and s.ask.cancel.is_set():
                    s.cancelled = True
                    continue
                tok = s.sampler.sample(ctx, s.row)
                now = time.perf_counter() - t0
                s.first = s.first or now
                if _step(s, tok, is_eog(vocab, tok), model, reader, s.max_tokens):
                    s.total = now
                    continue
                s.row = len(entries)
                entries.append((tok, s.pos, [s.seq]))
                s.pos += 1
                still.append(s)
            active = still
            if entries:
                _decode(lc, ctx.ctx, batch, entries)
    finally:
        lc.llama_batch_free(batch)
        for j in range(1, k):
            lc.llama_memory_seq_rm(mem, j, -1, -1)
        # Sequence 0 keeps exactly its prompt (as far as it was evaluated): the next, longer
        # prompt reuses it.
        lc.llama_memory_seq_rm(mem, 0, lead_done, -1)
        llm.input_ids[:lead_done] = lead[:lead_done]
        llm.n_tokens = lead_done
        for s in seqs:
            s.sampler.close()
    if all(s.cancelled for s in seqs):
        raise Cancelled("generation cancelled")
    done = time.perf_counter() - t0
    out: list[Completion | Cancelled] = []
    for j, s in enumerate(seqs):
        if s.cancelled:
            out.append(Cancelled("generation cancelled"))
            continue
        if not s.stops.stopped:
            s.stops.feed(s.decoder.decode(b"", final=True))
        n_prompt = len(prompts[j])
        stats = GenStats(
            prompt_tokens=n_prompt,
            prompt_evaluated=evaluated[j],
            prompt_reused=n_prompt - evaluated[j],
            completion_tokens=len(s.generated),
            time_to_first_token=s.first,
            total_time=s.total or done,
        )
        out.append(Completion(s.stops.finish(), s.logprobs, s.finish, stats, s.stops.matched))
    return out


def _new_seq(model: BatchModel, j: int, ask: Ask, prompt: list[int], budget: int) -> _Seq:
    llm, request = model.prompt.llm, ask.request
    recorder = LogprobRecorder() if request.logprobs and model.extra_processors else None
    processors = model.extra_processors + ([recorder] if recorder else [])
    grammar = model.prompt.grammar(request.grammar) if request.grammar else None
    llm.set_seed(ask.seed & 0xFFFFFFFF)
    sampler = llm._init_sampler(
        temp=request.temperature,
        top_p=request.top_p,
        logits_processor=processors or None,
        grammar=grammar,
        **model.sampling,
    )
    stops = StopFilter(request.stop, ask.on_text, request.prime)
    return _Seq(j, ask, sampler, stops, budget, len(prompt), recorder)


def _step(s: _Seq, tok: int, eog: bool, model: BatchModel, reader: Any, max_tokens: int) -> bool:
    """Take sequence ``s``'s sampled token; True when the sequence is finished."""
    if eog:
        s.finish = "stop"
        return True
    s.generated.append(tok)
    if reader is not None:
        s.logprobs.append(reader(tok, s.row))
    elif s.recorder is not None:
        s.logprobs.append(float(s.recorder.last[tok]))
    if s.stops.feed(s.decoder.decode(model.prompt.piece(tok, False))):
        s.finish = "stop"
        return True
    return len(s.generated) >= max_tokens


def _decode(lc: Any, ctx: Any, batch: Any, entries: list[Any]) -> None:
    """One llama_decode of ``entries`` (token, position, sequences[, wants logits])."""
    for j, entry in enumerate(entries):
        tok, pos, seq_ids = entry[0], entry[1], entry[2]
        batch.token[j] = tok
        batch.pos[j] = pos
        batch.n_seq_id[j] = len(seq_ids)
        for q, seq in enumerate(seq_ids):
            batch.seq_id[j][q] = seq
        batch.logits[j] = entry[3] if len(entry) > 3 else 1
    batch.n_tokens = len(entries)
    rc = lc.llama_decode(ctx, batch)
    if rc != 0:
        raise ModelError(f"llama.cpp failed to decode the candidates' batch (status {rc})")
