"""The request pipeline: every HTTP request of the SDK passes through here, once.

For one API call, :meth:`Pipeline.call` runs, per attempt::

    auth headers (bounded by the timeout) → event hooks → transport → redirects
    (credentials stay with their origin) → bounded read → error mapping → retry?

with one retry budget for the whole call (:class:`~foundry_video._retry.Attempts`).
Resources, :class:`~foundry_video.Job` and downloads only ever call the pipeline.
"""

from __future__ import annotations

import asyncio
import inspect
import json as jsonlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar

import aiohttp
import yarl
from multidict import CIMultiDict

from ._auth import Auth, Flavor
from ._clock import Clock
from ._deadline import Deadline
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    CredentialError,
    FoundryVideoError,
    UnexpectedResponseError,
)
from ._options import (
    EventHooks,
    RequestOptions,
    RetryEvent,
    check_options,
    extra_body_of,
    operation_name,
)
from ._redact import Redactor, redact_error
from ._redirects import CREDENTIAL_HEADERS, next_request, origin_of
from ._retry import Attempts, RetryPolicy
from ._timeouts import time_limit
from ._transports.base import AsyncTransport, Request, Response
from ._version import __version__
from ._wire import make_status_error

if TYPE_CHECKING:
    from ._observe import JobObserver

__all__ = ["MAX_ERROR_BYTES", "MAX_JSON_BYTES", "NETWORK_ERRORS", "Pipeline"]

logger = logging.getLogger("foundry_video")

MAX_JSON_BYTES = 16 << 20
"""The largest JSON body accepted from the service (after decompression)."""
MAX_ERROR_BYTES = 256 << 10
"""How much of an error body is read (after decompression); the rest is dropped unread."""

Method = Literal["GET", "POST", "DELETE", "HEAD"]
T = TypeVar("T")
E = TypeVar("E", bound=BaseException)
# On Python 3.10 asyncio.TimeoutError (raised by aiohttp) is not the builtin TimeoutError.
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)
NETWORK_ERRORS = (aiohttp.ClientError, OSError, *_TIMEOUTS)
"""What a transport or a body read raises when the network fails."""
_JITTER = random.Random()
_EMPTY_CREDENTIALS = frozenset({"", "Bearer", "Bearer None", "None"})


