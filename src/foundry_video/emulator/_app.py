"""The :class:`Emulator`: an aiohttp server that behaves like the Sora video service.

Cross-cutting behaviour lives in one middleware, in this order: request ids and the
request log, the ``x-emulator-fault`` header, auth (401), ``api-version`` (400), unknown
routes (404/405), request-stage faults, the create rate limit (429), the handler,
response-stage faults, and body faults on successful responses.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from types import TracebackType
from typing import Literal

from aiohttp import web
from aiohttp.typedefs import Handler as AioHandler
from aiohttp.typedefs import Middleware

from .._clock import Clock, SystemClock
from .._observe import TelemetrySetting, check_telemetry, resolve_telemetry
from ..capabilities import CapabilityTable, default_capabilities
from ._background import BackgroundServer
from ._bodies import body_kind
from ._content import ContentCache, Renderer, close_connection, send_faulty_body
from ._context import Call, Routes, ServiceContext, bind_call
from ._curves import DEFAULT_PROGRESS_CURVE, ProgressCurve, resolve_curve
from ._errors import (
    ApiError,
    auth_error,
    bad_api_version,
    invalid_request,
    openai_envelope,
    rate_limit_error,
    retry_headers,
    server_error,
)
from ._faults import LYING_KINDS, Fault, FaultSet, parse_fault_header
from ._persist import StateDir
from ._sora1 import register_generation_jobs_routes
from ._state import (
    FAILED_MESSAGE,
    MODERATION_MESSAGE,
    Character,
    EmulatorState,
    JobFailure,
    JobStore,
    RateLimiter,
    RecordedRequest,
    VideoJob,
)
from ._videos import register_videos_routes

__all__ = ["API_PREFIXES", "DEFAULT_BLOCKED_WORDS", "SURFACES", "Emulator"]

log = logging.getLogger("foundry_video.emulator")

API_PREFIXES = ("/openai/v1", "/v1")
"""Azure-style (``{endpoint}/openai/v1``) and OpenAI-style (``.../v1``) base paths."""
DEFAULT_BLOCKED_WORDS = ("nsfw", "gore", "blocked-content")
"""Prompts containing one of these words get the content-filter 400 at create."""
ALLOWED_API_VERSIONS = frozenset({"v1", "preview"})
SURFACES: list[Callable[[Routes, ServiceContext], None]] = [
    register_videos_routes,
    register_generation_jobs_routes,
]
"""API surfaces mounted on every emulator: Sora 2 ``/videos``, Sora 1 ``/video/generations``."""
_SECRET_HEADERS = frozenset({"api-key", "authorization", "ocp-apim-subscription-key", "cookie"})
_REQUEST_FAULTS = ("rate_limit", "server_error", "drop_connection")
_BODY_FAULTS = ("truncate_body", "slow_body", "drop_connection", *LYING_KINDS)
OPENAI_PREFIX = "/v1/"
"""Requests under this prefix get error bodies in OpenAI's shape (message/type/param/code)."""


