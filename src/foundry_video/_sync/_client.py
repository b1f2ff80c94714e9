"""SyncVideoClient: the async client, driven from a private event-loop thread."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._resources import SyncGenerationJobs, SyncVideos
from ._runtime import Runtime

if TYPE_CHECKING:
    from .._auth import Auth, Flavor
    from .._client import VideoClient
    from .._clock import Clock
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
    session belongs to the event loop that made it).
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
        capabilities: CapabilityTable | None = None,
        validate: bool = True,
        clock: Clock | None = None,
        api_version: str | None = None,
        default_headers: dict[str, str] | None = None,
        verify_ssl: bool = True,
        connection_limit: int = 100,
    ) -> None:
        from .._client import VideoClient

        def build() -> VideoClient:
            return VideoClient(
                endpoint, auth=auth, timeout=timeout, connect_timeout=connect_timeout,
                max_retries=max_retries, poll_interval=poll_interval,
                max_poll_interval=max_poll_interval, capabilities=capabilities,
                validate=validate, clock=clock, api_version=api_version,
                default_headers=default_headers, verify_ssl=verify_ssl,
                connection_limit=connection_limit)

        self._runtime = Runtime(build)

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
        return client

    @property
    def _client(self) -> VideoClient:
        return self._runtime.client

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
        """Stop running calls, close the HTTP session and the event-loop thread. Idempotent."""
        self._runtime.close()

    def __enter__(self) -> SyncVideoClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SyncVideoClient(endpoint={self._client.base_url!r}, auth={self._client.auth!r})"
