"""SyncVideoClient: the async client, driven from a private event-loop thread."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import Unpack

from .._options import RequestOptions
from ._resources import SyncGenerationJobs, SyncVideos
from ._runtime import Runtime

if TYPE_CHECKING:
    from .._auth import Auth, Flavor
    from .._client import VideoClient
    from .._clock import Clock
    from .._observe import TelemetrySetting
    from .._options import EventHooks
    from .._transports.base import AsyncTransport, Response
    from ..capabilities import CapabilityTable

__all__ = ["SyncVideoClient"]


class SyncVideoClient:
    """A blocking client for scripts, web apps (Flask, Django) and notebooks.

    The same surface as :class:`~foundry_video.VideoClient` without ``await``:

    ```python
    with SyncVideoClient.from_env() as client:
        job = client.videos.create(prompt="A paper boat", seconds=4)
        path = job.result("boat.mp4")
    ```

    It is not a second implementation: it runs a :class:`~foundry_video.VideoClient` on a
    private event-loop thread, so behaviour, errors and retries are the async client's.
    One client may be used from several threads at once, and from inside a running event
    loop (a Jupyter cell; that loop waits while the call runs). Ctrl-C while a job waits
    leaves the job running on the service and raises a ``KeyboardInterrupt`` that says
    how to resume it.

    Close it with ``with`` or :meth:`close`; a client still open when it is garbage
    collected, or at interpreter exit, is closed then. The constructor takes
    :class:`~foundry_video.VideoClient`'s arguments, except ``session`` (an aiohttp
    session belongs to the event loop that made it). Settings can be read on
    ``client.videos`` 's async twin; :meth:`with_options` makes a configured copy.
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
        from .._client import VideoClient

        def build() -> VideoClient:
            return VideoClient(
                endpoint, auth=auth, timeout=timeout, connect_timeout=connect_timeout,
                max_retries=max_retries, poll_retries=poll_retries,
                download_resumes=download_resumes, poll_interval=poll_interval,
                max_poll_interval=max_poll_interval, max_redirects=max_redirects,
                max_download_bytes=max_download_bytes, transport=transport,
                event_hooks=event_hooks, telemetry=telemetry, capabilities=capabilities,
                validate=validate,
                clock=clock, api_version=api_version, default_headers=default_headers,
                default_query=default_query, verify_ssl=verify_ssl,
                connection_limit=connection_limit)

        self._runtime = Runtime(build)
        self._copy_of: VideoClient | None = None

    @classmethod
    def from_env(cls, **kwargs: Any) -> SyncVideoClient:
        """Build from ``AZURE_OPENAI_ENDPOINT`` and ``AZURE_OPENAI_API_KEY``.

        As :meth:`~foundry_video.VideoClient.from_env`: without a key, Microsoft Entra ID
        (``DefaultAzureCredential``, extra ``foundry-video[entra]``), which the client then
        owns and closes. ``kwargs`` are constructor arguments.
        """
        from .._client import VideoClient

        return cls._started(lambda: VideoClient.from_env(**kwargs))

    @classmethod
    def _started(cls, build: Callable[[], VideoClient]) -> SyncVideoClient:
        client = cls.__new__(cls)
        client._runtime = Runtime(build)
        client._copy_of = None
        return client

    @property
    def _client(self) -> VideoClient:
        return self._copy_of or self._runtime.client

    def with_options(self, **settings: Any) -> SyncVideoClient:
        """A copy with other settings (``timeout=``, ``max_retries=``, ...), sharing this
        client's event-loop thread and connection pool (see
        :meth:`VideoClient.with_options <foundry_video.VideoClient.with_options>`).
        Closing the copy leaves this client open; closing this client closes the copies."""
        copy = type(self).__new__(type(self))
        copy._runtime = self._runtime
        copy._copy_of = self._runtime.call_soon(lambda: self._client.with_options(**settings))
        return copy

    def request(
        self,
        method: Literal["GET", "POST", "DELETE", "HEAD"],
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        json: object = None,
        idempotent: bool | None = None,
        **options: Unpack[RequestOptions],
    ) -> Response:
        """Send any API request through the client's auth, retries and error mapping
        (blocking :meth:`VideoClient.request <foundry_video.VideoClient.request>`)."""
        return self._runtime.call(self._client.request, method, path, params=params, json=json,
                                  idempotent=idempotent, **options)

    @property
    def base_url(self) -> str:
        """The API base URL requests go to (``.../openai/v1`` on Azure)."""
        return self._client.base_url

    @property
    def flavor(self) -> Flavor:
        """``"azure"`` or ``"openai"``: which header carries the key, and the paths."""
        return self._client.flavor

    @property
    def capabilities(self) -> CapabilityTable:
        """The per-model limits table parameters are checked against."""
        return self._client.capabilities

    @cached_property
    def videos(self) -> SyncVideos:
        """Sora 2 videos: create, retrieve, list, delete, remix, edit, extend, download, job."""
        return SyncVideos(self._runtime, self._runtime.call_soon(lambda: self._client.videos))

    @cached_property
    def generation_jobs(self) -> SyncGenerationJobs:
        """Sora 1 generation jobs (Azure preview API): create, retrieve, list, delete, download, job."""
        return SyncGenerationJobs(self._runtime,
                                  self._runtime.call_soon(lambda: self._client.generation_jobs))

    @property
    def closed(self) -> bool:
        """True once the client is closed."""
        return self._runtime.closed

    def close(self) -> None:
        """Stop running calls, close the HTTP session and the event-loop thread. Idempotent.

        A copy made by :meth:`with_options` only closes itself."""
        if self._copy_of is not None:
            if not self._runtime.closed:
                self._runtime.call(self._copy_of.close)
            return
        self._runtime.close()

    def __enter__(self) -> SyncVideoClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SyncVideoClient(endpoint={self._client.base_url!r}, auth={self._client.auth!r})"
