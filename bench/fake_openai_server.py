"""A loopback OpenAI-compatible server that serves requests concurrently (no model).

    python bench/fake_openai_server.py --port 8765 [--latency 0.5] [--slots 0] [--tokens 8]
        [--answer TEXT] [--cut N] [--log FILE]

Stands in for vLLM or llama.cpp's server with parallel slots when measuring how well the
client keeps a server busy: every request (``/v1/completions`` or ``/v1/chat/completions``,
streamed as SSE like the real ones) takes ``--latency`` seconds, spread over ``--tokens``
chunks, on its own thread, so N requests in flight take about as long as one. ``--slots N``
caps how many are served at once (llama-server ``-np N``); 0: no cap. The answer is always the
same small program (``--answer``). Like real servers it applies a request's ``stop`` strings
itself (the text ends before the first one, which is dropped; finish reason "stop"). ``--cut N``
cuts the first N streams (-1: all) halfway the way llama-cpp-python's server cuts a request
when another arrives: ``[DONE]`` with no finish reason. ``--log FILE`` appends each request's
body as a JSON line. It prints ``ready <port>`` once listening.
"""

from __future__ import annotations

import argparse
import http.server
import json
import sys
import threading
import time
from typing import Any

ANSWER = "x = 1\nprint(x)\n"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _json(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        chat = self.path.rstrip("/").endswith("/chat/completions")
        if not chat and not self.path.rstrip("/").endswith("/completions"):
            self._json(404, {"error": "not found"})
            return
        srv = self.server
        with srv.slots:
            with srv.lock:
                srv.in_flight += 1
                srv.peak = max(srv.peak, srv.in_flight)
                srv.served += 1
                cut = srv.cut < 0 or srv.served <= srv.cut
                if srv.log:
                    with open(srv.log, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(body) + "\n")
            try:
                self._stream(body, chat, cut)
            finally:
                with srv.lock:
                    srv.in_flight -= 1

    def _stream(self, body: dict[str, Any], chat: bool, cut: bool = False) -> None:
        srv = self.server
        n = int(body.get("n") or 1)
        text = srv.answer
        if chat:
            text = f"```python\n{text}```\n"
        stops = body.get("stop") or []
        stops = [stops] if isinstance(stops, str) else stops
        ends = [i for s in stops if s and (i := text.find(s)) != -1]
        if ends:
            text = text[: min(ends)]  # like real servers: the stop string is dropped
        step = max(1, -(-len(text) // srv.tokens))
        pieces = [text[i : i + step] for i in range(0, len(text), step)]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        delay = srv.latency / max(1, len(pieces))
        if cut:
            pieces = pieces[: max(1, len(pieces) // 2)]
        for piece in pieces:
            time.sleep(delay)  # the model "computing" the next token (releases the GIL)
            choices = []
            for i in range(n):
                if chat:
                    choices.append({"index": i, "delta": {"content": piece}, "finish_reason": None})
                else:
                    choices.append({"index": i, "text": piece, "finish_reason": None})
            self._event({"object": "chunk", "model": "fake", "choices": choices})
        if cut:  # no finish reason, and yet [DONE]
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")
            return
        done = [{"index": i, "finish_reason": "stop"} for i in range(n)]
        extra: dict[str, Any] = {"delta": {}} if chat else {"text": ""}
        done = [dict(d, **extra) for d in done]
        self._event({"choices": done})
        self._event({"choices": [], "usage": {"completion_tokens": len(pieces) * n}})
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _event(self, event: dict[str, Any]) -> None:
        self._chunk(f"data: {json.dumps(event)}\n\n".encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (cancelled generation): nothing to report

    def __init__(
        self,
        port: int,
        latency: float,
        slots: int,
        tokens: int,
        answer: str = ANSWER,
        cut: int = 0,
        log: str = "",
    ) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.latency = latency
        self.tokens = max(1, tokens)
        self.answer = answer
        self.cut = cut
        self.log = log
        self.slots: Any = threading.BoundedSemaphore(slots) if slots > 0 else _NoLimit()
        self.lock = threading.Lock()
        self.in_flight = self.peak = self.served = 0


class _NoLimit:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.5, help="seconds per request")
    ap.add_argument("--slots", type=int, default=0, help="requests served at once (0: any)")
    ap.add_argument("--tokens", type=int, default=8, help="SSE chunks per answer")
    ap.add_argument("--answer", default=ANSWER)
    ap.add_argument("--cut", type=int, default=0, help="cut the first N streams (-1: all)")
    ap.add_argument("--log", default="", help="append each request body to this file")
    args = ap.parse_args()
    srv = Server(args.port, args.latency, args.slots, args.tokens, args.answer, args.cut, args.log)
    print(f"ready {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        print(f"served {srv.served}, peak in flight {srv.peak}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