def _reached_server(exc: BaseException) -> bool:
    """False when the request certainly never reached the server (so a create may be re-sent)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return isinstance(exc, aiohttp.ClientSSLError)
    return not isinstance(exc, ConnectionRefusedError)


@dataclass
class Call:
    """One API call: what to send, and how patient to be."""

    method: Method
    path: str
    params: Mapping[str, object] | None = None
    content: bytes | None = None
    content_type: str | None = None
    accept: str = "application/json"
    idempotent: bool = True
    stream: bool = False
    options: RequestOptions = field(default_factory=lambda: RequestOptions())
    attempts: Attempts | None = None
    deadline: Deadline | None = None


class Pipeline:
    """Runs API calls for one client. Not public: use :class:`~foundry_video.VideoClient`."""

    telemetry: JobObserver | None = None
    """Watches jobs when telemetry is on (see ``_observe.py``); ``None`` costs nothing."""

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
        transport: AsyncTransport,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, str] | None = None,
        event_hooks: EventHooks | None = None,
        max_redirects: int = 5,
        max_download_bytes: int | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.base_url = yarl.URL(base_url.rstrip("/"))
        self._base = str(self.base_url)
        self.flavor: Flavor = flavor
        self.auth = auth
        self.clock = clock
        self.retry = retry
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.transport = transport
        self.default_headers: CIMultiDict[str] = CIMultiDict(
            {"User-Agent": f"foundry-video/{__version__}"})
        self.default_headers.update(default_headers or {})  # "user-agent" replaces it
        self.default_query = dict(default_query or {})
        hooks = event_hooks or EventHooks()
        self._request_hooks = tuple(hooks.get("request", ()))
        self._response_hooks = tuple(hooks.get("response", ()))
        self._retry_hooks = tuple(hooks.get("retry", ()))
        self.max_redirects = max_redirects
        self.max_download_bytes = max_download_bytes
        self.redact = redactor or Redactor(lambda: auth.secrets if auth is not None else ())
        self._home = origin_of(self.base_url)

    # -- public entry points -----------------------------------------------------------

    async def request(self, method: Method, path: str, *,
                      params: Mapping[str, object] | None = None, json: object = None,
                      form: Callable[[], aiohttp.FormData] | None = None,
                      idempotent: bool | None = None,
                      options: RequestOptions | None = None,
                      attempts: Attempts | None = None,
                      deadline: Deadline | None = None) -> Response:
        """Send an API request; return the response with its body read (at most 16 MiB).

        ``json`` (a JSON body) or ``form`` (a multipart body factory) become the body, with
        ``options["extra_body"]`` merged in. Raises the mapped :class:`APIStatusError` for
        a 4xx/5xx, after the retries the policy allows.
        """
        opts = options or RequestOptions()
        if opts:
            check_options(opts)
        content, content_type = await _encode_body(json, form, extra_body_of(opts))
        call = Call(method, path, params=params, content=content, content_type=content_type,
                    idempotent=method in ("GET", "DELETE", "HEAD") if idempotent is None
                    else idempotent, options=opts, attempts=attempts, deadline=deadline)
        return await self.call(call, self._read_json)

    @asynccontextmanager
    async def stream(self, path: str, *, params: Mapping[str, object] | None = None,
                     headers: Mapping[str, str] | None = None,
                     attempts: Attempts | None = None,
                     deadline: Deadline | None = None) -> AsyncIterator[Response]:
        """GET a binary body: yields the open 2xx response for incremental reading.

        Sent with ``Accept-Encoding: identity``: a video is already compressed, and a byte
        count or ``Range`` offset must mean the same thing on both ends.
        """
        options = RequestOptions(extra_headers=dict(headers)) if headers else RequestOptions()
        call = Call("GET", path, params=params, accept="application/binary", stream=True,
                    options=options, attempts=attempts, deadline=deadline)
        response = await self.call(call, _as_is)
        try:
            yield response
        finally:
            await response.aclose()

    # -- the attempt loop --------------------------------------------------------------

    async def call(self, call: Call, consume: Callable[[Response], Awaitable[T]]) -> T:
        """Run ``call`` until ``consume`` accepts a response or the retry budget is spent.

        Each attempt (credentials, every redirect hop, and ``consume``) must finish within
        the call's timeout, and within the caller's deadline when there is one.
        """
        attempts = call.attempts or Attempts(self.retry.max_retries)
        timeout = call.options.get("timeout", self.timeout)
        while True:
            attempts.made += 1
            limit = timeout if call.deadline is None else call.deadline.bound(timeout)
            assert limit is not None
            request: Request | None = None
            response: Response | None = None
            reached = True
            try:
                async with time_limit(limit):
                    request, credentials = await self._build(call, attempts, limit)
                    response = await self._exchange(call, attempts, request, credentials)
                    request = response.request or request
                    if response.status_code >= 400:
                        raise await self._status_error(response)
                    return await consume(response)
            except FoundryVideoError as exc:
                error = exc
            except NETWORK_ERRORS as exc:
                if isinstance(exc, _TIMEOUTS):
                    if call.deadline is not None:
                        call.deadline.remaining()  # the caller's deadline passed: TimeoutError
                    if request is None:
                        raise CredentialError(
                            f"{type(self.auth).__name__}: the credential did not return a token "
                            f"within the request timeout ({limit:g}s)") from exc
                reached = _reached_server(exc)
                error = self.connection_error(
                    exc, request_id=response.request_id if response is not None else None)
            delay, cause = await self.retry_delay(error, attempts, idempotent=call.idempotent,
                                                  reached_server=reached)
            if delay is None:
                if isinstance(error, APIConnectionError) and not call.idempotent and reached:
                    _explain_not_resent(error, call)
                self.redacted(error)
                logger.debug("%s %s failed (%s): %s", call.method, call.path,
                             attempts.describe(), error)
                raise error
            await self.before_retry(request, attempts, delay, cause, error,
                                    what=f"{call.method} {call.path}", deadline=call.deadline)

    async def retry_delay(self, error: FoundryVideoError, attempts: Attempts, *,
                          idempotent: bool = True,
                          reached_server: bool) -> tuple[float | None, str]:
        """How long to wait before the next attempt, and why; ``None`` means give up.

        The one retry decision of the SDK: API calls, polls and download resumptions all
        ask here, each with its own :class:`Attempts` budget.
        """
        if not attempts.left:
            return None, ""
        if self.retry.auth_refresh_due(error, attempts) and self.auth is not None \
                and await self.auth.invalidate():
            attempts.refreshed_auth = True
            return 0.0, "auth_refresh"
        cause = self.retry.retry_cause(error, idempotent=idempotent,
                                       reached_server=reached_server)
        if cause is None:
            return None, ""
        headers = error.headers if isinstance(error, APIStatusError) else None
        delay = self.retry.delay(attempts.made - 1, headers, rng=_JITTER, clock=self.clock,
                                 hint_ceiling=attempts.hint_ceiling)
        return delay, cause

    async def before_retry(self, request: Request | None, attempts: Attempts, delay: float,
                           cause: str, error: FoundryVideoError, *, what: str,
                           deadline: Deadline | None) -> None:
        """Log, tell the ``retry`` hooks, and wait ``delay`` (within ``deadline``)."""
        logger.info("retrying %s in %.2fs after %s (%s done; request id %s)", what, delay,
                    cause, attempts.describe(), getattr(error, "request_id", None))
        if request is not None and self._retry_hooks:
            event = RetryEvent(request, attempts.made, delay, cause, error)
            for retry_hook in self._retry_hooks:
                await _run_hook(retry_hook, event)
        if deadline is not None:
            await deadline.sleep(delay)
        else:
            await self.clock.sleep(delay)

    async def _exchange(self, call: Call, attempts: Attempts, request: Request,
                        credentials: Mapping[str, str]) -> Response:
        """Send one attempt, following redirects; return the last response (its body unread)."""
        hop = 0
        while True:
            for hook in self._request_hooks:
                await _run_hook(hook, request)
            logger.debug("request %s %s %s", request.method, call.path, attempts.describe())
            response = await self.transport.handle_async_request(request)
            response.request = request
            for response_hook in self._response_hooks:
                await _run_hook(response_hook, response)
            logger.debug("response %s %s -> %d request_id=%s", request.method, call.path,
                         response.status_code, response.request_id)
            try:
                following = next_request(request, response, hop=hop,
                                         max_redirects=self.max_redirects, home=self._home,
                                         credentials=credentials)
            except BaseException:
                await response.aclose()
                raise
            if following is None:
                return response
            await response.aclose()
            logger.info("following redirect %d of %s %s (%d)", hop + 1, call.method, call.path,
                        response.status_code)
            request, hop = following, hop + 1

    async def _build(self, call: Call, attempts: Attempts,
                     timeout: float) -> tuple[Request, CIMultiDict[str]]:
        """The first request of an attempt, with fresh credentials; also returns those.

        Header names are case-insensitive: a later source (auth over defaults, per-request
        headers over both) replaces a header whatever its spelling, never adds a second one.
        """
        url = self._url(call)
        headers = self.default_headers.copy()
        headers["Accept"] = call.accept
        if call.stream:
            headers["Accept-Encoding"] = "identity"
        if call.content_type is not None:
            headers["Content-Type"] = call.content_type
        credentials: CIMultiDict[str] = CIMultiDict(await self._credentials())
        headers.update(credentials)
        extra = call.options.get("extra_headers")
        if extra:
            headers.update(extra)
            credentials.update({k: v for k, v in extra.items()
                                if k.lower() in CREDENTIAL_HEADERS})
        for value in credentials.values():
            self.redact.learn(value.removeprefix("Bearer ").strip())
        extensions: dict[str, object] = {"attempt": attempts.made, "redirect": 0,
                                         "stream": call.stream,
                                         "operation": operation_name(call.method, call.path)}
        return Request(call.method, url, headers=headers, content=call.content, timeout=timeout,
                       connect_timeout=min(self.connect_timeout, timeout),
                       extensions=extensions), credentials

    def _url(self, call: Call) -> yarl.URL:
        url = yarl.URL(self._base + call.path, encoded=True)  # ids are quoted already
        query = {**self.default_query}
        for key, value in (call.params or {}).items():
            if value is not None:
                query[key] = str(value)
        query.update(call.options.get("extra_query") or {})
        return url.update_query(query) if query else url

    async def _credentials(self) -> dict[str, str]:
        """The auth headers (the attempt's cancel scope bounds a provider that hangs)."""
        if self.auth is None:
            return {}
        try:
            headers = await self.auth.headers(self.flavor)
        except FoundryVideoError:
            raise
        except Exception as exc:
            raise CredentialError(f"{type(self.auth).__name__}: the credential failed: "
                                  f"{type(exc).__name__}: {self.redact(str(exc))}") from exc
        bad = [header for header, value in headers.items()
               if not isinstance(value, str) or value.strip() in _EMPTY_CREDENTIALS]
        if bad:
            raise CredentialError(f"{type(self.auth).__name__} produced an empty credential "
                                  f"for {', '.join(bad)}")
        return dict(headers)

    @property
    def reads_need_bounding(self) -> bool:
        """Whether body reads need the pipeline's own timeout (the transport does not bound
        each read by ``request.timeout`` itself)."""
        return not getattr(self.transport, "enforces_read_timeout", False)

    # -- reading -----------------------------------------------------------------------

    async def _status_error(self, response: Response) -> APIStatusError:
        """The mapped, redacted exception for a 4xx/5xx (its body read within a bound)."""
        try:
            raw = await response.aread(MAX_ERROR_BYTES)
        except NETWORK_ERRORS:
            raw = b""
        error = make_status_error(response.status_code, response.headers, raw[:MAX_ERROR_BYTES],
                                  reason=response.reason)
        return self.redacted(error)

    async def _read_json(self, response: Response) -> Response:
        try:
            raw = await response.aread(MAX_JSON_BYTES)
        except NETWORK_ERRORS as exc:
            # Cut off, truncated (short of Content-Length) or stalled mid-body: the status
            # line arrived, so only an idempotent request may be sent again.
            raise self.connection_error(exc, request_id=response.request_id) from None
        if len(raw) > MAX_JSON_BYTES:
            raise UnexpectedResponseError(
                f"response body exceeds {MAX_JSON_BYTES} bytes", status_code=response.status_code,
                request_id=response.request_id, headers=dict(response.headers))
        announced = response.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) != len(raw) \
                and response.headers.get("Content-Encoding", "identity") == "identity":
            # A transport that does not check lengths itself (aiohttp does) handed over a
            # body cut short (or padded): the same failure as a dropped connection.
            raise APIConnectionError(f"Connection error: the body has {len(raw)} of the "
                                     f"{announced} bytes announced", request_id=response.request_id)
        return response

    def redacted(self, error: E) -> E:
        """``error`` with every known secret removed from its message, body, headers and
        attributes (a service that echoes the key back must not leak it through us)."""
        redact_error(error, self.redact)
        return error

    def connection_error(self, exc: BaseException, *,
                         request_id: str | None = None) -> APIConnectionError:
        """The typed error for a network failure (its text redacted)."""
        detail = self.redact(str(exc)) or type(exc).__name__
        if isinstance(exc, _TIMEOUTS):
            return APITimeoutError(f"Request timed out: {detail}", request_id=request_id)
        return APIConnectionError(f"Connection error: {type(exc).__name__}: {detail}",
                                  request_id=request_id)


