"""Pytest fixtures for applications that use foundry-video (a ``pytest11`` plugin).

Installed automatically with the package: nothing to import or register. Fixtures:

* ``video_clock`` — a :class:`~foundry_video.ManualClock` shared by emulator and client, so
  jobs that take minutes of virtual time finish instantly;
* ``video_emulator`` — a running :class:`~foundry_video.emulator.Emulator` on 127.0.0.1;
* ``video_client`` — a :class:`~foundry_video.VideoClient` connected to it;
* ``video_faults`` — a :class:`VideoFaults` helper to inject failures into the emulator;
* ``video_env`` — sets ``AZURE_OPENAI_ENDPOINT`` / ``AZURE_OPENAI_API_KEY`` to the emulator,
  for application code that builds its own client with :meth:`VideoClient.from_env`.

And, for unit tests without any server, :class:`MockTransport`: a transport answering from
a plain function (``VideoClient(..., transport=MockTransport(handler))``).

Configure the emulator per test with the ``video_emulator`` marker (keywords go to
:class:`~foundry_video.emulator.Emulator`), and the client with the ``video_client``
marker (keywords go to :class:`~foundry_video.VideoClient`)::

    @pytest.mark.video_emulator(job_seconds=120, create_rate_limit=2)
    @pytest.mark.video_client(max_retries=0)
    async def test_my_app(video_client): ...

For a whole module or project, override the ``video_emulator_options`` /
``video_client_options`` fixtures in a ``conftest.py``; markers are applied on top.

The async fixtures run under pytest-asyncio (auto or strict mode) when it is installed,
otherwise under the anyio pytest plugin. This module is imported by every pytest run in
an environment where foundry-video is installed, so it imports nothing heavy at module
level.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from ._client import VideoClient
    from ._clock import ManualClock
    from ._transports.mock import MockTransport as MockTransport
    from .emulator import Emulator, Fault, FaultKind

_F = TypeVar("_F", bound=Callable[..., Any])


def __getattr__(name: str) -> Any:
    # MockTransport is imported on demand: this module is loaded by every pytest run in an
    # environment with foundry-video installed, and must stay light.
    if name == "MockTransport":
        from ._transports.mock import MockTransport

        return MockTransport
    raise AttributeError(f"module 'foundry_video.testing' has no attribute {name!r}")


def _fixture_decorator() -> Callable[[Any], Any]:
    try:  # pytest-asyncio's decorator works in both its "auto" and "strict" modes.
        import pytest_asyncio
    except ImportError:  # pragma: no cover - depends on the environment
        return pytest.fixture  # run by the anyio pytest plugin instead
    return pytest_asyncio.fixture


_FIXTURE = _fixture_decorator()


def _async_fixture(function: _F) -> _F:
    """Declare an async fixture for whichever async pytest plugin is installed."""
    return cast(_F, _FIXTURE(function))

__all__ = [
    "TEST_API_KEY",
    "MockTransport",
    "VideoFaults",
    "video_client",
    "video_client_options",
    "video_clock",
    "video_emulator",
    "video_emulator_options",
    "video_env",
    "video_faults",
]

TEST_API_KEY = "test-key"
"""The API key the ``video_emulator`` accepts and ``video_client`` sends."""

_EMULATOR_MARK = "video_emulator"
_CLIENT_MARK = "video_client"


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers, so ``--strict-markers`` runs accept them."""
    config.addinivalue_line(
        "markers",
        f"{_EMULATOR_MARK}(**options): keyword arguments for the foundry-video emulator behind "
        "the video_emulator fixture (job_seconds=, queue_seconds=, progress_curve=, "
        "poll_after_ms=, create_rate_limit=, "
        "renderer='placeholder'|'pyav'|<Renderer>, ...)")
    config.addinivalue_line(
        "markers",
        f"{_CLIENT_MARK}(**options): keyword arguments for the VideoClient of the video_client "
        "fixture (max_retries=, timeout=, poll_interval=, ...)")


def _marker_options(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    """Keyword arguments of every ``name`` marker, the closest (the test's own) winning."""
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(name))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{name} takes keyword arguments only")
        options.update(marker.kwargs)
    return options


def _renderer(choice: Any) -> Any:
    """Resolve the ``renderer`` option: ``"auto"``, ``"pyav"``, ``"placeholder"`` or an object."""
    if choice == "auto":
        choice = "pyav" if importlib.util.find_spec("av") is not None else "placeholder"
    if choice == "pyav":
        return None  # the emulator's default: real MP4s, PyAV imported on first render
    if choice == "placeholder":
        from .emulator import PlaceholderRenderer

        return PlaceholderRenderer()
    if isinstance(choice, str):
        raise pytest.UsageError(f"renderer must be 'auto', 'pyav', 'placeholder' or a Renderer, "
                                f"not {choice!r}")
    return choice


@pytest.fixture
def video_clock() -> ManualClock:
    """A virtual clock that jumps forward whenever the SDK or the emulator sleeps.

    Override it to control time yourself, e.g. ``ManualClock(auto_advance=False)`` and
    ``video_clock.advance(30)`` in the test.
    """
    from ._clock import ManualClock

    return ManualClock()


@pytest.fixture
def video_emulator_options() -> dict[str, Any]:
    """Default keyword arguments for the emulator; override this fixture in a ``conftest.py``.

    ``renderer`` also accepts ``"auto"`` (the default: real MP4s when PyAV is installed,
    else fast placeholder bytes), ``"pyav"`` and ``"placeholder"``.
    """
    return {"api_keys": {TEST_API_KEY}, "renderer": "auto"}


@pytest.fixture
def video_client_options() -> dict[str, Any]:
    """Default keyword arguments for the ``video_client``; override it in a ``conftest.py``."""
    return {}


