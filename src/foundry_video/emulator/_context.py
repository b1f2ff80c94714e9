"""What route handlers share: the service context, the per-request call, route registration.

An API surface (Sora 2 videos here; Sora 1 jobs later) is a function
``register(routes: Routes, ctx: ServiceContext) -> None`` that adds its handlers with
:meth:`Routes.add`. Handlers receive ``(request, call)``; everything cross-cutting
(request ids, auth, api-version, request-level faults, rate limiting, recording) is done
by the emulator's middleware before they run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from .._clock import Clock
from ..capabilities import CapabilityTable
from ._content import ContentCache
from ._curves import DEFAULT_PROGRESS_CURVE, ProgressCurve
from ._errors import ApiError, content_filter_error
from ._faults import Fault, FaultSet
from ._state import EmulatorState, RateLimiter, RecordedRequest

__all__ = ["Call", "Handler", "RouteInfo", "Routes", "ServiceContext", "bind_call", "current_call"]

log = logging.getLogger("foundry_video.emulator")

DEPLOYMENT_NOT_FOUND = (
    "The API deployment for this resource does not exist. If you created the deployment "
    "within the last 5 minutes, please wait a moment and try again."
)


@dataclass
class Call:
    """Per-request data the middleware prepares for the handler."""

    request_id: str
    operation: str | None
    method: str
    path: str
    record: RecordedRequest
    header_faults: list[Fault] = field(default_factory=list)
    dropped: bool = False
    """Set when a fault closed the connection instead of responding."""
    credential: str | None = field(default=None, repr=False)
    """The key or token the request carried (only for ``echo_key`` faults; never logged)."""


_CURRENT_CALL: ContextVar[Call] = ContextVar("foundry_video_emulator_call")

Handler = Callable[[web.Request, Call], Awaitable[web.StreamResponse]]


def current_call() -> Call:
    """The :class:`Call` of the request being handled (set by the middleware)."""
    return _CURRENT_CALL.get()


@contextmanager
def bind_call(call: Call) -> Iterator[Call]:
    """Make ``call`` the current call while the middleware runs the handler."""
    token = _CURRENT_CALL.set(call)
    try:
        yield call
    finally:
        _CURRENT_CALL.reset(token)


@dataclass(frozen=True)
class RouteInfo:
    """Metadata the middleware needs about a matched route."""

    operation: str
    rate_limited: bool = False


class Routes:
    """Registers each handler under every API prefix (``/openai/v1`` and ``/v1``)."""

    def __init__(self, app: web.Application, prefixes: Iterable[str]) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)
        self.info: dict[AbstractRoute, RouteInfo] = {}

    def add(
        self,
        method: str,
        path: str,
        handler: Handler,
        *,
        operation: str,
        rate_limited: bool = False,
    ) -> None:
        """Add ``handler`` for ``method path`` under each prefix."""

        async def endpoint(request: web.Request) -> web.StreamResponse:
            return await handler(request, _CURRENT_CALL.get())

        info = RouteInfo(operation, rate_limited)
        for prefix in self.prefixes:
            route = self.app.router.add_route(method, prefix + path, endpoint)
            self.info[route] = info

    def lookup(self, request: web.Request) -> RouteInfo | None:
        """The :class:`RouteInfo` of the route ``request`` matched, if any."""
        return self.info.get(request.match_info.route)


@dataclass
class ServiceContext:
    """Configuration and state shared by all handlers of one emulator."""

    clock: Clock
    capabilities: CapabilityTable
    faults: FaultSet
    content: ContentCache
    state: EmulatorState
    limiter: RateLimiter
    job_seconds: float
    queue_seconds: float
    retention_seconds: int = 86400
    poll_after_ms: int | Literal["auto"] | None = "auto"
    """The ``openai-poll-after-ms`` hint: a fixed value, derived (``"auto"``) or none."""
    progress_curve: str | ProgressCurve = DEFAULT_PROGRESS_CURVE
    blocked_words: Collection[str] = ()
    deployments: frozenset[str] | None = None
    """Model names the resource has (``None``: any name is accepted)."""
    _blocked: re.Pattern[str] | None = field(default=None, init=False, repr=False)
    _warned: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        words = [w for w in self.blocked_words if w.strip()]
        if words:
            alternation = "|".join(re.escape(w.strip()) for w in words)
            self._blocked = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)

    def now(self) -> float:
        """The clock's Unix time."""
        return self.clock.time()

    def check_model(self, model: str) -> None:
        """404 ``DeploymentNotFound`` for a name that is not a declared deployment; a warning
        (once per name) for a name the capability table does not know."""
        if self.deployments is not None:
            if model not in self.deployments:
                raise ApiError(404, {"error": {"code": "DeploymentNotFound",
                                               "message": DEPLOYMENT_NOT_FOUND}})
            return
        if self.capabilities.resolve(model) is None and model not in self._warned:
            self._warned.add(model)
            log.warning("unknown model or deployment name %r: accepted, but Azure accepts only "
                        "your deployments' names (declare them: Emulator(deployments={name: "
                        "model}) or foundry-video emulator --deployment NAME=MODEL)", model[:100])

    def check_content_policy(self, text: str, *, param: str = "prompt") -> None:
        """Raise the content-filter 400 if ``text`` contains a blocked word (case-insensitive)."""
        if self._blocked is not None and self._blocked.search(text):
            raise content_filter_error(param)

    def take_fault(
        self,
        call: Call,
        kinds: Iterable[str],
        *,
        video_id: str | None = None,
        stages: Collection[str] | None = None,
    ) -> Fault | None:
        """The first header or injected fault of ``kinds`` for this call (and record it)."""
        fault = self.faults.take(
            kinds,
            operation=call.operation,
            method=call.method,
            path=call.path,
            video_id=video_id,
            stages=stages,
            header_faults=call.header_faults,
        )
        if fault is not None:
            call.record.faults.append(fault.kind)
        return fault