async def _as_is(response: Response) -> Response:
    return response


async def _run_hook(hook: Callable[[T], Awaitable[None] | None], value: T) -> None:
    outcome = hook(value)
    if inspect.isawaitable(outcome):
        await outcome


def _explain_not_resent(error: APIConnectionError, call: Call) -> None:
    """Say why a failed create was not retried (each attempt's error is a new one, so it
    is said once)."""
    error.message += (f" ({call.method} {call.path} was not retried: it may have reached the "
                      "service, and sending it again could start a second job)")
    error.args = (error.message,)


async def _encode_body(json: object, form: Callable[[], aiohttp.FormData] | None,
                       extra: Mapping[str, object] | None) -> tuple[bytes | None, str | None]:
    """The body bytes and their content type, built once (every attempt re-sends the same)."""
    if form is not None:
        data = form()
        for name, value in (extra or {}).items():
            data.add_field(name, value if isinstance(value, str) else jsonlib.dumps(value))
        payload = data()
        return await payload.as_bytes(), payload.content_type
    if json is None and not extra:
        return None, None
    if json is not None and not isinstance(json, Mapping):
        if extra:
            raise TypeError("extra_body needs a JSON object body")
        return jsonlib.dumps(json).encode(), "application/json"
    body = {**(json or {}), **(extra or {})}
    return jsonlib.dumps(body).encode(), "application/json"
