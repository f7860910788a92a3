"""Fetching a GGUF file from the Hugging Face hub (``hf:OWNER/REPO/FILE.gguf``).

Downloads go to the standard Hugging Face cache (shared with every other tool, so a file is
fetched once), with huggingface_hub's progress bar. Every failure becomes a ModelError that
says exactly which file to fetch by hand and where to put it.
"""

from __future__ import annotations

import os
from pathlib import Path

from assistant.models.base import ModelError

EXAMPLE = "hf:Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"


def parse_hub_spec(spec: str) -> tuple[str, str]:
    """``OWNER/REPO/path/FILE.gguf`` -> (``OWNER/REPO``, ``path/FILE.gguf``)."""
    parts = [p for p in spec.strip().strip("/").split("/") if p]
    if len(parts) < 3 or not parts[-1].lower().endswith(".gguf"):
        raise ModelError(
            f"bad hub model {spec!r}: expected OWNER/REPO/FILE.gguf (one file of a GGUF "
            f"repository), e.g. {EXAMPLE}"
        )
    return "/".join(parts[:2]), "/".join(parts[2:])


def download_gguf(
    spec: str,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    endpoint: str | None = None,
    token: str | None = None,
) -> Path:
    """The local path of ``OWNER/REPO/FILE.gguf``, downloading it into the cache if needed."""
    repo_id, filename = parse_hub_spec(spec)
    base = (endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
    url = f"{base}/{repo_id}/resolve/{revision or 'main'}/{filename}"
    try:
        from huggingface_hub import constants, errors, hf_hub_download
    except ImportError as exc:
        raise ModelError(
            f"huggingface-hub is needed to download models ({exc}); install it with "
            f"`pip install huggingface-hub`, or download {url} yourself and pass "
            f"--model /path/to/{Path(filename).name}"
        ) from None

    cache = str(cache_dir or constants.HF_HUB_CACHE)

    def fail(reason: str) -> ModelError:
        return ModelError(
            f"cannot get {filename} from the Hugging Face repository {repo_id}: {reason}.\n"
            f"Fix: on a machine with internet access download {url}\n"
            f"and run with --model /path/to/{Path(filename).name} (any folder works), or run "
            f"`hf download {repo_id} {filename}` there and copy the cache folder to {cache}."
        )

    try:
        return Path(
            hf_hub_download(
                repo_id,
                filename,
                revision=revision,
                cache_dir=cache_dir,
                endpoint=endpoint,
                token=token,
            )
        )
    except errors.LocalEntryNotFoundError:
        if constants.HF_HUB_OFFLINE:
            raise fail("offline mode is on (HF_HUB_OFFLINE=1) and it is not in the cache") from None
        raise fail(f"no connection to {base} and it is not in the cache") from None
    except errors.OfflineModeIsEnabled:
        raise fail("offline mode is on (HF_HUB_OFFLINE=1) and it is not in the cache") from None
    except errors.GatedRepoError:
        raise fail(
            f"the repository is gated: accept its terms at {base}/{repo_id} and log in "
            "(`hf auth login` or HF_TOKEN)"
        ) from None
    except errors.RepositoryNotFoundError:
        raise fail(
            "no such repository (check the name; private repositories need HF_TOKEN)"
        ) from None
    except errors.RevisionNotFoundError:
        raise fail(f"no revision {revision!r} in the repository") from None
    except errors.EntryNotFoundError:
        raise fail(
            f"the repository has no file {filename!r} (see {base}/{repo_id}/tree/main)"
        ) from None
    except Exception as exc:  # network errors surface as many types (httpx, OSError, ...)
        raise fail(f"{type(exc).__name__}: {exc}") from None
