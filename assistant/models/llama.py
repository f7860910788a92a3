"""Local GGUF models through llama-cpp-python.

Generation drives ``Llama.generate`` token by token instead of ``create_completion``: that path
detokenizes the whole completion again for every token (slow, and very slow on partial UTF-8)
and has no way to stop between tokens. Here text is decoded incrementally, stop sequences are
held back until certain (StopFilter), cancellation is checked between tokens and between
prompt batches, and log-probs come from a logits processor (``logits_all`` would allocate
n_ctx x n_vocab floats).

Prompts are passed as token lists built from a token-level history (llama_prompt.py), so an
append-only multi-turn prompt evaluates only its new tokens.
"""

from __future__ import annotations

import codecs
import inspect
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.models.base import (
    Cancelled,
    Completion,
    GenStats,
    ModelError,
    OnText,
    Request,
    SamplingMixin,
)
from assistant.models.buildcheck import check_build
from assistant.models.llama_batch import Ask, decode_asks, sample_batched, widen_context
from assistant.models.llama_logprobs import LastLogits, LogprobRecorder
from assistant.models.llama_prompt import LlamaPrompt
from assistant.models.llama_setup import (
    GPU_HINT,
    LoadLog,
    check_gguf,
    cpu_features,
    gpu_backend,
    import_llama_cpp,
)
from assistant.models.stop_filter import StopFilter

log = logging.getLogger(__name__)


