"""Fakes of the service for SDK tests.

* :class:`MockService`: a scripted API behind :class:`~foundry_video.testing.MockTransport`
  (no sockets): the default for tests of SDK behaviour;
* :class:`FakeService`: a scriptable HTTP server on 127.0.0.1, for tests where real sockets
  matter (redirects across origins, what aiohttp puts on the wire);
* :class:`ThreadedEmulator`: the emulator on its own loop, for code that calls ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from aiohttp import web

from foundry_video import ApiKeyAuth, ManualClock, Request, Response, VideoClient
from foundry_video.testing import MockTransport

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    content_type: str


NO_QUERY: Mapping[str, str] = MappingProxyType({})
Answer = Response | Callable[[Request], "Response | Awaitable[Response]"] | BaseException
"""What a :class:`MockService` route answers: a response, a function of the request, or an
exception to raise (a network failure)."""


@dataclass
class _Route:
    answers: list[Answer]
    served: int = 0


class MockService:
    """A scripted API behind a :class:`MockTransport`: every request runs through the client's
    real pipeline (auth, redirects, retries, error mapping) and is recorded.

    ``route(method, path, *answers, query={})`` scripts one operation. ``path`` is relative
    to the API root (``/openai/v1``) and compared with the raw, still percent-encoded request
    path; the request's query must equal ``query`` exactly (by default: no query at all;
    ``query=None`` accepts any). The answers
    are given in turn, the last one repeating. A :class:`Response` can be served once (its body
    is a stream read once); to answer repeatedly, pass a function of the :class:`Request`
    (sync or async). Registering a route again replaces it.

    A request that matches no route, or asks a used-up ``Response`` again, raises
    ``AssertionError`` out of the call (the SDK maps network errors only, never this) and is
    kept in :attr:`unmatched`, which the ``mock_service`` fixture checks at teardown.
    """

    def __init__(self, endpoint: str, key: str, clock: ManualClock,
                 prefix: str = "/openai/v1") -> None:
        self.endpoint = endpoint
        self.key = key
        self.clock = clock
        self.prefix = prefix
        self.transport = MockTransport(self._handle)
        self.unmatched: list[Request] = []
        self._routes: dict[tuple[str, str, frozenset[tuple[str, str]] | None], _Route] = {}

    def route(self, method: str, path: str, *answers: Answer,
              query: Mapping[str, str] | None = NO_QUERY) -> None:
        """Answer ``method path`` with exactly ``query`` (``None``: any) with ``answers``."""
        if not answers:
            raise ValueError("a route needs at least one answer")
        key = (method.upper(), self.prefix + path,
               None if query is None else frozenset(query.items()))
        self._routes[key] = _Route(list(answers))

    def client(self, endpoint: str | None = None, **options: Any) -> VideoClient:
        """A client whose requests this service answers (the test's key and clock)."""
        options.setdefault("auth", ApiKeyAuth(self.key))
        options.setdefault("clock", self.clock)
        return VideoClient(endpoint or self.endpoint, transport=self.transport, **options)

    @property
    def requests(self) -> list[Request]:
        """Every request received, in order (retries and redirect hops included)."""
        return self.transport.requests

    def calls(self, method: str, path: str) -> list[Request]:
        """The requests received for ``method path`` (any query), in order."""
        return [r for r in self.requests
                if r.method == method.upper() and r.url.raw_path == self.prefix + path]

    def last(self, method: str, path: str) -> Request:
        """The last request received for ``method path``."""
        calls = self.calls(method, path)
        assert calls, f"no {method} {path} was sent"
        return calls[-1]

    async def _handle(self, request: Request) -> Response:
        query = frozenset(request.url.query.items())
        route = (self._routes.get((request.method, request.url.raw_path, query))
                 or self._routes.get((request.method, request.url.raw_path, None)))
        if route is None:
            self.unmatched.append(request)
            raise AssertionError(f"MockService: no route for {request.method} "
                                 f"{request.url.raw_path_qs}")
        index = min(route.served, len(route.answers) - 1)
        answer = route.answers[index]
        if isinstance(answer, Response) and route.served >= len(route.answers):
            self.unmatched.append(request)
            raise AssertionError(f"MockService: {request.method} {request.url.raw_path_qs} asked "
                                 "again, but its last answer is a Response (served once); "
                                 "answer with a function to repeat it")
        route.served += 1
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, Response):
            return answer
        outcome = answer(request)
        return await outcome if inspect.isawaitable(outcome) else outcome


