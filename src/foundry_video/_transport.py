"""HTTP plumbing: one lazily created aiohttp session, retries, error mapping, redacted logs."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
import anyio.to_thread
import yarl

from ._auth import Auth, Flavor
from ._clock import Clock
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    UnexpectedResponseError,
)
from ._retry import MAX_SERVER_DELAY, RetryPolicy, retry_after_seconds
from ._version import __version__
from ._wire import make_status_error, request_id_from

logger = logging.getLogger("foundry_video")

MAX_JSON_BYTES = 16 * 1024 * 1024
STREAM_READ_BUFFER = 4 << 20
"""aiohttp's read buffer for downloads (its 64 KiB default pauses the socket far more often)."""
# On Python 3.10 asyncio.TimeoutError (raised by aiohttp's total timeout) is not the builtin.
TIMEOUT_ERRORS = (TimeoutError, asyncio.TimeoutError)
CONNECTION_ERRORS = (aiohttp.ClientError, TimeoutError, asyncio.TimeoutError)
BodyFactory = Callable[[], Any]
"""Builds a fresh request body per attempt (FormData objects cannot be sent twice)."""


@dataclass(frozen=True)
class Response:
    """A complete JSON (or empty) response."""

    status: int
    headers: Mapping[str, str]
    body: Any
    path: str = ""
    """The API path requested (e.g. ``/videos/video_1``), for checks of the body against it."""

    @property
    def request_id(self) -> str | None:
        """The service's request id, if it sent one."""
        return request_id_from(self.headers)


class Redactor:
    """Replaces every known secret in a string with ``<redacted>``."""

    def __init__(self, auth: Auth | None) -> None:
        self._auth = auth

    def __call__(self, text: str) -> str:
        if self._auth is not None:
            for secret in self._auth.secrets:
                if secret:
                    text = text.replace(secret, "<redacted>")
        return text


def _is_safe_connect_error(exc: BaseException) -> bool:
    """True when the request certainly never reached the server (so a POST may be re-sent)."""
    return isinstance(exc, aiohttp.ClientConnectorError) and not isinstance(
        exc, aiohttp.ClientSSLError
    )


def url_path(path: str) -> str:
    """An API path for log lines (never a full URL with a query)."""
    return path.split("?", 1)[0]


async def _read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, or the first ``limit + 1`` bytes of a larger one.

    ``StreamReader.read(n)`` returns as soon as *some* bytes are buffered, so one call may
    hand back only the first TCP segments of a perfectly healthy response: read to EOF.
    A body cut short of its Content-Length raises ``ClientPayloadError`` here.
    """
    buffer = bytearray()
    while len(buffer) <= limit:
        chunk = await response.content.read(limit + 1 - len(buffer))
        if not chunk:
            break
        buffer += chunk
    return bytes(buffer)


def _not_resent(error: APIConnectionError, method: str, path: str) -> APIConnectionError:
    """Say why a failed non-idempotent request (a create) was not retried."""
    error.message += (f" ({method} {url_path(path)} was not retried: it may have reached the "
                      "service, and sending it again could start a second job)")
    error.args = (error.message,)
    return error


def _redact_value(value: Any, redact: Callable[[str], str]) -> Any:
    """``value`` (a parsed JSON body) with every string passed through ``redact``."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _redact_value(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v, redact) for v in value]
    return value