@_async_fixture
async def video_emulator(
    request: pytest.FixtureRequest,
    video_clock: ManualClock,
    video_emulator_options: dict[str, Any],
) -> AsyncIterator[Emulator]:
    """A running emulator on a random 127.0.0.1 port, driven by ``video_clock``.

    Keywords of a ``@pytest.mark.video_emulator(...)`` marker override
    ``video_emulator_options``. Inspect ``video_emulator.requests`` (the request log) and
    ``video_emulator.videos`` (the job store) in assertions.
    """
    from .emulator import Emulator

    options = {**video_emulator_options, **_marker_options(request, _EMULATOR_MARK)}
    options.setdefault("clock", video_clock)
    options["renderer"] = _renderer(options.get("renderer", "auto"))
    async with Emulator(**options) as emulator:
        yield emulator


@_async_fixture
async def video_client(
    request: pytest.FixtureRequest,
    video_emulator: Emulator,
    video_client_options: dict[str, Any],
) -> AsyncIterator[VideoClient]:
    """A :class:`~foundry_video.VideoClient` for ``video_emulator``, sharing its clock.

    Keywords of a ``@pytest.mark.video_client(...)`` marker override
    ``video_client_options``.
    """
    from ._auth import ApiKeyAuth
    from ._client import VideoClient

    options = {**video_client_options, **_marker_options(request, _CLIENT_MARK)}
    options.setdefault("auth", ApiKeyAuth(TEST_API_KEY))
    options.setdefault("clock", video_emulator.clock)
    async with VideoClient(video_emulator.endpoint, **options) as client:
        yield client


class VideoFaults:
    """Inject failures into an emulator: ``video_faults.rate_limit(retry_after=2)``.

    Every method registers one :class:`~foundry_video.emulator.Fault` and returns it, so a
    test can assert ``fault.fired``. ``times`` is how many requests a fault affects
    (``None`` = until cleared). ``operation`` limits it to one API operation
    (``"create"``, ``"retrieve"``, ``"list"``, ``"delete"``, ``"remix"``, ``"content"``, ...);
    further keywords are :class:`~foundry_video.emulator.Fault` fields.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def inject(self, kind: FaultKind, **options: Any) -> Fault:
        """Register a fault of any kind (see :mod:`foundry_video.emulator`)."""
        from .emulator import Fault

        return self.emulator.inject(Fault(kind, **options))

    def rate_limit(self, *, retry_after: float | None = 1.0, times: int | None = 1,
                   operation: str | None = None, **options: Any) -> Fault:
        """429 with ``Retry-After: retry_after`` seconds (the SDK retries after that delay)."""
        return self.inject("rate_limit", retry_after=retry_after, times=times,
                           operation=operation, **options)

    def server_error(self, status: int = 500, *, times: int | None = 1,
                     operation: str | None = None, **options: Any) -> Fault:
        """A 500, 502, 503 or 504 answer."""
        return self.inject("server_error", status=status, times=times, operation=operation,
                           **options)

    def drop_connection(self, *, times: int | None = 1, operation: str | None = None,
                        **options: Any) -> Fault:
        """Close the connection without an answer (``stage="response"``: after the work).

        aiohttp resends an idempotent request (GET, DELETE) once by itself when the
        connection drops, so use ``times=2`` to make such a request fail.
        """
        return self.inject("drop_connection", times=times, operation=operation, **options)

    def truncate_download(self, after_bytes: int = 1024, *, times: int | None = 1,
                          **options: Any) -> Fault:
        """Cut a download off after ``after_bytes`` bytes (the SDK resumes with ``Range``)."""
        options.setdefault("operation", "content")
        return self.inject("truncate_body", after_bytes=after_bytes, times=times, **options)

    def content_policy(self, *, stage: str = "create", times: int | None = 1,
                       **options: Any) -> Fault:
        """A content-filter rejection: at ``"create"`` (HTTP 400) or at ``"completion"``
        (the job ends ``failed`` with a moderation code)."""
        return self.inject("content_policy", stage=stage, times=times, **options)

    def job_failed(self, *, code: str = "internal_error", message: str | None = None,
                   video_id: str | None = None, times: int | None = 1, **options: Any) -> Fault:
        """The next created job (or the job ``video_id``) ends ``failed`` with ``code``."""
        return self.inject("job_failed", code=code, message=message, video_id=video_id,
                           times=times, **options)

    def expire_content(self, video_id: str | None = None, *, times: int | None = 1,
                       **options: Any) -> Fault:
        """The completed video's assets have expired (downloads get 404)."""
        return self.inject("expire_content", video_id=video_id, times=times, **options)

    @property
    def pending(self) -> list[Fault]:
        """Faults that have not yet used up their ``times``."""
        return self.emulator.faults.pending

    def clear(self) -> None:
        """Remove every injected fault."""
        self.emulator.clear_faults()


@pytest.fixture
def video_faults(video_emulator: Emulator) -> VideoFaults:
    """A :class:`VideoFaults` bound to ``video_emulator``."""
    return VideoFaults(video_emulator)


@pytest.fixture
def video_env(video_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point ``AZURE_OPENAI_ENDPOINT`` / ``AZURE_OPENAI_API_KEY`` at ``video_emulator``.

    For code under test that builds its own client (``VideoClient()`` or
    :meth:`VideoClient.from_env`): such clients also get the emulator's clock by default
    for the duration of the test, so their jobs finish in virtual time as well.
    Returns the variables it set.
    """
    from . import _client

    env = {"AZURE_OPENAI_ENDPOINT": video_emulator.endpoint, "AZURE_OPENAI_API_KEY": TEST_API_KEY}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clock = video_emulator.clock
    monkeypatch.setattr(_client, "SystemClock", lambda: clock)
    return env
