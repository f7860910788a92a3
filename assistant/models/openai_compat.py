"""OpenAI-compatible HTTP servers: llama.cpp's server, llama-cpp-python's, vLLM, Ollama.

``/v1/completions`` for raw prompts, ``/v1/chat/completions`` for messages, always streamed
(SSE) so text shows as it comes and cancellation can drop the connection between events.
Connection failures, 429 and 502/503/504 are retried a bounded number of times with
exponential backoff, but only before any text arrived (a retry after that would repeat text
the caller has already shown). Log-probs are asked for only when the request wants them (a
ranker or a report reads them); a server that fails on them is asked again without.

A stream that ends without a finish reason, or breaks after text arrived, is not a
completion: llama-cpp-python's server, for one, cuts a running request when another arrives
and still ends the stream with ``[DONE]``. Such a request is sent once more (what was already
shown is not shown twice) and, cut again, raises ``ServerError`` naming the likely cause and
the fix; it is never returned as the model's answer.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from assistant.models.base import (
    Cancelled,
    Completion,
    ModelError,
    OnText,
    Request,
    SamplingMixin,
    ServerError,
)
from assistant.models.openai_stream import Cut, Shown, StreamReader

RETRY_STATUS = {429, 502, 503, 504}
# Settings of local backends that arrive with every spec; meaningless for a remote server.
_LOCAL_OPTIONS = {"n_ctx", "n_gpu_layers", "n_threads", "threads", "n_batch", "seed", "verbose"}


def import_httpx() -> Any:
    """httpx, or its API-compatible successor httpx2 (what huggingface-hub now depends on)."""
    for name in ("httpx", "httpx2"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ModelError("the openai backend needs httpx: pip install httpx")


class _Failed(Exception):
    """A request failed before any text arrived (so it may be retried)."""

    def __init__(
        self, message: str, retry: bool, status: int = 0, delay: float | None = None
    ) -> None:
        super().__init__(message)
        self.retry = retry
        self.status = status
        self.delay = delay


class OpenAIModel(SamplingMixin):
    # Thread-safe (httpx pools connections): ``eval --concurrency N`` sends N requests at once.
    concurrent_requests = True

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        chat: bool | None = None,
        timeout: float = 120.0,
        connect_timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.5,
        native_n: bool = True,
        name: str | None = None,
        **options: Any,
    ) -> None:
        unknown = set(options) - _LOCAL_OPTIONS
        if unknown:
            raise ModelError(
                f"unknown option(s) for the openai backend: {', '.join(sorted(unknown))}"
            )
        url = base_url.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ModelError(f"bad server URL {base_url!r}: expected e.g. http://127.0.0.1:8080/v1")
        if not parts.path:  # servers serve the API under /v1; a bare host:port means that
            url += "/v1"
        self.base_url = url
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.chat = chat
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.native_n = native_n
        self.name = name or f"openai:{url}" + (f"#{model}" if model else "")
        self._logprobs_ok = True
        self.cut_streams = 0  # streams the server ended before a finish reason (retried once)
        self._model_checked = model is not None
        self._client: Any = None
        self._lock = threading.Lock()

    # -- plumbing -----------------------------------------------------------------------

    def _http(self) -> Any:
        with self._lock:
            if self._client is None:
                httpx = import_httpx()
                headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
                self._client = httpx.Client(
                    timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
                    headers=headers,
                )
            return self._client

    def _resolve_model(self) -> None:
        """Servers that need a model name (vLLM, Ollama) list theirs; take the first."""
        if self._model_checked:
            return
        try:
            r = self._http().get(f"{self.base_url}/models", timeout=self.connect_timeout + 5)
            self._model_checked = True  # asked and answered: do not ask again
            data = r.json().get("data") or []
            if r.status_code == 200 and data:
                self.model = str(data[0]["id"])
        except Exception:  # optional: llama.cpp servers accept requests without a name
            pass

    def _explain(self, status: int, body: str) -> str:
        try:
            err = json.loads(body).get("error", body)
            detail = err.get("message", err) if isinstance(err, dict) else err
        except (ValueError, AttributeError):
            detail = body
        detail = str(detail).strip()[:300]
        where = self.base_url
        if status in (401, 403):
            return f"{where} refused the request (HTTP {status}): set OPENAI_API_KEY or api_key"
        if status == 404:
            return (
                f"{where} answered 404 ({detail}): check the base URL (usually ending in /v1) "
                f"and the model name {self.model!r}"
            )
        return f"{where} answered HTTP {status}: {detail}"

    def _open(self, path: str, payload: dict[str, Any]) -> Any:
        """Send one streaming request; the response is open and has status 200."""
        httpx = import_httpx()
        url = f"{self.base_url}{path}"
        client = self._http()
        try:
            req = client.build_request("POST", url, json=payload)
            resp = client.send(req, stream=True)
        except httpx.ConnectError as exc:
            raise _Failed(
                f"cannot connect to {self.base_url} ({exc}): is the server running at "
                f"{self.base_url}?",
                retry=True,
            ) from None
        except httpx.TimeoutException:
            raise _Failed(
                f"no answer from {self.base_url} within {self.timeout:g}s: the server may be "
                "busy or the model slow (raise the timeout option)",
                retry=False,
            ) from None
        except httpx.HTTPError as exc:
            raise _Failed(f"request to {url} failed: {exc}", retry=True) from None
        if resp.status_code != 200:
            body = resp.read().decode("utf-8", "replace")
            resp.close()
            retry_after = resp.headers.get("retry-after", "")
            delay = float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None
            raise _Failed(
                self._explain(resp.status_code, body),
                retry=resp.status_code in RETRY_STATUS,
                status=resp.status_code,
                delay=delay,
            )
        return resp

    def _events(self, resp: Any, cancel: threading.Event | None) -> Iterator[dict[str, Any]]:
        for line in resp.iter_lines():
            if cancel is not None and cancel.is_set():
                raise Cancelled("generation cancelled")
            if not line.startswith("data:"):
                continue  # blank separators, ": ping" comments, "event:" lines
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except ValueError:
                continue
            if isinstance(event, dict) and "error" in event:
                raise ModelError(f"{self.base_url} reported an error: {event['error']}")
            yield event

    # -- generation ---------------------------------------------------------------------

    def _payload(self, request: Request, n: int, logprobs: bool) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.model:
            body["model"] = self.model
        # No "stop": the stop sequences are applied here (``openai_stream``), where the one
        # that matched is known; a server drops it without saying which (MTPB's exact
        # truncation puts it back), and the stream is closed as soon as one matches.
        if request.seed is not None:
            body["seed"] = request.seed
        if request.grammar:
            body["grammar"] = request.grammar  # llama.cpp servers
        if n > 1:
            body["n"] = n
        use_chat = bool(request.messages) and self.chat is not False
        if use_chat:
            body["messages"] = request.messages
            if logprobs:
                body["logprobs"], body["top_logprobs"] = True, 1
            return "/chat/completions", body
        body["prompt"] = request.prompt
        if logprobs:
            body["logprobs"] = 1
        return "/completions", body

    def _run(
        self,
        request: Request,
        n: int,
        on_text: Callable[[int, str], None] | None,
        cancel: threading.Event | None,
    ) -> list[Completion]:
        """One streamed request for up to ``n`` choices (fewer if the server ignores n)."""
        self._resolve_model()
        logprobs = request.logprobs and self._logprobs_ok
        attempt = 0
        cuts = 0
        shown = Shown(on_text)
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled("generation cancelled")
            path, payload = self._payload(request, n, logprobs)
            t0 = time.perf_counter()
            try:
                resp = self._open(path, payload)
            except _Failed as exc:
                if logprobs and exc.status in (400, 422, 500):
                    logprobs = self._logprobs_ok = False  # the server may not do log-probs
                    continue
                if not exc.retry or attempt >= self.retries:
                    tries = f" (after {attempt + 1} attempts)" if attempt else ""
                    raise ModelError(f"{exc}{tries}") from None
                delay = exc.delay if exc.delay is not None else self.backoff * 2**attempt
                attempt += 1
                if cancel is not None and cancel.wait(min(delay, 30.0)):
                    raise Cancelled("generation cancelled") from None
                if cancel is None:
                    time.sleep(min(delay, 30.0))
                continue
            try:
                out = self._read(resp, n, request.stop, shown, cancel, t0)
            except Cut as cut:
                cuts += 1
                self.cut_streams += 1
                if cuts > 1:
                    raise ServerError(self._explain_cut(str(cut))) from None
                shown.again()
                continue
            finally:
                resp.close()
            if out is None and logprobs:  # stream died before any event: retry without
                logprobs = self._logprobs_ok = False
                continue
            if out is None:
                raise ModelError(f"{self.base_url} closed the stream without sending anything")
            return out

    def _read(
        self,
        resp: Any,
        n: int,
        stop: list[str],
        on_text: Callable[[int, str], None] | None,
        cancel: threading.Event | None,
        t0: float,
    ) -> list[Completion] | None:
        """The completions of one stream; None if it ended before any event. Raises ``Cut``
        when it ended or broke before every choice had finished."""
        httpx = import_httpx()
        stream = StreamReader(n, stop, on_text, t0)
        try:
            for event in self._events(resp, cancel):
                if stream.add(event):
                    break  # stop sequences ended every choice: no need to wait
        except httpx.TimeoutException:
            raise ModelError(
                f"{self.base_url} sent nothing for {self.timeout:g}s: the server may be busy or "
                "the model slow (raise the timeout option)"
            ) from None
        except httpx.HTTPError as exc:
            if not stream.got_any:
                return None
            raise Cut(f"the stream broke ({exc})") from None
        return stream.completions() if stream.got_any else None

    def _explain_cut(self, what: str) -> str:
        return (
            f"{self.base_url} cut the completion twice ({what}): what arrived is not the "
            "model's answer, so it is not used. The likely cause: the server stops a running "
            "request when another arrives (llama-cpp-python's server does by default). Send "
            "one request at a time (eval --concurrency 1), or let the server queue or serve "
            "them in parallel (python -m llama_cpp.server --interrupt_requests False; "
            "llama.cpp's llama-server -np N)"
        )

    def generate(
        self,
        request: Request,
        on_text: OnText | None = None,
        cancel: threading.Event | None = None,
    ) -> Completion:
        cb = (lambda _i, t: on_text(t)) if on_text is not None else None
        return self._run(request, 1, cb, cancel)[0]

    def sample(
        self,
        request: Request,
        n: int,
        on_text: Callable[[int, str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Completion]:
        """All ``n`` in one request when the server honours ``n``; the rest by seed."""
        if n <= 1 or not self.native_n:
            return super().sample(request, n, on_text, cancel)
        got = self._run(request, n, on_text, cancel)[:n]
        if len(got) == n:
            return got
        # The server ignored n (llama.cpp servers do): fetch the others one by one.
        base = request.seed if request.seed is not None else 0
        for i in range(len(got), n):
            req = Request(
                **{**request.__dict__, "seed": base + i, "meta": {**request.meta, "candidate": i}}
            )
            cb = (lambda t, i=i: on_text(i, t)) if on_text is not None else None
            got.append(self.generate(req, cb, cancel))
        return got

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "openai",
            "model": self.model or "(server default)",
            "url": self.base_url,
            "device": "remote",
            "gpu_layers": None,
            "chat": self.chat,
        }

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
