"""Reading the service's error envelopes and headers (OpenAI, Azure v1, Azure Sora 1):
request ids, retry hints, error bodies."""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Mapping
from typing import Any

from ._errors import APIStatusError, ContentPolicyError, status_error_class

REQUEST_ID_HEADERS = ("x-request-id", "apim-request-id", "x-ms-request-id")

_POLICY_CODES = {"content_filter", "content_policy_violation", "moderation_blocked",
                 "responsibleaipolicyviolation", "input_moderation", "output_moderation"}


def request_id_from(headers: Mapping[str, str]) -> str | None:
    """The first request id header present (OpenAI's, then Azure's)."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def hint_seconds(value: str | None, *, unit: float = 1.0) -> float | None:
    """``value`` (a number of ``unit``-second units) as seconds; ``None`` unless finite and
    >= 0 (``"1e400"`` is infinite, ``"nan"`` is not a number: both ignored)."""
    if not value:
        return None
    try:
        seconds = float(value) / unit
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The server's requested delay: ``retry-after-ms``, then ``retry-after`` (seconds or an
    HTTP date, measured from ``now``, Unix seconds; a date in the past means 0).

    Values that are not finite, negative or unparsable are ignored (``None``): they are
    network input, not instructions.
    """
    millis = hint_seconds(headers.get("retry-after-ms"), unit=1000)
    if millis is not None:
        return millis
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = hint_seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
        delay = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, delay) if math.isfinite(delay) else None


def _error_object(body: Any) -> dict[str, Any] | None:
    """The error dict, whether wrapped in ``{"error": ...}`` or bare (Sora 1 spec form)."""
    if not isinstance(body, dict):
        return None
    inner = body.get("error")
    if isinstance(inner, dict):
        return inner
    if "message" in body or "code" in body:
        return body
    return None


def _inner(error: Mapping[str, Any]) -> dict[str, Any]:
    for key in ("innererror", "inner_error"):
        value = error.get(key)
        if isinstance(value, dict):
            return value
    return {}


def content_filter_results(body: Any) -> dict[str, Any]:
    """Per-category content-filter results from an error body (either Azure spelling)."""
    error = _error_object(body) or {}
    inner = _inner(error)
    for source in (inner, error):
        for key in ("content_filter_result", "content_filter_results", "error_details"):
            value = source.get(key)
            if isinstance(value, dict):
                return value
    return {}


def _is_policy(error: Mapping[str, Any]) -> bool:
    codes = {str(error.get("code") or "").lower(), str(_inner(error).get("code") or "").lower()}
    return bool(codes & _POLICY_CODES)


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


MAX_BODY_DEPTH = 32
"""An error body nested deeper than this is kept as text: no real envelope is, and such a
body would break ``repr``/``pickle`` of the exception (RecursionError)."""


def parse_body(raw: bytes) -> Any:
    """Best-effort JSON decoding of an error body; falls back to (at most 2000 chars of) text."""
    if not raw:
        return None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return raw[:2000].decode("utf-8", errors="replace")
    if _depth(body) > MAX_BODY_DEPTH:
        return raw[:2000].decode("utf-8", errors="replace")
    return body


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative, stops past the limit)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if deepest > MAX_BODY_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def make_status_error(
    status: int, headers: Mapping[str, str], raw: bytes, *, reason: str | None = None
) -> APIStatusError:
    """Build the right :class:`APIStatusError` subclass from an error response."""
    body = parse_body(raw)
    error = _error_object(body)
    request_id = request_id_from(headers)
    if error is not None:
        message = _as_text(error.get("message")) or reason or f"HTTP {status}"
        code = _as_text(error.get("code"))
        param = _as_text(error.get("param"))
        type_ = _as_text(error.get("type"))
    else:
        text = body.strip() if isinstance(body, str) else ""
        # HTML error pages from gateways are noise: keep the first line, short.
        if text.lstrip().startswith("<"):
            text = ""
        message = (text.splitlines()[0][:300] if text else None) or reason or f"HTTP {status}"
        code = param = type_ = None
    cls: type[APIStatusError] = status_error_class(status)
    if status == 400 and error is not None and _is_policy(error):
        cls = ContentPolicyError
    return cls(message, status_code=status, code=code, param=param, type=type_,
               request_id=request_id, body=body, headers=dict(headers))
