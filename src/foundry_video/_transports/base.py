"""The transport seam: the one object that carries an HTTP request to the network and back.

Everything above it (auth, redirects, retries, bounded reads, error mapping) is the
request pipeline's job and is the same for every transport. A transport only sends one
request and hands back the status, the headers and a body stream, exactly as received,
except that a ``Content-Encoding`` the transport understands is decoded (with bounded
memory) before the bytes reach the pipeline, which counts what it reads.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Protocol, cast, runtime_checkable

import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from .._wire import request_id_from

__all__ = ["AsyncByteStream", "AsyncTransport", "ByteStream", "Request", "Response"]

HeadersInput = Mapping[str, str] | Iterable[tuple[str, str]]


class Request:
    """One HTTP request as the pipeline hands it to a transport (and to event hooks).

    Attributes:
        method: ``GET``, ``POST``, ``DELETE`` or ``HEAD``.
        url: the absolute URL, query included (a :class:`yarl.URL`).
        headers: case-insensitive headers, credentials included (hooks may add headers;
            never log them whole).
        content: the body bytes, or ``None``.
        timeout: seconds the transport may wait for the connection, the response headers,
            or any one read of the body.
        connect_timeout: seconds to establish a connection.
        extensions: facts about the call for hooks and transports: ``attempt`` (1-based),
            ``redirect`` (hop number, 0 for the first request), ``stream`` (a body read
            incrementally), ``operation`` (e.g. ``"GET /videos/{id}"``).
    """

    __slots__ = ("connect_timeout", "content", "extensions", "headers", "method", "timeout", "url")

    def __init__(self, method: str, url: str | yarl.URL, *, headers: HeadersInput | None = None,
                 content: bytes | None = None, timeout: float = 60.0,
                 connect_timeout: float = 10.0,
                 extensions: dict[str, object] | None = None) -> None:
        self.method = method.upper()
        self.url = url if isinstance(url, yarl.URL) else yarl.URL(url)
        self.headers: CIMultiDict[str] = CIMultiDict(headers or ())
        self.content = content
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.extensions: dict[str, object] = extensions if extensions is not None else {}

    def json(self) -> object:
        """The body decoded as JSON (for handlers of :class:`MockTransport`)."""
        return jsonlib.loads(self.content or b"null")

    def __repr__(self) -> str:
        # The URL without its query: a query may carry a SAS token or similar.
        return f"<Request {self.method} {self.url.with_query(None)}>"


@runtime_checkable
class ByteStream(Protocol):
    """A response body read in pieces: ``await read(n)`` gives at most ``n`` bytes, ``b""`` at
    the end. ``aclose()`` releases the connection (safe to call twice)."""

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` once the body is complete."""
        ...

    async def aclose(self) -> None:
        """Release the underlying connection."""
        ...


class _BytesStream:
    """A body already in memory."""

    __slots__ = ("_data", "_offset")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    async def read(self, n: int) -> bytes:
        chunk = self._data[self._offset:self._offset + n]
        self._offset += len(chunk)
        return chunk

    async def aclose(self) -> None:
        return None


