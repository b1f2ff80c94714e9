"""VideoClient: configuration, the HTTP session, and the resources."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, cast

from typing_extensions import Unpack

from ._auth import Auth, EntraIdAuth, Flavor
from ._clock import Clock, SystemClock
from ._endpoint import auth_from_env, resolve_endpoint
from ._observe import TelemetrySetting, check_telemetry, resolve_telemetry
from ._options import EventHooks, RequestOptions
from ._retry import RetryPolicy
from ._transports.base import AsyncTransport, Request, Response
from .capabilities import CapabilityTable, ModelCapabilities, default_capabilities

if TYPE_CHECKING:
    import aiohttp

    from ._pipeline import Pipeline
    from .resources.generation_jobs import GenerationJobs
    from .resources.videos import Videos

__all__ = ["VideoClient", "resolve_endpoint"]  # resolve_endpoint: re-exported for callers


class VideoClient:
    """The entry point: an async client for Sora video generation.

    ``VideoClient(endpoint, auth=ApiKeyAuth(key))`` — use it as ``async with`` (or call
    :meth:`close`). The HTTP session is created lazily inside the running event loop, so a
    client may be built at import time or in one notebook cell and used in another (and in a
    second ``asyncio.run()`` after the first one's loop closed).

    Settings are read-only after construction; :meth:`with_options` returns a copy with
    other settings that shares the connection pool.

    Args:
        endpoint: ``https://<resource>.openai.azure.com`` (or its ``/openai/v1`` URL), or
            ``https://api.openai.com/v1``. Defaults to ``AZURE_OPENAI_ENDPOINT``.
        auth: :class:`ApiKeyAuth`, :class:`EntraIdAuth` or :class:`TokenProviderAuth`.
            Defaults to ``ApiKeyAuth(AZURE_OPENAI_API_KEY)`` (or ``OPENAI_API_KEY`` for OpenAI).
        timeout: seconds for one attempt of an API request, credentials included (for
            downloads: the longest wait for the response or for any read of the body).
        connect_timeout: seconds to establish a connection.
        max_retries: retries of a failed API call (429, 5xx, connection errors): at most
            ``1 + max_retries`` HTTP attempts per call, whatever failed.
        poll_retries: retries of one status request while waiting on a job.
        download_resumes: resumptions of one interrupted download.
        poll_interval: a fixed polling interval; by default polling adapts to progress.
        max_poll_interval: the longest wait between two status requests (service hints
            included).
        max_redirects: redirect hops followed per request (credentials never leave the
            endpoint's origin; https to http is refused).
        max_download_bytes: refuse downloads larger than this (``None``: no cap; a download
            never exceeds its announced length either way).
        session: an ``aiohttp.ClientSession`` the caller owns (not closed by the client).
        transport: send requests through this instead of aiohttp, e.g.
            :class:`foundry_video.testing.MockTransport`; closed with the client.
        event_hooks: ``{"request": [...], "response": [...], "retry": [...]}`` callables run
            on every HTTP attempt (see :class:`~foundry_video.EventHooks`).
        telemetry: OpenTelemetry traces and metrics of jobs (extra ``foundry-video[otel]``):
            ``True``, ``False``, a :class:`~foundry_video.TelemetryOptions`, or ``None``
            (default): on when the application has set an OpenTelemetry tracer or meter
            provider by the time of the first request. See the *Observability* guide.
        capabilities: the per-model limits table (see :mod:`foundry_video.capabilities`).
        validate: check parameters against the table before sending (default True).
        clock: a :class:`Clock`; tests pass a :class:`ManualClock` shared with the emulator.
        api_version: an ``api-version`` query value to send with Videos API requests.
        default_headers: extra headers for every request.
        default_query: extra query parameters for every request.
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
        poll_retries: int = 6,
        download_resumes: int = 5,
        poll_interval: float | None = None,
        max_poll_interval: float = 30.0,
        max_redirects: int = 5,
        max_download_bytes: int | None = None,
        session: aiohttp.ClientSession | None = None,
        transport: AsyncTransport | None = None,
        event_hooks: EventHooks | None = None,
        telemetry: TelemetrySetting = None,
        capabilities: CapabilityTable | None = None,
        validate: bool = True,
        clock: Clock | None = None,
        api_version: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str] | None = None,
        verify_ssl: bool = True,
        connection_limit: int = 100,
    ) -> None:
        endpoint = endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not endpoint:
            raise ValueError("no endpoint: pass endpoint=... or set AZURE_OPENAI_ENDPOINT")
        self._base_url, self._flavor = resolve_endpoint(endpoint)
        if auth is None:
            auth = auth_from_env(self._flavor)
        if not isinstance(auth, Auth):
            raise TypeError("auth must be ApiKeyAuth, EntraIdAuth, TokenProviderAuth or an Auth")
        for name, count in (("max_retries", max_retries), ("poll_retries", poll_retries),
                            ("download_resumes", download_resumes),
                            ("max_redirects", max_redirects)):
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"{name} must be an int >= 0")
        for name, seconds in (("timeout", timeout), ("connect_timeout", connect_timeout),
                              ("max_poll_interval", max_poll_interval)):
            if not _positive_seconds(seconds):
                raise ValueError(f"{name} must be a positive number of seconds")
        if poll_interval is not None and not (_positive_seconds(poll_interval) or poll_interval == 0):
            raise ValueError("poll_interval must be a number of seconds >= 0, or None (adaptive)")
        if max_download_bytes is not None and (not isinstance(max_download_bytes, int)
                                               or max_download_bytes <= 0):
            raise ValueError("max_download_bytes must be a positive int or None")
        if session is not None and transport is not None:
            raise ValueError("pass either session= or transport=, not both")
        if transport is not None and not isinstance(transport, AsyncTransport):
            raise TypeError("transport must have handle_async_request() and aclose()")
        check_telemetry(telemetry)
        self._endpoint = endpoint
        self._auth = auth
        self._clock: Clock = clock or SystemClock()
        self._capabilities = capabilities if capabilities is not None else default_capabilities()
        self._settings = _Settings(
            timeout=timeout, connect_timeout=connect_timeout, max_retries=max_retries,
            poll_retries=poll_retries, download_resumes=download_resumes,
            poll_interval=poll_interval, max_poll_interval=max_poll_interval,
            max_redirects=max_redirects, max_download_bytes=max_download_bytes,
            event_hooks=_hooks(event_hooks), telemetry=telemetry, validate=validate,
            api_version=api_version,
            default_headers=dict(default_headers or {}), default_query=dict(default_query or {}),
            verify_ssl=verify_ssl, connection_limit=connection_limit)
        self._given_transport = transport
        self._session = session
        self._shared: _Shared = _Shared()
        self._closed = False

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
        client._shared.owned_credential = owned
        return client

    # -- settings (read-only) ------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The endpoint as given."""
        return self._endpoint

    @property
    def base_url(self) -> str:
        """The API base URL requests go to."""
        return self._base_url

    @property
    def flavor(self) -> Flavor:
        """``"azure"`` or ``"openai"``: decides the path prefix and auth header."""
        return self._flavor

    @property
    def auth(self) -> Auth:
        """The credentials (keys and tokens never print)."""
        return self._auth

    @property
    def clock(self) -> Clock:
        """The clock polling and back-off sleep on."""
        return self._clock

    @property
    def capabilities(self) -> CapabilityTable:
        """The per-model limits table."""
        return self._capabilities

    @property
    def timeout(self) -> float:
        """Seconds for one attempt of an API request."""
        return self._settings.timeout

    @property
    def connect_timeout(self) -> float:
        """Seconds to establish a connection."""
        return self._settings.connect_timeout

    @property
    def max_retries(self) -> int:
        """Retries of one API call."""
        return self._settings.max_retries

    @property
    def poll_interval(self) -> float | None:
        """A fixed polling interval, or ``None`` (adaptive)."""
        return self._settings.poll_interval

    @property
    def max_poll_interval(self) -> float:
        """The longest wait between two status requests."""
        return self._settings.max_poll_interval

    @property
    def validate(self) -> bool:
        """Whether parameters are checked against the model's limits before sending."""
        return self._settings.validate

    @property
    def api_version(self) -> str | None:
        """The ``api-version`` sent with Videos API requests, if any."""
        return self._settings.api_version

    def with_options(self, **settings: Any) -> VideoClient:
        """A copy of this client with other settings, sharing its connection pool.

        Accepts the constructor's keyword arguments (``timeout=``, ``max_retries=``,
        ``auth=``, ``default_headers=``, ...), except ``session``/``transport``: the copy
        uses this client's. Closing the copy does not close the pool; closing this client
        does (the copies then refuse new requests).
        """
        for fixed in ("session", "transport", "endpoint"):
            if fixed in settings:
                raise TypeError(f"with_options() cannot change {fixed}")
        options: dict[str, Any] = {f.name: getattr(self._settings, f.name)
                                   for f in fields(self._settings)}
        options.update(auth=self._auth, clock=self._clock, capabilities=self._capabilities)
        options.update(settings)
        copy = VideoClient(self._endpoint, **options)
        copy._shared = self._shared
        copy._given_transport = self._given_transport
        copy._session = self._session
        copy._is_copy = True
        return copy

    _is_copy = False

    # -- the pipeline ----------------------------------------------------------------------

    @cached_property
    def _pipeline(self) -> Pipeline:
        from ._pipeline import Pipeline

        settings = self._settings
        query = dict(settings.default_query)
        if settings.api_version:
            query["api-version"] = settings.api_version
        hooks, telemetry = settings.event_hooks, None
        options = resolve_telemetry(settings.telemetry)
        if options is not None:
            from .otel import JobTelemetry

            telemetry = JobTelemetry(options, base_url=self._base_url, flavor=self._flavor)
            hooks = telemetry.event_hooks(hooks)
        pipeline = Pipeline(
            base_url=self._base_url, flavor=self._flavor, auth=self._auth, clock=self._clock,
            retry=RetryPolicy(max_retries=settings.max_retries,
                              poll_retries=settings.poll_retries,
                              download_resumes=settings.download_resumes),
            timeout=settings.timeout, connect_timeout=settings.connect_timeout,
            transport=_LiveTransport(self), default_headers=settings.default_headers,
            default_query=query, event_hooks=hooks,
            max_redirects=settings.max_redirects,
            max_download_bytes=settings.max_download_bytes)
        if telemetry is not None:
            telemetry.attach(pipeline)
        return pipeline

    def _transport(self) -> AsyncTransport:
        """The shared transport, created on first use; refuses a closed client."""
        if self._closed or self._shared.closed:
            raise RuntimeError("this VideoClient is closed")
        if self._shared.transport is None:
            if self._given_transport is not None:
                self._shared.transport = self._given_transport
            else:
                from ._transports.aiohttp import AiohttpTransport

                self._shared.transport = AiohttpTransport(
                    session=self._session, verify_ssl=self._settings.verify_ssl,
                    connection_limit=self._settings.connection_limit)
        return self._shared.transport

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
        return self._capabilities.resolve(model)

    async def request(
        self,
        method: Literal["GET", "POST", "DELETE", "HEAD"],
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        json: object = None,
        idempotent: bool | None = None,
        **options: Unpack[RequestOptions],
    ) -> Response:
        """Send any API request through the client's auth, redirects, retries and error mapping.

        For what the SDK does not wrap (yet): ``path`` is relative to the API base URL
        (``"/videos"``), ``json`` the body. Returns the :class:`~foundry_video.Response`
        with its body read (``.status_code``, ``.headers``, ``.request_id``, ``.content``,
        ``.json()``). A 4xx/5xx raises the mapped :class:`APIStatusError`. A ``POST`` is
        not retried after it may have reached the service unless ``idempotent=True``.
        """
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError("path must start with '/' (relative to the API base URL)")
        return await self._pipeline.request(method, path, params=params, json=json,
                                            idempotent=idempotent,
                                            options=options)

    async def close(self) -> None:
        """Close the connection pool (if the client created it or was given a transport).

        Idempotent. A client closed before its first request stays closed. A copy made by
        :meth:`with_options` only stops itself; the pool is closed by the original client.
        """
        if self._closed:
            return
        self._closed = True
        if self._is_copy:
            return
        self._shared.closed = True
        transport, self._shared.transport = self._shared.transport, None
        if transport is not None:
            await transport.aclose()
        credential, self._shared.owned_credential = self._shared.owned_credential, None
        if credential is not None:
            await credential.close()

    async def __aenter__(self) -> VideoClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"VideoClient(endpoint={self._base_url!r}, auth={self._auth!r})"


