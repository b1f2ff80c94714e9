"""The retry policy: which failures are retried, how often, and how long to wait.

One object holds every budget and the one list of retryable statuses:

* an API call makes at most ``1 + max_retries`` HTTP attempts, whatever failed;
* a status request made while waiting on a job may be retried ``poll_retries`` times
  (a job of minutes deserves more patience with a flaky network than one call);
* a download may resume ``download_resumes`` times, whatever interrupted it.

Redirect hops are not retries: they are capped separately (``max_redirects``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

from ._clock import Clock
from ._errors import APIConnectionError, APIStatusError, AuthenticationError, FoundryVideoError
from ._wire import retry_after_seconds

__all__ = ["RETRYABLE_STATUS", "Attempts", "RetryPolicy", "retry_after_seconds"]

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
"""Statuses worth asking again for (idempotent requests; a create only on 429)."""
MAX_SERVER_DELAY = 120.0
"""A ``Retry-After`` longer than this is not waited for: the caller is told at once."""


def hinted_delay(headers: Mapping[str, str], clock: Clock) -> float | None:
    """The server's requested delay, an HTTP date measured on the clock the client sleeps on.

    A ManualClock shared with the emulator waits exactly what the emulator asked (measured
    against ``time.time()`` a date stamped on the shared clock decays to 0). A date that only
    makes sense against the real wall clock (a server that does not share a test clock) is
    measured against that. With the default SystemClock both are the same.
    """
    hinted = retry_after_seconds(headers, now=clock.time())
    if hinted is not None and not 0 < hinted <= MAX_SERVER_DELAY:
        real = retry_after_seconds(headers, now=time.time())
        if real is not None and 0 < real <= MAX_SERVER_DELAY:
            return real
    return hinted


@dataclass
class Attempts:
    """The attempts of one API call (or one download) against one retry budget."""

    retries: int
    """Retries allowed after the first attempt."""
    made: int = 0
    """Attempts made so far."""
    refreshed_auth: bool = False
    hint_ceiling: float | None = None
    """Clamp a server's delay hint to this instead of giving up on a longer one (polling a
    job: the job goes on, so a wait of ``max_poll_interval`` is the better answer)."""

    @property
    def left(self) -> bool:
        """Whether another attempt fits in the budget."""
        return self.made <= self.retries

    def describe(self) -> str:
        """``"attempt 2/3"`` for log lines."""
        return f"attempt {self.made}/{self.retries + 1}"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter, honouring the server's hints.

    ``initial_delay * 2**attempt`` capped at ``max_delay``, then a random fraction of it
    ("full jitter"), unless the response said how long to wait: ``retry-after-ms`` or
    ``retry-after`` within (0, 120] s is used as given (a longer hint means the caller is
    better told now than kept waiting).
    """

    max_retries: int = 2
    poll_retries: int = 6
    download_resumes: int = 5
    initial_delay: float = 0.5
    max_delay: float = 8.0

    def retryable_status(self, status: int, headers: Mapping[str, str]) -> bool:
        """Whether a response with this status (and ``x-should-retry``) may be retried."""
        override = headers.get("x-should-retry")
        if override == "true":
            return True
        if override == "false":
            return False
        return status in RETRYABLE_STATUS

    def retry_cause(self, error: FoundryVideoError, *, idempotent: bool,
                    reached_server: bool) -> str | None:
        """Why ``error`` may be retried (``"rate_limit"``, ``"server_error"``, ...), or ``None``.

        A request that is not idempotent (a create) is sent again only when that cannot
        start a second job: the connection was refused (``reached_server=False``), the
        service answered 429, or it declared the retry safe (``x-should-retry: true``).
        """
        if isinstance(error, APIStatusError):
            if not self.retryable_status(error.status_code, error.headers):
                return None
            if not (idempotent or error.status_code == 429
                    or error.headers.get("x-should-retry") == "true"):
                return None
            if error.status_code == 429:
                return "rate_limit"
            return "server_error" if error.status_code >= 500 else f"http_{error.status_code}"
        if isinstance(error, APIConnectionError):
            if not (idempotent or not reached_server):
                return None
            return "connection" if type(error) is APIConnectionError else "timeout"
        return None

    def delay(self, attempt: int, headers: Mapping[str, str] | None = None,
              *, rng: random.Random | None = None, clock: Clock | None = None,
              hint_ceiling: float | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``; ``None`` means do not retry.

        ``clock`` measures an HTTP-date ``Retry-After`` (see :func:`hinted_delay`). A hint
        over 120 s gives up, unless ``hint_ceiling`` is set: then it is clamped to that.
        """
        if headers is not None:
            hinted = (hinted_delay(headers, clock) if clock is not None
                      else retry_after_seconds(headers))
            if hinted is not None:
                if hint_ceiling is not None:
                    hinted = min(hinted, hint_ceiling)
                if hinted > MAX_SERVER_DELAY:
                    return None
                if hinted > 0:
                    return hinted
        ceiling = min(self.initial_delay * (2 ** min(attempt, 32)), self.max_delay)
        return (rng or random).uniform(0, ceiling)

    @staticmethod
    def auth_refresh_due(error: FoundryVideoError, attempts: Attempts) -> bool:
        """A first 401 of this call: worth one retry with fresh credentials."""
        return isinstance(error, AuthenticationError) and not attempts.refreshed_auth
