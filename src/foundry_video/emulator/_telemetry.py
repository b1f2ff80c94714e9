"""Server spans for the emulator's requests (with telemetry on; imports OpenTelemetry).

One ``SERVER`` span per request, named ``{method} {route}`` and continuing the caller's
trace when the request carries a ``traceparent``, so a local run (SDK, CLI or any other
client) shows the service side too: status, request id, and which faults fired.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .._observe import TelemetryOptions
from .._version import __version__
from ._state import RecordedRequest

__all__ = ["server_spans"]

_RECENT = 256
"""How far back the request log is searched for a response's record (concurrent requests)."""


def server_spans(options: TelemetryOptions, records: Sequence[RecordedRequest]) -> Middleware:
    """An aiohttp middleware tracing each request; ``records`` is the emulator's log."""
    tracer = trace.get_tracer("foundry_video.emulator", __version__,
                              tracer_provider=options.tracer_provider)

    @web.middleware
    async def trace_request(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else None
        host, _, port = (request.host or "").rpartition(":")
        attributes: dict[str, str | int] = {
            "http.request.method": request.method, "url.path": request.path,
            "url.scheme": request.scheme, "server.address": host or request.host,
        }
        if port.isdigit():
            attributes["server.port"] = int(port)
        if route:
            attributes["http.route"] = route
        with tracer.start_as_current_span(
                f"{request.method} {route or request.path}", kind=SpanKind.SERVER,
                context=propagate.extract(request.headers), attributes=attributes,
                record_exception=False) as span:
            response = await handler(request)
            span.set_attribute("http.response.status_code", response.status)
            request_id = response.headers.get("x-request-id")
            if request_id:
                span.set_attribute("foundry_video.request_id", request_id)
                for record in _recent(records):
                    if record.request_id == request_id:
                        if record.faults:
                            span.set_attribute("foundry_video.emulator.faults", record.faults)
                        if record.operation:
                            span.set_attribute("foundry_video.emulator.operation",
                                               record.operation)
                        break
            if response.status >= 500:
                span.set_attribute("error.type", str(response.status))
                span.set_status(Status(StatusCode.ERROR))
            return response

    return trace_request


def _recent(records: Sequence[RecordedRequest]) -> list[RecordedRequest]:
    return list(records[-1:-_RECENT - 1:-1])