class AsyncByteStream:
    """A body produced by a (sync or async) iterable of byte chunks, e.g. in a mock handler
    that streams slowly, lies about its length, or fails half-way by raising."""

    def __init__(self, chunks: Iterable[bytes] | AsyncIterable[bytes]) -> None:
        self._iterator: AsyncIterator[bytes] = _aiter(chunks)
        self._pending = b""
        self._done = False

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes from the next chunk(s)."""
        while not self._pending and not self._done:
            try:
                self._pending = bytes(await anext(self._iterator))
            except StopAsyncIteration:
                self._done = True
        chunk, self._pending = self._pending[:n], self._pending[n:]
        return chunk

    async def aclose(self) -> None:
        """Stop the producer (its ``finally`` blocks run)."""
        self._done = True
        closer = getattr(self._iterator, "aclose", None)
        if closer is not None:
            await closer()


async def _aiter(chunks: Iterable[bytes] | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    if isinstance(chunks, AsyncIterable):
        async for chunk in chunks:
            yield chunk
    else:
        for chunk in chunks:
            yield chunk


_NO_JSON = object()


class Response:
    """An HTTP response: status, headers and a body that is read once.

    Transports (and :class:`~foundry_video.testing.MockTransport` handlers) build it:
    ``Response(200, json={...})``, ``Response(206, content=b"...", headers={...})``, or
    ``Response(200, stream=chunks)`` for a body that arrives in pieces. Bytes content gets
    a ``Content-Length`` unless the headers already say otherwise (a handler may lie).

    The pipeline reads the body within its limits; a response returned by
    :meth:`VideoClient.request <foundry_video.VideoClient.request>` has ``content``
    available and offers :meth:`json`.
    """

    def __init__(
        self,
        status_code: int,
        *,
        headers: HeadersInput | None = None,
        content: bytes | Iterable[bytes] | AsyncIterable[bytes] | None = None,
        json: object = _NO_JSON,
        text: str | None = None,
        stream: ByteStream | None = None,
        reason: str | None = None,
        request: Request | None = None,
    ) -> None:
        self.status_code = status_code
        self.reason = reason or ""
        self.request = request
        if isinstance(headers, CIMultiDictProxy) and json is _NO_JSON and text is None \
                and content is None:
            # A transport's own headers, passed through without a copy (the hot path).
            self.headers: CIMultiDictProxy[str] = headers
            self._stream: ByteStream = stream if stream is not None else _BytesStream(b"")
            self._content: bytes | None = None
            return
        headers_out: CIMultiDict[str] = CIMultiDict(headers or ())
        body: bytes | None = None
        if json is not _NO_JSON:
            body = jsonlib.dumps(json).encode()
            headers_out.setdefault("Content-Type", "application/json")
        elif text is not None:
            body = text.encode()
            headers_out.setdefault("Content-Type", "text/plain; charset=utf-8")
        elif isinstance(content, (bytes, bytearray, memoryview)):
            body = bytes(content)
        if body is not None:
            headers_out.setdefault("Content-Length", str(len(body)))
            self._stream = _BytesStream(body)
        elif content is not None:
            self._stream = AsyncByteStream(cast("Iterable[bytes] | AsyncIterable[bytes]", content))
        else:
            self._stream = stream if stream is not None else _BytesStream(b"")
        self.headers = CIMultiDictProxy(headers_out)
        self._content = None

    @property
    def stream(self) -> ByteStream:
        """The body stream (read it once; the pipeline does this for you)."""
        return self._stream

    @property
    def request_id(self) -> str | None:
        """The service's request id (``x-request-id`` or Azure's ``apim-request-id``)."""
        return request_id_from(self.headers)

    @property
    def content(self) -> bytes:
        """The body, once read (raises ``RuntimeError`` before)."""
        if self._content is None:
            raise RuntimeError("the body has not been read; use VideoClient.request(), "
                               "which reads it within the client's limits")
        return self._content

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> object:
        """The body decoded as JSON (``ValueError`` if it is not JSON)."""
        return jsonlib.loads(self.content)

    async def aread(self, limit: int) -> bytes:
        """Read the whole body, or its first ``limit + 1`` bytes when it is larger, then release
        the connection. The result is kept in :attr:`content`."""
        chunks: list[bytes] = []
        size = 0
        try:
            while size <= limit:
                chunk = await self._stream.read(limit + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            await self._stream.aclose()
        self._content = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return self._content

    async def aclose(self) -> None:
        """Release the connection without reading the rest of the body."""
        await self._stream.aclose()

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


@runtime_checkable
class AsyncTransport(Protocol):
    """What :class:`~foundry_video.VideoClient` needs to send requests.

    ``VideoClient(transport=...)`` accepts any object with these two methods: the default
    is the aiohttp transport; tests use :class:`~foundry_video.testing.MockTransport`.
    A transport does not follow redirects, retry, or add credentials: the pipeline does.
    It should honour ``request.timeout`` / ``request.connect_timeout``: the pipeline bounds
    each attempt itself, and each read of a streamed body too, unless the transport has a
    true ``enforces_read_timeout`` attribute (then a stall is the transport's to detect).
    """

    async def handle_async_request(self, request: Request) -> Response:
        """Send ``request`` and return the response with its body unread."""
        ...

    async def aclose(self) -> None:
        """Release connections. Called once, when the client that owns it closes."""
        ...