class Emulator:
    """A local stand-in for the Azure OpenAI / Foundry Sora video service.

    ``async with Emulator() as emu:`` starts it on ``host:port`` (port 0 = any free port);
    point a client at :attr:`endpoint`. ``with Emulator() as emu:`` serves it from a thread
    of its own instead, for blocking code such as a :class:`~foundry_video.SyncVideoClient`.
    Jobs move on :attr:`clock` (``queue_seconds`` queued, then ``job_seconds`` in progress).
    ``api_keys=None`` accepts any non-empty key; Bearer tokens are accepted when non-empty,
    listed in ``api_keys``, or approved by ``token_validator``. ``create_rate_limit=N``
    allows N job-creating requests per 60 s of clock time. ``renderer`` defaults to the
    PyAV renderer (imported lazily).
    ``poll_after_ms`` is the ``openai-poll-after-ms`` hint on status responses: ``"auto"``
    (the default) derives it from the time to the next status change, an int fixes it,
    ``None`` sends none. ``progress_curve`` shapes ``progress`` while a job runs: a name
    from :data:`PROGRESS_CURVES` (``"s-curve"`` by default, ``"linear"``, ``"stuck"``,
    ``"accelerating"``, ``"decelerating"``, ``"steps"``) or a function from the fraction
    of the run elapsed to the fraction done; each job keeps the curve it was created with
    (``emu.videos.get(id).progress_curve`` changes one job). A long queue then a fast run
    is ``queue_seconds`` large against ``job_seconds``. ``shutdown_timeout`` bounds how
    long :meth:`stop` waits for in-flight requests. ``telemetry`` (as for ``VideoClient``;
    ``None``: when the application set an OpenTelemetry provider) adds a server span for
    each request.

    ``state_dir`` keeps the jobs in that directory, shared with every other emulator using
    it, in this process or another (see :mod:`foundry_video.emulator._persist`).
    ``deployments`` (``{"my-sora": "sora-2"}``) declares the resource's deployments: other
    model names get Azure's 404 ``DeploymentNotFound``, and each name gets its model's
    limits. Without it any name is accepted (unknown ones with a logged warning).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        job_seconds: float = 10.0,
        queue_seconds: float = 2.0,
        api_keys: Collection[str] | None = None,
        token_validator: Callable[[str], bool] | None = None,
        capabilities: CapabilityTable | None = None,
        blocked_words: Iterable[str] = DEFAULT_BLOCKED_WORDS,
        create_rate_limit: int | None = None,
        renderer: Renderer | None = None,
        poll_after_ms: int | Literal["auto"] | None = "auto",
        progress_curve: str | ProgressCurve = DEFAULT_PROGRESS_CURVE,
        retention_seconds: int = 86400,
        host: str = "127.0.0.1",
        port: int = 0,
        shutdown_timeout: float = 0.5,
        telemetry: TelemetrySetting = None,
        state_dir: str | os.PathLike[str] | None = None,
        deployments: Mapping[str, str] | None = None,
    ) -> None:
        if job_seconds < 0 or queue_seconds < 0:
            raise ValueError("job_seconds and queue_seconds must be >= 0")
        if poll_after_ms != "auto" and poll_after_ms is not None and (
                isinstance(poll_after_ms, bool) or not isinstance(poll_after_ms, int)
                or poll_after_ms < 0):
            raise ValueError("poll_after_ms must be 'auto', None or an int >= 0")
        resolve_curve(progress_curve)  # an unknown name fails here, not in a request
        table = capabilities if capabilities is not None else default_capabilities()
        for name, model in (deployments or {}).items():
            if not name or table.resolve(model) is None:
                raise ValueError(f"deployment {name!r}: unknown model {model!r}; known: "
                                 f"{', '.join(sorted(table))}")
            table = table.with_model(name, model)
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.host = host
        self._port = port
        self._api_keys = frozenset(api_keys) if api_keys is not None else None
        self._token_validator = token_validator
        self._shutdown_timeout = shutdown_timeout
        check_telemetry(telemetry)
        self._telemetry = telemetry
        self.instance = secrets.token_hex(8)
        """Random id sent as ``x-emulator-instance`` (tells this emulator from another)."""
        self.state_dir = StateDir(state_dir) if state_dir is not None else None
        """Where jobs are kept across processes (``None``: in memory only)."""
        self.requests: list[RecordedRequest] = []
        """Every request received, in order (secrets redacted)."""
        self.faults = FaultSet()
        self.ctx = ServiceContext(
            clock=self.clock,
            capabilities=table,
            faults=self.faults,
            content=ContentCache(renderer),
            state=EmulatorState(),
            limiter=RateLimiter(create_rate_limit),
            job_seconds=job_seconds,
            queue_seconds=queue_seconds,
            retention_seconds=retention_seconds,
            poll_after_ms=poll_after_ms,
            progress_curve=progress_curve,
            blocked_words=tuple(blocked_words),
            deployments=frozenset(deployments) if deployments is not None else None,
        )
        self._app: web.Application | None = None
        self._routes: Routes | None = None
        self._runner: web.AppRunner | None = None
        self._background: BackgroundServer | None = None

    # -- public surface -----------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`), else the requested one."""
        return self._port

    @property
    def endpoint(self) -> str:
        """The Azure-style resource endpoint, e.g. ``http://127.0.0.1:8089``."""
        if self._runner is None:
            raise RuntimeError("the emulator is not running; use 'async with Emulator()'")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def app(self) -> web.Application:
        """The aiohttp application (built on first access; rebuilt by :meth:`restart`)."""
        if self._app is None:
            self._app = self._build_app()
        return self._app

    @property
    def videos(self) -> JobStore[VideoJob]:
        """The Sora 2 job store (inspectable and editable in tests)."""
        return self.ctx.state.videos

    @property
    def characters(self) -> JobStore[Character]:
        """Characters created with ``POST /videos/characters``."""
        return self.ctx.state.characters

    def inject(self, fault: Fault) -> Fault:
        """Register ``fault`` and return it.

        A ``job_failed``, ``content_policy`` (``stage="completion"``) or ``expire_content``
        fault naming the ``video_id`` of an existing job applies to that job at once.
        """
        job = self.videos.get(fault.video_id) if fault.video_id else None
        if job is not None and fault.kind in ("job_failed", "content_policy", "expire_content"):
            if fault.kind == "expire_content":
                job.expired_at = self.clock.time()
            elif fault.kind == "job_failed":
                job.failure = JobFailure(fault.code or "internal_error",
                                         fault.message or FAILED_MESSAGE)
            else:
                job.failure = JobFailure(fault.code or "moderation_blocked",
                                         fault.message or MODERATION_MESSAGE)
            fault.fired += 1
        return self.faults.add(fault)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.faults.clear()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> Emulator:
        """Start serving; starting an emulator that is already running raises ``RuntimeError``."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        if self.state_dir is not None:
            self.state_dir.sync(self.ctx.state)
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=self._shutdown_timeout)
        await runner.setup()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            # SO_REUSEADDR so restart() can bind the same port again at once.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._port))
            self._port = sock.getsockname()[1]
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner
        return self

    async def stop(self) -> None:
        """Stop serving (state is kept; :meth:`start` again serves it)."""
        runner, self._runner = self._runner, None
        self._app = None  # an aiohttp app cannot be started twice
        if runner is not None:
            await runner.cleanup()
        if self.state_dir is not None:
            self.state_dir.sync(self.ctx.state)  # changes made directly, e.g. emu.videos.add

    async def restart(self, *, keep_state: bool = True) -> None:
        """Simulate a service restart: close every connection and serve again on the same port.

        ``keep_state=False`` also forgets all jobs and characters and the rate-limit window
        (injected faults and the request log are test configuration and stay).
        """
        await self.stop()
        if not keep_state:
            self.ctx.state = EmulatorState()
            self.ctx.limiter.reset()
        await self.start()

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __enter__(self) -> Emulator:
        """``with Emulator() as emu:`` serves from a thread of its own, for blocking clients
        (``SyncVideoClient``, scripts, other libraries); ``async with`` serves from the
        running event loop."""
        from ._background import BackgroundServer

        if self._background is not None:
            raise RuntimeError("the emulator is already running")
        self._background = BackgroundServer(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        background, self._background = self._background, None
        if background is not None:
            background.close()

    def __repr__(self) -> str:
        where = self.endpoint if self._runner is not None else "stopped"
        return f"Emulator({where}, clock={self.clock!r}, jobs={len(self.videos)})"

    # -- the app --------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        # 64 MiB: input_reference images and character videos travel in the body.
        app = web.Application(middlewares=[*self._tracing(), self._middleware],
                              client_max_size=64 * 1024 * 1024)
        routes = Routes(app, API_PREFIXES)
        for register in SURFACES:
            register(routes, self.ctx)
        self._routes = routes
        # Job-outcome faults default to every operation that starts a job, on any surface.
        self.faults.job_operations = frozenset(
            info.operation for info in routes.info.values() if info.rate_limited
        )
        return app

    def _tracing(self) -> list[Middleware]:
        options = resolve_telemetry(self._telemetry)
        if options is None:
            return []
        from ._telemetry import server_spans

        return [server_spans(options, self.requests)]

    def _record(self, request: web.Request, request_id: str) -> RecordedRequest:
        # Names lowercased (HTTP header names are case-insensitive; clients differ).
        headers = {
            name.lower(): ("REDACTED" if name.lower() in _SECRET_HEADERS else value)
            for name, value in request.headers.items()
        }
        auth = request.headers.get("Authorization")
        if auth and " " in auth:
            headers["authorization"] = auth.split(" ", 1)[0] + " REDACTED"
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query={k: v for k, v in request.query.items()},
            headers=headers,
            body_kind=body_kind(request.headers.get("Content-Type", ""), request.body_exists),
            request_id=request_id,
            time=self.clock.time(),
        )
        self.requests.append(record)
        return record

    def _authenticate(self, request: web.Request) -> None:
        key = request.headers.get("api-key")
        if key is not None:
            if key.strip() and (self._api_keys is None or key in self._api_keys):
                return
            raise auth_error()
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            if self._api_keys is not None and token in self._api_keys:
                return  # an API key sent as a Bearer token (what the openai client does)
            if self._token_validator is None or self._token_validator(token):
                return
        raise auth_error()

    def _fault_response(self, request: web.Request, call: Call, fault: Fault) -> web.Response:
        """The response (or dropped connection) a request- or response-stage fault asks for."""
        if fault.kind == "drop_connection":
            close_connection(request)
            call.dropped = True
            return web.Response(status=500)  # never reaches the client
        raise self._fault_error(call, fault)

    def _fault_error(self, call: Call, fault: Fault) -> ApiError:
        now = self.clock.time()
        status = 429 if fault.kind == "rate_limit" else (fault.status or 500)
        retry = fault.retry_after
        if retry is None and status in (429, 503):
            retry = 1.0
        headers = retry_headers(seconds=retry, ms=fault.retry_after_ms,
                                http_date=fault.retry_after_http_date, now=now)
        if fault.should_retry is not None:
            headers["x-should-retry"] = "true" if fault.should_retry else "false"
        error = rate_limit_error(retry, headers) if status == 429 else server_error(status, headers)
        if fault.echo_key and call.credential:
            inner = error.body["error"]
            inner["message"] = f"{inner['message']} (request credential: {call.credential})"
        return error

    @web.middleware
    async def _middleware(
        self,
        request: web.Request,
        handler: AioHandler,
    ) -> web.StreamResponse:
        request_id = "req_" + secrets.token_hex(16)
        record = self._record(request, request_id)
        info = self._routes.lookup(request) if self._routes is not None else None
        record.operation = info.operation if info is not None else None
        call = Call(request_id, record.operation, request.method, request.path, record,
                    credential=_credential(request))
        video_id = request.match_info.get("video_id")
        openai_style = request.path.startswith(OPENAI_PREFIX)
        with bind_call(call):
            try:
                if self.state_dir is not None:
                    self.state_dir.sync(self.ctx.state)
                response = await self._dispatch(request, handler, call, video_id)
            except ApiError as exc:
                response = _error_response(exc, openai_style)
            except web.HTTPException as exc:
                response = _error_response(ApiError(exc.status, openai_envelope(exc.reason)),
                                           openai_style)
            except Exception:
                log.exception("emulator handler failed for %s %s", request.method, request.path)
                response = server_error(500).to_response()
            finally:
                if self.state_dir is not None:
                    self.state_dir.sync(self.ctx.state)
        response.headers["x-request-id"] = request_id
        response.headers["apim-request-id"] = str(uuid.uuid4())
        response.headers["x-emulator-instance"] = self.instance
        if call.dropped:
            return response
        record.status = response.status
        if (
            200 <= response.status < 300
            and isinstance(response, web.Response)
            and request.method != "HEAD"
        ):
            fault = self.ctx.take_fault(call, _BODY_FAULTS, video_id=video_id, stages={"body"})
            if fault is not None:
                return await send_faulty_body(request, response, fault)
        return response

    async def _dispatch(
        self,
        request: web.Request,
        handler: AioHandler,
        call: Call,
        video_id: str | None,
    ) -> web.StreamResponse:
        header = request.headers.get("x-emulator-fault")
        if header:
            try:
                call.header_faults = parse_fault_header(header)
            except (ValueError, TypeError) as exc:
                raise invalid_request(f"Invalid x-emulator-fault header: {exc}",
                                      param="x-emulator-fault", code="invalid_fault") from None
        self._authenticate(request)
        version = request.query.get("api-version")
        if version is not None and version not in ALLOWED_API_VERSIONS:
            raise bad_api_version(version)
        info = self._routes.lookup(request) if self._routes is not None else None
        if info is None:
            refused = request.match_info.http_exception
            if isinstance(refused, web.HTTPMethodNotAllowed):
                raise ApiError(405, openai_envelope(
                    f"Method {request.method} is not allowed for {request.path}.",
                    code="method_not_allowed"),
                    {"Allow": ", ".join(sorted(refused.allowed_methods))})
            raise ApiError(404, {"error": {"code": "404", "message": "Resource not found"}})
        fault = self.ctx.take_fault(call, _REQUEST_FAULTS, video_id=video_id, stages={"request"})
        if fault is not None:
            return self._fault_response(request, call, fault)
        if info.rate_limited:
            wait = self.ctx.limiter.acquire(self.clock.time())
            if wait is not None:
                headers = retry_headers(seconds=wait, ms=max(1, round(wait * 1000)))
                raise rate_limit_error(wait, headers)
        result = await handler(request)
        fault = self.ctx.take_fault(call, _REQUEST_FAULTS, video_id=video_id, stages={"response"})
        if fault is not None:
            # The handler ran (e.g. the job exists now) but the client never learns it.
            return self._fault_response(request, call, fault)
        return result


def _credential(request: web.Request) -> str | None:
    """The key or bearer token a request carries (for ``echo_key`` faults only)."""
    key = request.headers.get("api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _error_response(error: ApiError, openai_style: bool) -> web.Response:
    """``error`` as a response; on the OpenAI-style ``/v1`` surface always in OpenAI's shape.

    Azure's own bodies (``{"error": {"code": "404", "message": ...}}``) lack ``type`` and
    ``param``; an OpenAI client reads all four fields, so ``/v1`` gets them all (``code``
    as a string or null).
    """
    if not openai_style:
        return error.to_response()
    inner = error.body.get("error")
    inner = dict(inner) if isinstance(inner, dict) else {}
    default_type = "server_error" if error.status >= 500 else "invalid_request_error"
    code = inner.get("code")
    body = {**error.body, "error": {
        **inner,
        "message": str(inner.get("message") or json.dumps(error.body)[:200]),
        "type": inner.get("type") or default_type,
        "param": inner.get("param"),
        "code": None if code is None else str(code),
    }}
    return ApiError(error.status, body, error.headers).to_response()
