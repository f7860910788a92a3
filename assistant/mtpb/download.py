"""``assistant mtpb download``: fetch mtpb.jsonl from the CodeGen repository, checked and atomic.

The default URL is pinned to a commit, so the file's sha256 is known and checked: a corrupted
or substituted download is refused. A custom ``--url`` is not checked (it may be a local
mirror or an edited copy), but it must still load as MTPB data.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError

COMMIT = "6f09e495f41e006375055239e4bcb18539f3a38b"
DEFAULT_URL = (
    f"https://raw.githubusercontent.com/salesforce/CodeGen/{COMMIT}/codegen1/benchmark/mtpb.jsonl"
)
SHA256 = "3ab79ddb160f484a63491330ba72204930d56cc946f7c0c5fb469622a941f89c"
_CHUNK = 64 * 1024


class DownloadError(AssistantError):
    """The download failed; the message says why and what to do."""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def download(
    dest: Path,
    url: str | None = None,
    *,
    expected_sha256: str | None = None,
    progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` (default: the pinned CodeGen file) to ``dest`` atomically.

    The sha256 is checked against ``expected_sha256``, which defaults to the known digest
    when the default URL is used. Nothing is left at ``dest`` unless everything succeeded.
    """
    src = url or DEFAULT_URL
    if expected_sha256 is None and url in (None, DEFAULT_URL):
        expected_sha256 = SHA256
    dest = Path(dest).expanduser()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    try:
        req = urllib.request.Request(src, headers={"User-Agent": "mtpb-assistant"})
        try:
            resp = urllib.request.urlopen(req, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise DownloadError(
                f"download failed: HTTP {exc.code} {exc.reason} for {src}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(
                f"cannot reach {src} ({reason}). Are you offline? Download mtpb.jsonl by other "
                "means and pass it with --mtpb PATH (or `assistant mtpb download --url URL`)."
            ) from None
        with resp, os.fdopen(fd, "wb") as out:
            fd = -1
            total = int(resp.headers.get("Content-Length") or 0) or None
            bar = _bar(total, progress)
            try:
                while True:
                    block = resp.read(_CHUNK)
                    if not block:
                        break
                    out.write(block)
                    h.update(block)
                    if bar is not None:
                        bar.update(len(block))
            except OSError as exc:
                raise DownloadError(f"download interrupted: {exc}") from None
            finally:
                if bar is not None:
                    bar.close()
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if expected_sha256 and digest != expected_sha256:
            raise DownloadError(
                f"checksum mismatch for {src}: got sha256 {digest}, expected {expected_sha256}; "
                "the file was not saved"
            )
        os.replace(tmp, dest)
        return dest
    finally:
        if fd != -1:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()


def _bar(total: int | None, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc="mtpb.jsonl", disable=None)
