"""The default transport: one aiohttp session per event loop, no redirects, no cookies."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import anyio.to_thread
import yarl

from .base import Request, Response

__all__ = ["AiohttpTransport"]

logger = logging.getLogger("foundry_video")

STREAM_READ_BUFFER = 4 << 20
"""aiohttp's read buffer (its 64 KiB default pauses the socket far more often on downloads)."""


class _AiohttpStream:
    """A response body read from aiohttp (already decoded: aiohttp inflates gzip/deflate
    in bounded steps with flow control, so a compression bomb cannot balloon memory)."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def read(self, n: int) -> bytes:
        return await self._response.content.read(n)

    async def aclose(self) -> None:
        # release() returns the connection to the pool only when the body was read to the
        # end; a partly read body closes the connection instead.
        self._response.release()


class AiohttpTransport:
    """Sends requests with aiohttp.

    The session is created lazily inside the running event loop, so a client can be made
    at import time or in one notebook cell and used in another. A ``session`` passed in
    belongs to the caller and is never closed here.

    Args:
        session: an ``aiohttp.ClientSession`` owned by the caller.
        verify_ssl: TLS certificate verification (only ever disable it explicitly).
        connection_limit: the connection pool size.
    """

    enforces_read_timeout = True
    """aiohttp bounds the connection, and every read of a streamed body, by the request's
    timeouts."""

    def __init__(self, *, session: aiohttp.ClientSession | None = None, verify_ssl: bool = True,
                 connection_limit: int = 100) -> None:
        self._session = session
        self._owns_session = session is None
        self._verify_ssl = verify_ssl
        self._connection_limit = connection_limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._proxies: dict[tuple[str, str | None, int | None], tuple[Any, Any]] = {}

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this VideoClient is closed")
        loop = asyncio.get_running_loop()
        if self._session is not None and self._owns_session and self._loop is not loop:
            self._abandon_session(loop)
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._connection_limit, ssl=self._verify_ssl)
            # trust_env=False: with True, aiohttp makes two thread hops per request (a
            # ~/.netrc read and a proxy lookup) and may attach ~/.netrc credentials. The
            # environment's proxy is resolved once per origin in _proxy_for instead.
            # DummyCookieJar: an API client has no use for cookies, and a cookie set by one
            # host must never ride along to another.
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True)
            self._loop = loop
        return self._session

    def _abandon_session(self, loop: asyncio.AbstractEventLoop) -> None:
        """The session belongs to another event loop (a second ``asyncio.run()``).

        If that loop is closed its connections are dead: drop them without the loop (no
        "Unclosed client session" noise) and start over in this loop. A session whose loop
        is still running in another thread cannot be shared.
        """
        if self._loop is not None and not self._loop.is_closed():
            raise RuntimeError(
                "this VideoClient is in use by another running event loop; create one client "
                "per event loop (or use SyncVideoClient from threads)")
        self._drop_dead_session()
        logger.debug("previous event loop closed; opening a new HTTP session in this one")

    def _drop_dead_session(self) -> None:
        """Forget a session whose event loop is closed, closing its sockets synchronously."""
        session, self._session = self._session, None
        if session is None:
            return
        connector = session.connector
        if connector is not None:
            connector._close()  # sync close: its loop is gone
        session._connector = None  # marks the session closed

    async def _proxy_for(self, url: yarl.URL) -> tuple[Any, Any]:
        """``(proxy, proxy_auth)`` from HTTP(S)_PROXY/NO_PROXY for ``url``'s origin, cached."""
        origin = (url.scheme, url.host, url.port)
        cached = self._proxies.get(origin)
        if cached is None:
            def lookup() -> tuple[Any, Any]:
                try:
                    return aiohttp.helpers.get_env_proxy_for_url(url)
                except LookupError:
                    return None, None

            cached = self._proxies[origin] = await anyio.to_thread.run_sync(lookup)
        return cached

    async def handle_async_request(self, request: Request) -> Response:
        """Send one request (no redirects followed) and return its unread response."""
        session = self._session_for_loop()
        proxy, proxy_auth = await self._proxy_for(request.url)
        stream = bool(request.extensions.get("stream"))
        # A streamed body's every read is bounded here (a stall); other requests are
        # bounded whole by the pipeline, so aiohttp need not re-arm a timer per packet.
        response = await session.request(
            request.method, request.url, data=request.content, headers=request.headers,
            proxy=proxy, proxy_auth=proxy_auth, allow_redirects=False,
            read_bufsize=STREAM_READ_BUFFER if stream else None,
            timeout=aiohttp.ClientTimeout(total=None, connect=request.connect_timeout,
                                          sock_read=request.timeout if stream else None),
        )
        return Response(response.status, headers=response.headers, reason=response.reason,
                        stream=_AiohttpStream(response), request=request)

    async def aclose(self) -> None:
        """Close the session if this transport created it. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        if not self._owns_session or self._session is None:
            return
        if self._loop is not None and self._loop.is_closed():
            self._drop_dead_session()
            return
        session, self._session = self._session, None
        await session.close()