class LlamaModel(SamplingMixin):
    """A GGUF model in this process. Blocking calls; one generation at a time (locked).

    ``parallel``: how many candidates of one prompt decode together in one batch (``sample``,
    assistant/models/llama_batch.py); 1 decodes them one after another.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        n_ctx: int | None = 4096,
        n_gpu_layers: int | None = None,
        n_threads: int | None = None,
        threads: int | None = None,
        seed: int | None = None,
        chat: bool | None = None,
        n_batch: int | None = 512,
        top_k: int = 40,
        min_p: float = 0.05,
        repeat_penalty: float = 1.0,
        logits_processor: list[Any] | None = None,
        name: str | None = None,
        verbose: bool = False,
        parallel: int = 8,
        **llama_kwargs: Any,
    ) -> None:
        self.path = check_gguf(path)
        llama_cpp = self._lc = import_llama_cpp()
        # A build whose CPU kernels fault here would kill the app on the first prompt: a child
        # process finds out first (once per build and CPU) and this raises an error instead.
        self.build_check = check_build()
        self.gpu_build = gpu_backend(llama_cpp)
        self.warning: str | None = None
        if n_gpu_layers is None:
            n_gpu_layers = -1 if self.gpu_build else 0
        elif n_gpu_layers != 0 and not self.gpu_build:
            self.warning = (
                f"GPU offload asked for (n_gpu_layers={n_gpu_layers}) but this "
                f"llama-cpp-python build is CPU-only, so the model runs on the CPU; rebuild it "
                f"with GPU support: {GPU_HINT}"
            )
            log.warning(self.warning)
        self.n_gpu_layers = n_gpu_layers
        self.seed = seed
        self.sampling: dict[str, Any] = {
            "top_k": top_k,
            "min_p": min_p,
            "repeat_penalty": repeat_penalty,
        }
        self.extra_processors = list(logits_processor or [])
        kwargs = {k: v for k, v in llama_kwargs.items() if v is not None}
        # Llama() swallows unknown keyword arguments: catch typos here instead.
        allowed = set(inspect.signature(llama_cpp.Llama).parameters) - {"kwargs", "logits_all"}
        unknown = set(kwargs) - allowed
        if unknown:
            raise ModelError(
                f"unknown option(s) for the llama backend: {', '.join(sorted(unknown))}"
            )
        n_threads = n_threads if n_threads is not None else threads
        if n_threads is not None:
            # One thread count for prompt batches too: llama-cpp-python would otherwise use
            # every core there, and on a busy machine its threads spin-wait on each other
            # (prompts took 100x longer in tests next to other work).
            kwargs.setdefault("n_threads_batch", n_threads)
        for key, value in (("n_threads", n_threads), ("n_ctx", n_ctx), ("n_batch", n_batch)):
            if value is not None:
                kwargs[key] = value
        with LoadLog(llama_cpp, echo=verbose) as load_log:
            try:
                self._llm = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_gpu_layers=n_gpu_layers,
                    seed=llama_cpp.LLAMA_DEFAULT_SEED if seed is None else seed,
                    logits_all=False,
                    verbose=verbose,
                    **kwargs,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                detail = "; ".join(line for line in load_log.lines if line) or str(exc)
                raise ModelError(
                    f"llama.cpp could not load {self.path}: {detail}. The file may be truncated "
                    "or corrupt (download it again) or use a format newer than this "
                    f"llama-cpp-python {llama_cpp.__version__} knows (upgrade it: "
                    "pip install -U llama-cpp-python)"
                ) from None
        llm = self._llm
        recurrent = bool(getattr(llm, "_is_recurrent", False) or getattr(llm, "_is_hybrid", False))
        # Recurrent caches cannot share a prompt between sequences: one after another there.
        self.parallel = 1 if recurrent else max(1, parallel)
        # The context gets room for ``parallel`` sequences at the first batched request, not at
        # load: most sessions never ask for more than one sequence, and a wide context may decode
        # one slower (bench_batched once measured SmolLM2 at 99 vs 127 tokens/s; equal in another).
        self._wide = False
        self._verbose = verbose
        self.n_layer = int(llama_cpp.llama_model_n_layer(llm.model))
        meta = llm.metadata
        self.name = name or meta.get("general.name") or self.path.stem
        self.template = meta.get("tokenizer.chat_template")
        if chat and not self.template:
            self.close()
            raise ModelError(
                f"{self.path.name} has no chat template (tokenizer.chat_template), so chat mode "
                "cannot format messages; run without --chat (raw completion)"
            )
        if chat is None:  # the GGUF says: a chat template means an instruct/chat model
            chat = bool(self.template)
        self.chat = chat
        self.prompt = LlamaPrompt(llama_cpp, llm, chat=chat, template=self.template)
        self.last_logits = LastLogits(llama_cpp, llm)
        self._lock = threading.Lock()

    @classmethod
    def from_hub(
        cls,
        spec: str,
        *,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        endpoint: str | None = None,
        token: str | None = None,
        **options: Any,
    ) -> LlamaModel:
        """``OWNER/REPO/FILE.gguf`` from the Hugging Face hub (cached after the first time)."""
        from assistant.models.hub import download_gguf

        path = download_gguf(
            spec, revision=revision, cache_dir=cache_dir, endpoint=endpoint, token=token
        )
        return cls(path, **options)

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (benchmarks and tests)."""
        return self._llm

    def describe(self) -> dict[str, Any]:
        ngl = self.n_gpu_layers
        total = self.n_layer + 1  # llama.cpp counts the output layer too
        offloaded = 0 if not self.gpu_build else (total if ngl < 0 else min(ngl, total))
        info: dict[str, Any] = {
            "backend": "llama",
            "model": str(self.path),
            "name": self.name,
            "device": self.gpu_build if offloaded else "CPU",
            "build": self.gpu_build or "CPU",
            "gpu_layers": offloaded,
            "layers": total,
            "n_ctx": self._llm.n_ctx(),
            "threads": self._llm.context_params.n_threads,
            "chat": self.chat,
            "llama_cpp_version": self._lc.__version__,
            "cpu_features": cpu_features(self._lc),
        }
        if self.warning:
            info["warning"] = self.warning
        return info

    def close(self) -> None:
        """Free the model (waits for a generation in progress: cancel it first)."""
        lock = getattr(self, "_lock", None) or threading.Lock()
        with lock:
            llm, self._llm = getattr(self, "_llm", None), None
        if llm is not None:
            llm.close()

    def reset_cache(self) -> None:
        """Forget the KV cache and token history: the next prompt is evaluated in full."""
        with self._lock:
            if self._llm is not None:
                self._llm.reset()
            self.prompt.history.clear()

    # -- generation ---------------------------------------------------------------------

    def _widen(self) -> bool:
        """Room for ``parallel`` sequences (once; the cache starts empty again); False where
        llama.cpp cannot make it: then requests go one after another."""
        if self._wide or self.parallel <= 1:
            return self.parallel > 1
        try:
            with LoadLog(self._lc, echo=self._verbose):
                widen_context(self._llm, self.parallel)
        except ModelError as exc:
            log.warning("%s; candidates are decoded one after another", exc)
            self.parallel = 1
            return False
        self._llm.n_tokens = 0
        self.last_logits = LastLogits(self._lc, self._llm)  # it holds the context's pointer
        self._wide = True
        return True

    def sample(
        self,
        request: Request,
        n: int,
        on_text: Callable[[int, str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Completion]:
        """``n`` candidates decoded together in one batch where they fit (else in turn)."""
        if n > 1 and self.parallel > 1:
            with self._lock:
                if self._llm is None:
                    raise ModelError("the model was closed")
                out = sample_batched(self, request, n, on_text, cancel) if self._widen() else None
            if out is not None:
                return out
        return super().sample(request, n, on_text, cancel)

    def generate_many(self, asks: list[Ask]) -> list[Completion | Cancelled]:
        """One completion per ask (its own request, seed, stream and cancel switch), decoded
        together where they fit, their common prompt prefix evaluated once; else in turn."""
        with self._lock:
            if self._llm is None:
                raise ModelError("the model was closed")
            if len(asks) > 1 and self.parallel > 1 and self._widen():
                out = decode_asks(self, asks)
                if out is not None:
                    return out
            done: list[Completion | Cancelled] = []
            for a in asks:
                req = replace(a.request, seed=a.seed)
                try:
                    done.append(self._generate(req, a.on_text, a.cancel))
                except Cancelled as exc:
                    done.append(exc)
            return done

    def generate(
        self,
        request: Request,
        on_text: OnText | None = None,
        cancel: threading.Event | None = None,
    ) -> Completion:
        with self._lock:
            if self._llm is None:
                raise ModelError("the model was closed")
            return self._generate(request, on_text, cancel)

    def _generate(
        self, request: Request, on_text: OnText | None, cancel: threading.Event | None
    ) -> Completion:
        t0 = time.perf_counter()
        if cancel is not None and cancel.is_set():
            raise Cancelled("generation cancelled")
        llm, lc = self._llm, self._lc
        text, special = self.prompt.text(request)
        tokens = self.prompt.tokens(text, special)
        n_prompt, n_ctx = len(tokens), llm.n_ctx()
        if not tokens:
            raise ModelError("empty prompt")
        if n_prompt >= n_ctx:
            raise ModelError(
                f"the prompt is {n_prompt} tokens but the context holds {n_ctx}: raise n_ctx "
                "(--n-ctx) or start a new session"
            )
        room = n_ctx - n_prompt
        max_tokens = min(request.max_tokens, room) if request.max_tokens > 0 else room
        reused = self.prompt.prefill(tokens, cancel)

        # With extra logits processors (they may ban tokens) the log-probs must see their
        # output, so a recording processor goes last; otherwise the cheap read after sampling.
        recorder = LogprobRecorder() if request.logprobs and self.extra_processors else None
        reader = self.last_logits if request.logprobs and recorder is None else None
        processors = self.extra_processors + ([recorder] if recorder else [])
        seed = request.seed if request.seed is not None else self.seed
        llm.set_seed(lc.LLAMA_DEFAULT_SEED if seed is None else seed & 0xFFFFFFFF)
        stops = StopFilter(request.stop, on_text, context=request.prime)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        is_eog = getattr(lc, "llama_vocab_is_eog", None) or lc.llama_token_is_eog
        vocab, piece = self.prompt.vocab, self.prompt.piece
        generated: list[int] = []
        logprobs: list[float] = []
        first = 0.0
        finish = "length"
        gen = llm.generate(
            tokens,
            temp=request.temperature,
            top_p=request.top_p,
            logits_processor=processors or None,
            grammar=self.prompt.grammar(request.grammar) if request.grammar else None,
            **self.sampling,
        )
        try:
            for tok in gen:
                if not first:
                    first = time.perf_counter() - t0
                if is_eog(vocab, tok):
                    finish = "stop"
                    break
                generated.append(tok)
                if reader is not None:
                    logprobs.append(reader(tok))
                elif recorder is not None:
                    logprobs.append(float(recorder.last[tok]))
                if stops.feed(decoder.decode(piece(tok, False))):
                    finish = "stop"
                    break
                if len(generated) >= max_tokens:
                    break
                if cancel is not None and cancel.is_set():
                    raise Cancelled("generation cancelled")
        finally:
            gen.close()
            self.prompt.history.extend(generated, [piece(t, special) for t in generated])
        if not stops.stopped:
            stops.feed(decoder.decode(b"", final=True))
        out = stops.finish()
        stats = GenStats(
            prompt_tokens=n_prompt,
            prompt_evaluated=n_prompt - reused,
            prompt_reused=reused,
            completion_tokens=len(generated),
            time_to_first_token=first,
            total_time=time.perf_counter() - t0,
        )
        return Completion(
            text=out, token_logprobs=logprobs, finish_reason=finish, stats=stats, stop=stops.matched
        )
