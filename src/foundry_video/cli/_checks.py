"""Local checks run before anything is sent (so nothing is paid for before they pass).

The output check is the SDK's own (``_output.check_target``, also run by ``job.result``
before polling); the endpoint check says what a pasted request URL should have been.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from .._errors import OutputFileError
from .._output import check_target
from ..capabilities import CapabilityTable, ModelCapabilities, default_capabilities

__all__ = ["UsageError", "capabilities_for", "check_endpoint", "check_output", "warn_unknown"]

_API_TAILS = ("/videos", "/video/generations", "/openai/deployments/", "/chat/completions")


class UsageError(Exception):
    """A mistake in the command line or the setup: one line, exit code 2, nothing sent."""


def check_endpoint(endpoint: str) -> None:
    """Refuse a request URL pasted in place of the resource endpoint, saying what to use."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"endpoint must be an http(s) URL such as https://NAME.openai.azure.com; "
                         f"got {endpoint[:100]!r}")
    path = parts.path.rstrip("/")
    lowered = path.lower()
    cut = min((lowered.find(tail) for tail in _API_TAILS if tail in lowered), default=-1)
    versioned = "api-version=" in parts.query.lower()
    after_v1 = "/openai/v1/" in lowered + "/" and not lowered.endswith("/openai/v1")
    if cut < 0 and not versioned and not after_v1:
        return
    if cut < 0:
        cut = lowered.find("/openai") if "/openai" in lowered else len(path)
    base = path[:cut]
    if base.lower().endswith("/openai/v1"):
        base = base[: -len("/openai/v1")]
    elif base.lower().endswith("/openai"):
        base = base[: -len("/openai")]
    suggestion = f"{parts.scheme}://{parts.netloc}{base}"
    raise UsageError(f"the endpoint looks like a request URL ({path or '/'}"
                     f"{'?' + parts.query if parts.query else ''}), not a resource endpoint: "
                     f"use {suggestion} (the SDK adds /openai/v1/... itself)")


def check_output(target: Path, *, what: str = "-o") -> Path:
    """Make sure a file can be written at ``target`` before any job is created (the SDK's
    own check, as a usage error)."""
    try:
        return check_target(target)
    except OutputFileError as exc:
        raise UsageError(f"{what}: {exc.message}") from None


def check_output_dir(directory: Path, *, what: str = "-o") -> Path:
    """Make sure files can be written into ``directory`` (created if missing)."""
    directory = directory.expanduser()
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{what} {directory} is a file; give a directory for the outputs")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{what}: cannot create {directory} ({exc.strerror or exc})") from None
    check_output(directory / "video.mp4", what=what)
    return directory


def capabilities_for(model: str, base_model: str | None) -> CapabilityTable:
    """The capability table, with ``model`` mapped to ``base_model`` when one is given."""
    table = default_capabilities()
    if base_model is None:
        return table
    if table.resolve(base_model) is None:
        raise UsageError(f"--base-model {base_model!r} is not a known model; known: "
                         f"{', '.join(sorted(table))}")
    return table.with_model(model, base_model)


def warn_unknown(table: CapabilityTable, model: str) -> str | None:
    """The warning for a model name the table does not know (``None`` if it knows it)."""
    caps: ModelCapabilities | None = table.resolve(model)
    if caps is not None:
        return None
    return (f"model {model!r} is not a known model ({', '.join(sorted(table))}): its size and "
            "seconds are not checked locally, and a typo only fails on Azure. For a "
            "deployment name add --base-model MODEL")
