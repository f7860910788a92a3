"""`assistant mtpb download` against a local HTTP server (no network, nothing in the repo)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.mtpb import download as D
from assistant.mtpb.download import DownloadError, download

pytestmark = pytest.mark.unit


@pytest.fixture
def server(tmp_path: Path, mtpb_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    shutil.copy(mtpb_path, root / "mtpb.jsonl")
    (root / "bad.jsonl").write_text("not the benchmark\n")
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_download_checks_sha256(server: str, tmp_path: Path, mtpb_path: Path) -> None:
    dest = tmp_path / "out" / "mtpb.jsonl"
    got = download(dest, f"{server}/mtpb.jsonl", expected_sha256=D.SHA256, progress=False)
    assert got == dest
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == D.SHA256
    assert dest.read_bytes() == mtpb_path.read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["mtpb.jsonl"]  # no temp file left


def test_default_url_is_pinned_and_checked(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert D.COMMIT in D.DEFAULT_URL and D.DEFAULT_URL.endswith("codegen1/benchmark/mtpb.jsonl")
    # Point the default at a file with other content: the known digest refuses it.
    monkeypatch.setattr(D, "DEFAULT_URL", f"{server}/bad.jsonl")
    dest = tmp_path / "mtpb.jsonl"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(dest, None, progress=False)
    assert not dest.exists() and list(tmp_path.iterdir()) == [tmp_path / "www"]


def test_custom_url_is_not_sha_checked(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "x.jsonl"
    download(dest, f"{server}/bad.jsonl", progress=False)
    assert dest.read_text() == "not the benchmark\n"


def test_http_error_and_offline_are_clear(server: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(tmp_path / "a.jsonl", f"{server}/missing.jsonl", progress=False)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match=r"offline.*--mtpb"):
        download(tmp_path / "a.jsonl", f"http://127.0.0.1:{port}/mtpb.jsonl", progress=False)
    assert not (tmp_path / "a.jsonl").exists()


def test_cli_download(server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "cli.jsonl"
    rc = main(["mtpb", "download", "--url", f"{server}/mtpb.jsonl", "--to", str(dest)])
    assert rc == 0
    assert "115 problems" in capsys.readouterr().out
