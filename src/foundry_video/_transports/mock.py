"""MockTransport: answer requests from a plain function, for unit tests without a server."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from .base import Request, Response

__all__ = ["MockTransport"]

Handler = Callable[[Request], "Response | Awaitable[Response]"]


class MockTransport:
    """A transport whose every response comes from ``handler(request)`` (sync or async).

    The client's whole pipeline still runs (auth headers, redirects, retries, limits, error
    mapping), so a handler can script failures as well as answers::

        from foundry_video.testing import MockTransport
        from foundry_video import Response

        def handler(request):
            if request.url.path.endswith("/videos"):
                return Response(200, json={"id": "video_1", "object": "video", ...})
            return Response(404, json={"error": {"message": "no such video"}})

        client = VideoClient("https://res.openai.azure.com", auth=ApiKeyAuth("k"),
                             transport=MockTransport(handler))

    ``requests`` records every request received, in order (redirect hops and retries
    included), for assertions.
    """

    def __init__(self, handler: Handler) -> None:
        if not callable(handler):
            raise TypeError("handler must be a callable taking a Request")
        self.handler = handler
        self.requests: list[Request] = []
        self.closed = False

    async def handle_async_request(self, request: Request) -> Response:
        """Record ``request`` and return the handler's response."""
        self.requests.append(request)
        outcome = self.handler(request)
        response = await outcome if inspect.isawaitable(outcome) else outcome
        if not isinstance(response, Response):
            raise TypeError(f"the MockTransport handler returned {type(response).__name__}, "
                            "not a foundry_video.Response")
        if response.request is not None:
            # Its body was consumed by the first request it answered.
            raise TypeError("the MockTransport handler returned a Response it already returned "
                            "once; build a fresh Response for each request")
        response.request = request
        return response

    async def aclose(self) -> None:
        """Mark the transport closed (nothing to release)."""
        self.closed = True
