"""A scriptable HTTP service on 127.0.0.1 for SDK tests that need real sockets."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    content_type: str


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


def multipart_parts(recorded: Recorded) -> dict[str, list[tuple[str | None, str, bytes]]]:
    """Parse a recorded multipart/form-data body: name -> [(filename, content type, bytes)]."""
    import email
    import email.policy

    raw = (f"Content-Type: {recorded.headers['Content-Type']}\r\n\r\n").encode() + recorded.body
    message = email.message_from_bytes(raw, policy=email.policy.HTTP)
    parts: dict[str, list[tuple[str | None, str, bytes]]] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        parts.setdefault(name, []).append((part.get_filename(), part.get_content_type(), payload))
    return parts


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