def reply(status: int = 200, **response: Any) -> Callable[[Request], Response]:
    """A reusable answer: a function giving a fresh ``Response(status, **response)`` each time."""
    return lambda request: Response(status, **response)


@dataclass
class FakeService:
    """Routes ``(method, path)`` to handlers that tests set; records every request."""

    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.handlers[(method, path)] = handler
            return handler
        return register

    def json(self, method: str, path: str, payloads: list[Any] | Any, status: int = 200,
             headers: dict[str, str] | None = None) -> None:
        """Answer with each payload in turn (the last one repeats)."""
        queue = list(payloads) if isinstance(payloads, list) else [payloads]

        async def handler(request: web.Request) -> web.StreamResponse:
            payload = queue.pop(0) if len(queue) > 1 else queue[0]
            return web.json_response(payload, status=status, headers=headers)

        self.handlers[(method, path)] = handler

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Recorded(request.method, request.path, dict(request.query),
                                      dict(request.headers), body, request.content_type))
        handler = self.handlers.get((request.method, request.path))
        if handler is None:
            return web.json_response({"error": {"message": "no route", "code": "not_found"}},
                                     status=404)
        return await handler(request)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.runner = web.AppRunner(app, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def last(self, method: str, path: str) -> Recorded:
        return [r for r in self.requests if r.method == method and r.path == path][-1]


@asynccontextmanager
async def running(fake: FakeService | None = None) -> AsyncIterator[FakeService]:
    """A started FakeService (a new one unless given), stopped on exit."""
    fake = fake or FakeService()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def video(video_id: str = "video_1", status: str = "queued", progress: int = 0, **extra: Any
          ) -> dict[str, Any]:
    """A complete Video body as the service sends it."""
    body: dict[str, Any] = {
        "id": video_id, "object": "video", "model": "sora-2", "status": status,
        "progress": progress, "created_at": 1760627796, "completed_at": None,
        "expires_at": None, "prompt": "a cat", "size": "1280x720", "seconds": "8",
        "remixed_from_video_id": None, "error": None,
    }
    if status == "completed":
        body.update(progress=100, completed_at=1760627863, expires_at=4102444800)
    body.update(extra)
    return body


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def multipart_parts(content_type: str, body: bytes) -> dict[str, list[tuple[str | None, str, bytes]]]:
    """Parse a multipart/form-data body: name -> [(filename, content type, bytes)].

    ``content_type`` is the request's whole ``Content-Type`` header (boundary included).
    """
    import email
    import email.policy

    assert content_type.split(";", 1)[0].strip() == "multipart/form-data", content_type
    raw = f"Content-Type: {content_type}\r\n\r\n".encode() + body
    message = email.message_from_bytes(raw, policy=email.policy.HTTP)
    parts: dict[str, list[tuple[str | None, str, bytes]]] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        parts.setdefault(name, []).append((part.get_filename(), part.get_content_type(), payload))
    return parts


def request_parts(request: Request) -> dict[str, list[tuple[str | None, str, bytes]]]:
    """The multipart parts of a recorded :class:`Request` (see :func:`multipart_parts`)."""
    assert request.content is not None, "the request has no body"
    return multipart_parts(request.headers["Content-Type"], request.content)


class ThreadedEmulator:
    """An emulator on its own event loop in a thread, for code that calls ``asyncio.run``
    (the CLI's ``main``, docs snippets): ``with ThreadedEmulator(**options) as emu: ...``."""

    def __init__(self, **options: Any) -> None:
        from foundry_video.emulator import Emulator

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.emulator = Emulator(**options)

    def __enter__(self) -> Any:
        self.thread.start()
        self.run(self.emulator.start())
        return self.emulator

    def __exit__(self, *exc: object) -> None:
        self.run(self.emulator.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the emulator's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)


def fail_part_file_writes(monkeypatch: Any, write: Callable[[Any, bytes], int]) -> None:
    """Route every part file's ``handle.write(data)`` through ``write(handle, data)``: a
    local disk that fills up, vanishes or fails in any other way, for the tests."""
    from foundry_video._output import PartFile

    original = PartFile.open

    class Writer:
        def __init__(self, handle: Any) -> None:
            self._handle = handle

        def write(self, data: bytes) -> int:
            return write(self._handle, data)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._handle, name)

    def open_wrapped(target: Any, key: str) -> PartFile:
        part = original(target, key)
        part.handle = Writer(part.handle)  # type: ignore[assignment]
        return part

    monkeypatch.setattr(PartFile, "open", staticmethod(open_wrapped))