@dataclass(frozen=True)
class _Settings:
    """The client's settings, fixed at construction (one copy, read by the pipeline)."""

    timeout: float
    connect_timeout: float
    max_retries: int
    poll_retries: int
    download_resumes: int
    poll_interval: float | None
    max_poll_interval: float
    max_redirects: int
    max_download_bytes: int | None
    event_hooks: EventHooks | None
    telemetry: TelemetrySetting
    validate: bool
    api_version: str | None
    default_headers: dict[str, str]
    default_query: dict[str, str]
    verify_ssl: bool
    connection_limit: int


class _Shared:
    """What a client and its :meth:`~VideoClient.with_options` copies share."""

    def __init__(self) -> None:
        self.transport: AsyncTransport | None = None
        self.closed = False
        self.owned_credential: Any = None


class _LiveTransport:
    """Resolves the client's shared transport at each request (created lazily, in the loop)."""

    __slots__ = ("_client",)

    def __init__(self, client: VideoClient) -> None:
        self._client = client

    async def handle_async_request(self, request: Request) -> Response:
        return await self._client._transport().handle_async_request(request)

    @property
    def enforces_read_timeout(self) -> bool:
        return bool(getattr(self._client._transport(), "enforces_read_timeout", False))

    async def aclose(self) -> None:
        await self._client.close()


def _positive_seconds(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def _hooks(value: EventHooks | None) -> EventHooks | None:
    if value is None:
        return None
    from ._options import hooks_from

    return hooks_from(cast("Mapping[str, Sequence[object]]", value))
