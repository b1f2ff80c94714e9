"""Retry policy: which failures to retry, and how long to wait."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["RetryPolicy", "retry_after_seconds"]

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_SERVER_DELAY = 120.0


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The server's requested delay: ``retry-after-ms``, then ``retry-after`` (seconds or date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter, honouring the server's hints.

    ``initial_delay * 2**attempt`` capped at ``max_delay``, then a random fraction of it
    ("full jitter"), unless the response said how long to wait: ``retry-after-ms`` or
    ``retry-after`` within (0, 120] s is used as given (a longer hint means the caller is
    better told now than kept waiting).
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0

    def should_retry_status(self, status: int, headers: Mapping[str, str]) -> bool:
        """Whether a response with this status (and ``x-should-retry``) may be retried."""
        override = headers.get("x-should-retry")
        if override == "true":
            return True
        if override == "false":
            return False
        return status in RETRYABLE_STATUS

    def delay(self, attempt: int, headers: Mapping[str, str] | None = None,
              *, rng: random.Random | None = None, now: float | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``; ``None`` means do not retry.

        ``now`` is the Unix time an HTTP-date ``Retry-After`` is measured from: the
        transport passes its clock's time, so the wait is measured on the same clock as
        the sleep (a ManualClock in tests; without it a date hint decayed to 0).
        """
        if headers is not None:
            hinted = retry_after_seconds(headers, now=now)
            if hinted is not None:
                if hinted > MAX_SERVER_DELAY:
                    return None
                if hinted > 0:
                    return hinted
        ceiling = min(self.initial_delay * (2**attempt), self.max_delay)
        return (rng or random).uniform(0, ceiling)
