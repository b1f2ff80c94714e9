"""Per-request options and event hooks: the typed keyword arguments every call accepts."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict, cast

if TYPE_CHECKING:
    from ._errors import FoundryVideoError
    from ._transports.base import Request, Response

__all__ = ["BodyRequestOptions", "EventHooks", "RequestOptions", "RetryEvent", "check_options",
           "hooks_from", "operation_name"]


class RequestOptions(TypedDict, total=False):
    """Keyword arguments accepted by every resource method.

    Attributes:
        timeout: seconds for this call (each attempt), instead of the client's ``timeout``.
        extra_headers: headers to add (or override) on this call.
        extra_query: query parameters to add on this call.
    """

    timeout: float
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, str]


class BodyRequestOptions(RequestOptions, total=False):
    """:class:`RequestOptions` plus ``extra_body``, for calls that send a body (creates).

    Attributes:
        extra_body: fields to add to the JSON (or multipart) body, e.g. a parameter this
            SDK does not know yet. They are sent as given, without validation.
    """

    extra_body: Mapping[str, object]


def extra_body_of(options: RequestOptions) -> Mapping[str, object] | None:
    """The ``extra_body`` of options that may be :class:`BodyRequestOptions`."""
    return cast("BodyRequestOptions", options).get("extra_body")


def check_options(options: RequestOptions) -> None:
    """Reject malformed options before anything is sent (``TypeError``/``ValueError``)."""
    unknown = set(options) - _OPTION_NAMES
    if unknown:
        raise TypeError(f"unknown request option(s): {', '.join(sorted(unknown))}")
    timeout: object = options.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not math.isfinite(timeout) or timeout <= 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    for name in ("extra_headers", "extra_query"):
        value = cast("Mapping[str, object]", options).get(name)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a mapping of strings")
        for key, item in value.items():
            if not isinstance(key, str) or not isinstance(item, str):
                raise TypeError(f"{name} must map strings to strings; got {key!r}: {item!r}")
            if name == "extra_headers" and any(c in key + item for c in "\r\n\0"):
                raise ValueError(f"extra_headers: {key!r} contains a control character")
    body = extra_body_of(options)
    if body is not None and not isinstance(body, Mapping):
        raise TypeError("extra_body must be a mapping")


_OPTION_NAMES = {"timeout", "extra_headers", "extra_query", "extra_body"}


@dataclass(frozen=True)
class RetryEvent:
    """Passed to ``retry`` hooks: an attempt failed and the call will be tried again.

    Attributes:
        request: the request of the failed attempt.
        attempt: the number of the attempt that failed (1-based).
        delay: seconds the pipeline waits before the next attempt.
        cause: ``"rate_limit"``, ``"server_error"``, ``"connection"``, ``"timeout"``,
            ``"auth_refresh"``, ``"http_408"``/``"http_409"``, or for downloads ``"resume"``.
        error: the exception the attempt ended with.
    """

    request: Request
    attempt: int
    delay: float
    cause: str
    error: FoundryVideoError


RequestHook = Callable[["Request"], "Awaitable[None] | None"]
ResponseHook = Callable[["Response"], "Awaitable[None] | None"]
RetryHook = Callable[[RetryEvent], "Awaitable[None] | None"]


class EventHooks(TypedDict, total=False):
    """``VideoClient(event_hooks={...})``: callables (sync or async) run on every HTTP attempt.

    Attributes:
        request: called with each :class:`~foundry_video.Request` just before it is sent
            (each retry and redirect hop included); may add headers (e.g. ``traceparent``).
        response: called with each :class:`~foundry_video.Response` once its headers
            arrived, before its body is read.
        retry: called with a :class:`RetryEvent` before the pipeline waits to try again.
    """

    request: Sequence[RequestHook]
    response: Sequence[ResponseHook]
    retry: Sequence[RetryHook]


def operation_name(method: str, path: str) -> str:
    """``"GET /videos/{id}"``: a path with its ids folded, for logs and hooks (low cardinality)."""
    parts = path.split("?", 1)[0].split("/")
    folded = ["{id}" if i > 1 and parts[i - 1] in ("videos", "jobs", "generations", "characters")
              and part not in ("edits", "extensions", "characters", "jobs") else part
              for i, part in enumerate(parts)]
    return f"{method} {'/'.join(folded)}"


def hooks_from(value: Mapping[str, Sequence[object]] | None) -> EventHooks:
    """Validate ``event_hooks`` at construction (unknown kinds or non-callables are errors)."""
    hooks = EventHooks()
    for kind, callables in (value or {}).items():
        if kind not in ("request", "response", "retry"):
            raise ValueError(f"unknown event hook kind {kind!r}; use request, response or retry")
        if isinstance(callables, (str, bytes)) or not isinstance(callables, Sequence) \
                or not all(callable(item) for item in callables):
            raise TypeError(f"event_hooks[{kind!r}] must be a list of callables")
        hooks[kind] = list(callables)  # type: ignore[literal-required]
    return hooks