class Transport:
    """Sends requests for one client. Not public: use :class:`~foundry_video.VideoClient`."""

    def __init__(
        self,
        *,
        base_url: str,
        flavor: Flavor,
        auth: Auth | None,
        clock: Clock,
        retry: RetryPolicy,
        timeout: float,
        connect_timeout: float,
        session: aiohttp.ClientSession | None = None,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str] | None = None,
        verify_ssl: bool = True,
        connection_limit: int = 100,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.flavor: Flavor = flavor
        self.auth = auth
        self.clock = clock
        self.retry = retry
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.default_headers = {"User-Agent": f"foundry-video/{__version__}",
                                **(default_headers or {})}
        self.default_query = dict(default_query or {})
        self.verify_ssl = verify_ssl
        self.connection_limit = connection_limit
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self._rng = random.Random()
        self.redact = Redactor(auth)
        self._proxies: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    # -- session lifecycle -------------------------------------------------------------

    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session, created on first use inside the running event loop."""
        if self._closed:
            raise RuntimeError("this VideoClient is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.connection_limit, ssl=self.verify_ssl
            )
            # trust_env=False: with True, aiohttp makes two thread hops per request (a
            # ~/.netrc read and a proxy lookup) and may attach ~/.netrc credentials. The
            # environment's proxy is resolved once per origin in _proxy_for instead.
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def _proxy_for(self, url: str) -> tuple[Any, Any]:
        """``(proxy, proxy_auth)`` from HTTP(S)_PROXY/NO_PROXY for ``url``'s origin, cached."""
        parsed = yarl.URL(url)
        origin = (parsed.scheme, parsed.host, parsed.port)
        cached = self._proxies.get(origin)
        if cached is None:
            def lookup() -> tuple[Any, Any]:
                try:
                    return aiohttp.helpers.get_env_proxy_for_url(parsed)
                except LookupError:
                    return None, None

            cached = self._proxies[origin] = await anyio.to_thread.run_sync(lookup)
        return cached

    async def aclose(self) -> None:
        """Close the session if this transport created it. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    # -- requests ----------------------------------------------------------------------

    def url(self, path: str) -> str:
        """Absolute URL for an API path such as ``/videos``."""
        return self.base_url + path

    async def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = dict(self.default_headers)
        if self.auth is not None:
            headers.update(await self.auth.headers(self.flavor))
        if extra:
            headers.update(extra)
        return headers

    def _timeout(self, *, stream: bool, override: float | None) -> aiohttp.ClientTimeout:
        read = self.timeout if override is None else override
        if stream:
            # A multi-GB download may take long in total; only stalls are errors.
            return aiohttp.ClientTimeout(total=None, connect=self.connect_timeout, sock_read=read)
        return aiohttp.ClientTimeout(total=read, connect=self.connect_timeout)

    @asynccontextmanager
    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        body: BodyFactory | None,
        headers: Mapping[str, str] | None,
        idempotent: bool,
        stream: bool,
        timeout: float | None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send with retries; yield the first acceptable (2xx) response, raise otherwise."""
        query = {**self.default_query, **{k: v for k, v in (params or {}).items() if v is not None}}
        url = self.url(path)
        attempt = 0
        refreshed_auth = False
        while True:
            request_headers = await self._headers(headers)
            data = body() if body is not None else None
            start = self.clock.monotonic()
            logger.debug("request %s %s attempt=%d", method, url, attempt + 1)
            try:
                proxy, proxy_auth = await self._proxy_for(url)
                response = await self.session().request(
                    method, url, params=query, data=data, headers=request_headers,
                    proxy=proxy, proxy_auth=proxy_auth,
                    read_bufsize=STREAM_READ_BUFFER if stream else None,
                    timeout=self._timeout(stream=stream, override=timeout), allow_redirects=True,
                )
            except CONNECTION_ERRORS as exc:
                error = self._connection_error(exc)
                retriable = idempotent or _is_safe_connect_error(exc)
                delay = self.retry.delay(attempt, rng=self._rng) if retriable else None
                if delay is None or attempt >= self.retry.max_retries:
                    raise (error if retriable else _not_resent(error, method, path)) from None
                logger.info("retrying %s %s in %.2fs after %s", method, url, delay,
                            type(exc).__name__)
                attempt += 1
                await self.clock.sleep(delay)
                continue

            request_id = request_id_from(response.headers)
            logger.debug("response %s %s -> %d in %.3fs request_id=%s", method, url,
                         response.status, self.clock.monotonic() - start, request_id)
            if response.status < 400:
                try:
                    yield response
                finally:
                    response.release()
                return

            try:
                raw = await response.read()
            except CONNECTION_ERRORS:
                raw = b""
            finally:
                response.release()
            error_obj = make_status_error(response.status, response.headers,
                                          raw[:MAX_JSON_BYTES], reason=response.reason)
            error_obj = self._redacted(error_obj)
            if (isinstance(error_obj, AuthenticationError) and not refreshed_auth
                    and self.auth is not None and await self.auth.invalidate()):
                refreshed_auth = True
                logger.info("401 from %s %s: refreshing credentials once", method, url)
                continue
            retriable = self.retry.should_retry_status(response.status, response.headers) and (
                idempotent or response.status == 429
                or response.headers.get("x-should-retry") == "true"
            )
            delay = (self.retry.delay(attempt, response.headers, rng=self._rng,
                                      now=self._hint_now(response.headers))
                     if retriable else None)
            if delay is None or attempt >= self.retry.max_retries:
                logger.debug("giving up on %s %s: %s", method, url, error_obj)
                raise error_obj
            logger.info("retrying %s %s in %.2fs after HTTP %d (request id %s)", method, url,
                        delay, response.status, request_id)
            attempt += 1
            await self.clock.sleep(delay)

    def _hint_now(self, headers: Mapping[str, str]) -> float:
        """The Unix time an HTTP-date ``Retry-After`` is measured from.

        The clock the client sleeps on, so a ManualClock shared with the emulator waits
        exactly what the emulator asked (measured against ``time.time()`` a date stamped
        on the shared clock decayed to 0). A date that only makes sense against the real
        wall clock (a server that does not share a test clock) is measured against that.
        With the default SystemClock both are the same.
        """
        now = self.clock.time()
        hinted = retry_after_seconds(headers, now=now)
        if hinted is not None and not 0 < hinted <= MAX_SERVER_DELAY:
            real = time.time()
            fallback = retry_after_seconds(headers, now=real)
            if fallback is not None and 0 < fallback <= MAX_SERVER_DELAY:
                return real
        return now

    def _connection_error(self, exc: BaseException, *,
                          request_id: str | None = None) -> APIConnectionError:
        detail = self.redact(str(exc)) or type(exc).__name__
        if isinstance(exc, TIMEOUT_ERRORS):
            return APITimeoutError(f"Request timed out: {detail}", request_id=request_id)
        return APIConnectionError(f"Connection error: {type(exc).__name__}: {detail}",
                                  request_id=request_id)

    def _redacted(self, error: APIStatusError) -> APIStatusError:
        error.message = self.redact(error.message)
        error.args = (self.redact(str(error)),)
        # The parsed body travels on the exception too (and into users' logs): a service
        # that echoes the key back in an error body must not leak it that way either.
        error.body = _redact_value(error.body, self.redact)
        error.param, error.code, error.type = (None if v is None else self.redact(v)
                                               for v in (error.param, error.code, error.type))
        error.headers = {k: self.redact(v) for k, v in error.headers.items()}
        return error

    async def request(
        self,
        method: Literal["GET", "POST", "DELETE", "HEAD"],
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: BodyFactory | None = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Send a request and return its decoded JSON body (``None`` for an empty body)."""
        body: BodyFactory | None = form
        headers: dict[str, str] = {"Accept": "application/json"}
        if json_body is not None:
            payload = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"

            def body() -> bytes:
                return payload

        if idempotent is None:
            idempotent = method in ("GET", "DELETE", "HEAD")
        attempt = 0
        while True:
            failure: APIConnectionError | None = None
            async with self._send(method, path, params=params, body=body, headers=headers,
                                  idempotent=idempotent, stream=False,
                                  timeout=timeout) as response:
                headers_out = response.headers
                status = response.status
                try:
                    raw = await _read_body(response, MAX_JSON_BYTES)
                except CONNECTION_ERRORS as exc:
                    # Cut off, truncated (short of Content-Length) or stalled mid-body.
                    failure = self._connection_error(exc, request_id=request_id_from(headers_out))
            if failure is None:
                break
            # The status line arrived, so the server did act: only an idempotent request
            # may be sent again (a create may have made a job already).
            if not idempotent:
                raise _not_resent(failure, method, path)
            if attempt >= self.retry.max_retries:
                raise failure
            delay = self.retry.delay(attempt, rng=self._rng) or 0.0
            logger.info("retrying %s %s in %.2fs after an incomplete body (request id %s)",
                        method, url_path(path), delay, failure.request_id)
            attempt += 1
            await self.clock.sleep(delay)
        if len(raw) > MAX_JSON_BYTES:
            raise UnexpectedResponseError(
                f"response body exceeds {MAX_JSON_BYTES} bytes", status_code=status,
                request_id=request_id_from(headers_out), headers=dict(headers_out))
        if not raw.strip():
            return Response(status, headers_out, None, path)
        try:
            decoded = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
            raise UnexpectedResponseError(
                f"expected JSON from {method} {path}, got {raw[:80]!r}", status_code=status,
                request_id=request_id_from(headers_out), headers=dict(headers_out)) from None
        return Response(status, headers_out, decoded, path)

    @asynccontextmanager
    async def stream(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """GET a binary body; yields the open response for chunked reading."""
        merged = {"Accept": "application/binary", **(headers or {})}
        async with self._send("GET", path, params=params, body=None, headers=merged,
                              idempotent=True, stream=True, timeout=timeout) as response:
            yield response
