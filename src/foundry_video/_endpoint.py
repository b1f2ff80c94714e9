"""Endpoints and credentials from the environment: what an endpoint URL means."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from ._auth import ApiKeyAuth, Auth, Flavor

__all__ = ["auth_from_env", "resolve_endpoint"]


def resolve_endpoint(endpoint: str) -> tuple[str, Flavor]:
    """Return ``(base_url, flavor)`` for a resource endpoint or a full API base URL.

    ``https://res.openai.azure.com`` (any host without an API path) → Azure,
    ``.../openai/v1``; a URL already ending in ``/openai/v1`` is kept; OpenAI's
    ``https://api.openai.com`` or any URL ending in ``/v1`` (not ``/openai/v1``) → OpenAI.
    """
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise ValueError("endpoint must be a URL such as https://my-resource.openai.azure.com")
    url = endpoint.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"endpoint must be an http(s) URL, got {endpoint!r}")
    path = parts.path
    if path.endswith("/openai/v1"):
        return url, "azure"
    if path.endswith("/openai"):
        return url + "/v1", "azure"
    if parts.hostname == "api.openai.com":
        return (url if path.endswith("/v1") else url + "/v1"), "openai"
    if path.endswith("/v1"):
        return url, "openai"
    return url + "/openai/v1", "azure"


def auth_from_env(flavor: Flavor) -> Auth:
    """``ApiKeyAuth`` from ``AZURE_OPENAI_API_KEY`` (or ``OPENAI_API_KEY`` for OpenAI)."""
    names = ("AZURE_OPENAI_API_KEY",) if flavor == "azure" else ("OPENAI_API_KEY",
                                                                  "AZURE_OPENAI_API_KEY")
    for name in names:
        key = os.environ.get(name)
        if key:
            return ApiKeyAuth(key)
    raise ValueError(
        f"no credentials: pass auth=ApiKeyAuth(...)/EntraIdAuth(...) or set {names[0]} "
        "(VideoClient.from_env() falls back to Entra ID)")
