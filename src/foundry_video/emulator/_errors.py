"""Error bodies the emulator sends, shaped like the real service's (api-spec.md §5).

Handlers raise :class:`ApiError`; the middleware turns it into a response. Keeping the
envelopes here lets every API surface (Sora 2 videos, Sora 1 jobs) reuse them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from email.utils import formatdate
from typing import Any

from aiohttp import web

__all__ = [
    "ApiError",
    "auth_error",
    "bad_api_version",
    "content_filter_error",
    "inner_error_content_filter",
    "invalid_request",
    "not_found",
    "openai_envelope",
    "rate_limit_error",
    "retry_headers",
    "server_error",
]

AUTH_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
    "a valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)
CONTENT_FILTER_MESSAGE = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management "
    "policy. Please modify your prompt and retry. To learn more about our content filtering "
    "policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)
CONTENT_FILTER_CATEGORIES = ("hate", "self_harm", "sexual", "violence")


class ApiError(Exception):
    """An HTTP error response, raised inside a handler and rendered by the middleware."""

    def __init__(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"HTTP {status}: {json.dumps(body)[:200]}")
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})

    def to_response(self) -> web.Response:
        """Render as a JSON response."""
        return web.json_response(self.body, status=self.status, headers=self.headers)


def openai_envelope(
    message: str,
    *,
    type: str = "invalid_request_error",  # the wire field is called "type"
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """The OpenAI error envelope: all four fields present, nullable ones as ``null``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> ApiError:
    """A 400 ``invalid_request_error`` (validation failure)."""
    return ApiError(status, openai_envelope(message, param=param, code=code))


def not_found(message: str, *, param: str | None = None, code: str = "not_found") -> ApiError:
    """A 404 in the OpenAI envelope (unknown id). UNCERTAIN: code/message are not documented."""
    return ApiError(404, openai_envelope(message, param=param, code=code))


def auth_error() -> ApiError:
    """Azure's 401 body for a missing or wrong key (note: ``code`` is the string "401")."""
    return ApiError(401, {"error": {"code": "401", "message": AUTH_MESSAGE}})


def bad_api_version(
    value: str | None, allowed: Sequence[str] = ("v1", "preview"), *, optional: bool = True
) -> ApiError:
    """400 for an ``api-version`` the API does not serve (Azure's generic wording).

    ``value=None`` means the parameter was missing (an error only where it is not
    ``optional``, e.g. the Sora 1 jobs API, which requires ``preview``).
    """
    names = ", ".join(f"'{v}'" for v in allowed)
    hint = f"Use {names}{' or omit it' if optional else ''}."
    if value is None:
        message = f"Missing required query parameter 'api-version'. {hint}"
    else:
        message = f"API version not supported: {value!r}. {hint}"
    return ApiError(
        400,
        {
            "error": {
                "code": "BadRequest",
                "message": message,
                "param": "api-version",
                "type": "invalid_request_error",
            }
        },
    )


def _filter_results(category: str) -> dict[str, dict[str, Any]]:
    """Per-category results: ``category`` filtered (severity high), every other one safe."""
    result: dict[str, dict[str, Any]] = {
        name: {"filtered": name == category, "severity": "high" if name == category else "safe"}
        for name in CONTENT_FILTER_CATEGORIES
    }
    if category not in result:
        result[category] = {"filtered": True, "severity": "high"}
    return result


def content_filter_error(param: str = "prompt", category: str = "violence") -> ApiError:
    """Azure's content-filter 400 (api-spec §5.2, spelled ``innererror``/``content_filter_result``).

    UNCERTAIN: the exact body Azure Sora 2 returns; this is the documented completions shape.
    """
    result = _filter_results(category)
    return ApiError(
        400,
        {
            "error": {
                "message": CONTENT_FILTER_MESSAGE,
                "type": None,
                "param": param,
                "code": "content_filter",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": result,
                },
            }
        },
    )


def inner_error_content_filter(param: str = "prompt", category: str = "violence") -> ApiError:
    """The content-filter 400 in the Sora 1 form (``AzureOpenAIVideoGenerationErrorResponse``).

    Fields per [AZ-SPEC]: ``code``, ``message``, ``param``, ``type`` and ``inner_error``
    with ``code: ResponsibleAIPolicyViolation`` and ``error_details`` (the per-category
    results). UNCERTAIN: the spec models the body bare; it is sent wrapped in
    ``{"error": ...}`` like every other Azure error (401, 429, the completions content
    filter), so one client code path reads all of them; SDKs should accept both forms.
    ``revised_prompt`` is left out: the emulator never revises a prompt.
    """
    details = _filter_results(category)
    return ApiError(
        400,
        {
            "error": {
                "code": "content_filter",
                "message": CONTENT_FILTER_MESSAGE,
                "param": param,
                "type": "invalid_request_error",
                "inner_error": {
                    "code": "ResponsibleAIPolicyViolation",
                    "error_details": details,
                },
            }
        },
    )


def retry_headers(
    *,
    seconds: float | None,
    ms: int | None = None,
    http_date: bool = False,
    now: float = 0.0,
) -> dict[str, str]:
    """``Retry-After`` (integer seconds, min 1, or an HTTP-date) and/or ``retry-after-ms``.

    ``now`` is the emulator clock's Unix time, used for the HTTP-date form so a client on
    the same ManualClock computes the intended delay.
    """
    headers: dict[str, str] = {}
    if seconds is not None and seconds > 0:
        if http_date:
            headers["Retry-After"] = formatdate(now + seconds, usegmt=True)
        else:
            # The OpenAPI spec says integer seconds, minimum 1.
            headers["Retry-After"] = str(max(1, round(seconds)))
    if ms is not None and ms > 0:
        headers["retry-after-ms"] = str(ms)
    return headers


def rate_limit_error(retry_after: float | None, headers: Mapping[str, str]) -> ApiError:
    """Azure-style 429 (``code`` "429"), with the retry headers already computed."""
    wait = f" Please retry after {max(1, round(retry_after))} seconds." if retry_after else ""
    message = (
        "Requests to the Videos API have exceeded the call rate limit of your current quota."
        f"{wait} Please go here: https://aka.ms/oai/quotaincrease if you would like to further "
        "increase the default rate limit."
    )
    all_headers = {"x-ratelimit-remaining-requests": "0", **headers}
    return ApiError(429, {"error": {"code": "429", "message": message}}, all_headers)


_SERVER_MESSAGES = {
    500: ("The server had an error while processing your request. Sorry about that!", None),
    502: ("Bad gateway.", "bad_gateway"),
    503: (
        "The service is temporarily unable to process your request. Please try again later.",
        "service_unavailable",
    ),
    504: ("Gateway timeout. The upstream service did not respond in time.", "gateway_timeout"),
}


def server_error(status: int = 500, headers: Mapping[str, str] | None = None) -> ApiError:
    """A 5xx with the OpenAI ``server_error`` envelope."""
    message, code = _SERVER_MESSAGES.get(status, (f"Server error {status}.", None))
    return ApiError(status, openai_envelope(message, type="server_error", code=code), headers)
