"""VideoClient: configuration, the HTTP session, and the resources."""

from __future__ import annotations

import math
import os
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._auth import ApiKeyAuth, Auth, EntraIdAuth, Flavor
from ._clock import Clock, SystemClock
from ._retry import RetryPolicy
from .capabilities import CapabilityTable, ModelCapabilities, default_capabilities

if TYPE_CHECKING:
    import aiohttp

    from ._transport import Transport
    from .resources.generation_jobs import GenerationJobs
    from .resources.videos import Videos

__all__ = ["VideoClient", "resolve_endpoint"]


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


class VideoClient:
    """The entry point: an async client for Sora video generation.

    ``VideoClient(endpoint, auth=ApiKeyAuth(key))`` — use it as ``async with`` (or call
    :meth:`close`). The aiohttp session is created lazily inside the running event loop,
    so a client may be built at import time or in one notebook cell and used in another.

    Args:
        endpoint: ``https://<resource>.openai.azure.com`` (or its ``/openai/v1`` URL), or
            ``https://api.openai.com/v1``. Defaults to ``AZURE_OPENAI_ENDPOINT``.
        auth: :class:`ApiKeyAuth`, :class:`EntraIdAuth` or :class:`TokenProviderAuth`.
            Defaults to ``ApiKeyAuth(AZURE_OPENAI_API_KEY)`` (or ``OPENAI_API_KEY`` for OpenAI).
        timeout: seconds for one API request (for downloads: the longest stall allowed).
        connect_timeout: seconds to establish a connection.
        max_retries: retries of a failed request (429, 5xx, connection errors).
        poll_interval: a fixed polling interval; by default polling adapts to progress.
        max_poll_interval: the longest wait between two status requests.
        session: an ``aiohttp.ClientSession`` the caller owns (not closed by the client).
        capabilities: the per-model limits table (see :mod:`foundry_video.capabilities`).
        validate: check parameters against the table before sending (default True).
        clock: a :class:`Clock`; tests pass a :class:`ManualClock` shared with the emulator.
        api_version: an ``api-version`` query value to send with Videos API requests.
        default_headers: extra headers for every request.
        verify_ssl: TLS certificate verification; only ever disable it explicitly.
        connection_limit: the connection pool size.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        auth: Auth | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_retries: int = 2,
        poll_interval: float | None = None,
        max_poll_interval: float = 30.0,
        session: aiohttp.ClientSession | None = None,
        capabilities: CapabilityTable | None = None,
        validate: bool = True,
        clock: Clock | None = None,
        api_version: str | None = None,
        default_headers: dict[str, str] | None = None,
        verify_ssl: bool = True,
        connection_limit: int = 100,
    ) -> None:
        endpoint = endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not endpoint:
            raise ValueError("no endpoint: pass endpoint=... or set AZURE_OPENAI_ENDPOINT")
        self.base_url, self.flavor = resolve_endpoint(endpoint)
        if auth is None:
            auth = _auth_from_env(self.flavor)
        if not isinstance(auth, Auth):
            raise TypeError("auth must be ApiKeyAuth, EntraIdAuth, TokenProviderAuth or an Auth")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeouts must be positive")
        # The poll schedule's only bound on a wait: NaN or inf would let a hint sleep for years.
        if poll_interval is not None and not (math.isfinite(poll_interval) and poll_interval >= 0):
            raise ValueError("poll_interval must be None or a finite number >= 0")
        if not (math.isfinite(max_poll_interval) and max_poll_interval > 0):
            raise ValueError("max_poll_interval must be a finite number > 0")
        self.endpoint = endpoint
        self.auth = auth
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.validate = validate
        self.capabilities = capabilities if capabilities is not None else default_capabilities()
        self.clock: Clock = clock or SystemClock()
        self.api_version = api_version
        self._session = session
        self._default_headers = dict(default_headers or {})
        self._verify_ssl = verify_ssl
        self._connection_limit = connection_limit
        self._owned_credential: Any = None

    @classmethod
    def from_env(cls, **kwargs: Any) -> VideoClient:
        """Build from ``AZURE_OPENAI_ENDPOINT`` and ``AZURE_OPENAI_API_KEY``.

        Without a key, Microsoft Entra ID is used through
        ``azure.identity.aio.DefaultAzureCredential`` (extra ``foundry-video[entra]``),
        which the client then owns and closes.
        """
        endpoint = kwargs.pop("endpoint", None) or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not endpoint:
            raise ValueError("AZURE_OPENAI_ENDPOINT is not set")
        owned = None
        if kwargs.get("auth") is None and not os.environ.get("AZURE_OPENAI_API_KEY"):
            _, flavor = resolve_endpoint(endpoint)
            if flavor == "azure":
                try:
                    from azure.identity.aio import DefaultAzureCredential
                except ImportError as exc:  # pragma: no cover - depends on the environment
                    raise ValueError(
                        "AZURE_OPENAI_API_KEY is not set and azure-identity is not installed "
                        "for Entra ID: pip install 'foundry-video[entra]'") from exc
                owned = DefaultAzureCredential()
                kwargs["auth"] = EntraIdAuth(owned)
        client = cls(endpoint, **kwargs)
        client._owned_credential = owned
        return client

    @cached_property
    def _transport(self) -> Transport:
        from ._transport import Transport

        return Transport(
            base_url=self.base_url, flavor=self.flavor, auth=self.auth, clock=self.clock,
            retry=RetryPolicy(max_retries=self.max_retries), timeout=self.timeout,
            connect_timeout=self.connect_timeout, session=self._session,
            default_headers=self._default_headers,
            default_query={"api-version": self.api_version} if self.api_version else None,
            verify_ssl=self._verify_ssl, connection_limit=self._connection_limit,
        )

    @cached_property
    def videos(self) -> Videos:
        """Sora 2 videos: create, retrieve, list, delete, remix, download, job."""
        from .resources.videos import Videos

        return Videos(self)

    @cached_property
    def generation_jobs(self) -> GenerationJobs:
        """Sora 1 generation jobs (Azure preview API): create, retrieve, list, delete, download, job."""
        from .resources.generation_jobs import GenerationJobs

        return GenerationJobs(self)

    def _capabilities_for(self, model: str | None) -> ModelCapabilities | None:
        if not self.validate or model is None:
            return None
        return self.capabilities.resolve(model)

    async def close(self) -> None:
        """Close the HTTP session (if the client created it). Idempotent."""
        if "_transport" in self.__dict__:
            await self._transport.aclose()
        credential, self._owned_credential = self._owned_credential, None
        if credential is not None:
            await credential.close()

    async def __aenter__(self) -> VideoClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"VideoClient(endpoint={self.base_url!r}, auth={self.auth!r})"


def _auth_from_env(flavor: Flavor) -> Auth:
    names = ("AZURE_OPENAI_API_KEY",) if flavor == "azure" else ("OPENAI_API_KEY",
                                                                  "AZURE_OPENAI_API_KEY")
    for name in names:
        key = os.environ.get(name)
        if key:
            return ApiKeyAuth(key)
    raise ValueError(
        f"no credentials: pass auth=ApiKeyAuth(...)/EntraIdAuth(...) or set {names[0]} "
        "(VideoClient.from_env() falls back to Entra ID)")
