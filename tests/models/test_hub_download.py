"""``hf:`` models: huggingface_hub downloading from a local endpoint, and the offline errors.

The endpoint is a small http.server speaking the two calls hf_hub_download makes (HEAD for
metadata, GET for bytes) on 127.0.0.1, so the real download code runs without a network.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.models import load_model
from assistant.models.base import ModelError
from assistant.models.hub import download_gguf, parse_hub_spec
from assistant.models.llama import LlamaModel

REPO = "test-org/tiny-GGUF"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub(tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # conftest sets it for safety
    data = tiny_gguf.read_bytes()
    etag = hashlib.sha256(data).hexdigest()
    requests: list[str] = []

    class Hub(http.server.BaseHTTPRequestHandler):
        def _head(self) -> bool:
            requests.append(f"{self.command} {self.path}")
            if self.path != f"/{REPO}/resolve/main/tiny.gguf":
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("X-Error-Message", "Entry not found")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return False
            self.send_response(200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{etag}"')
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            return True

        def do_HEAD(self) -> None:
            self._head()

        def do_GET(self) -> None:
            if self._head():
                self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", requests
    srv.shutdown()
    srv.server_close()


@pytest.mark.llama
def test_downloads_into_the_cache_then_works_offline(
    hub: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, requests = hub
    m = LlamaModel.from_hub(f"{REPO}/tiny.gguf", endpoint=endpoint, cache_dir=tmp_path, n_ctx=128)
    assert any(r.startswith("GET") for r in requests)
    path = Path(m.describe()["model"])
    assert path == tmp_path / f"models--test-org--tiny-GGUF/snapshots/{COMMIT}/tiny.gguf"
    m.close()

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    requests.clear()
    again = download_gguf(f"{REPO}/tiny.gguf", endpoint=endpoint, cache_dir=tmp_path)
    assert again == path and requests == []


@pytest.mark.llama
def test_missing_file_on_the_hub(hub: tuple[str, list[str]], tmp_path: Path) -> None:
    endpoint, _ = hub
    with pytest.raises(ModelError, match=r"has no file 'other\.gguf'") as err:
        download_gguf(f"{REPO}/other.gguf", endpoint=endpoint, cache_dir=tmp_path)
    assert f"{endpoint}/{REPO}/resolve/main/other.gguf" in str(err.value)


@pytest.mark.unit
def test_offline_and_not_cached_says_what_to_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelError) as err:
        load_model(f"hf:{REPO}/tiny.gguf", cache_dir=tmp_path)
    msg = str(err.value)
    assert "HF_HUB_OFFLINE" in msg
    assert f"/{REPO}/resolve/main/tiny.gguf" in msg  # what to download
    assert "--model /path/to/tiny.gguf" in msg and str(tmp_path) in msg  # where it can go


@pytest.mark.unit
def test_no_connection(tmp_path: Path, unused_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(time, "sleep", lambda s: None)  # huggingface_hub backs off ~20 s
    with pytest.raises(ModelError, match=r"no connection to http://127\.0\.0\.1"):
        download_gguf(
            f"{REPO}/tiny.gguf", endpoint=f"http://127.0.0.1:{unused_port}", cache_dir=tmp_path
        )


@pytest.mark.unit
@pytest.mark.parametrize("spec", ["tiny.gguf", "org/tiny.gguf", "org/repo/model.bin"])
def test_bad_specs(spec: str) -> None:
    with pytest.raises(ModelError, match=r"OWNER/REPO/FILE\.gguf"):
        parse_hub_spec(spec)


@pytest.mark.unit
def test_spec_with_subfolder() -> None:
    assert parse_hub_spec("org/repo/q4/m.gguf") == ("org/repo", "q4/m.gguf")
