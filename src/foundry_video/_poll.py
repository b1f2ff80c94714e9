"""When to ask again: adaptive polling that reads the job's progress rate.

A fixed 1 s interval costs ~180 status requests for a three-minute job; a fixed 20 s
one notices completion up to 20 s late. Instead, once progress moves, the poller
estimates the time left from the progress rate and waits a fraction of it, so requests
thin out while the job is far from done and tighten near the end. Until progress moves
it backs off geometrically. A service hint (``openai-poll-after-ms`` or ``Retry-After``)
is a floor: the service is never asked sooner than it requested.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._retry import retry_after_seconds

_JITTER_RNG = random.Random()
"""Shared by all strategies: seeding a new Random per job reads 2.5 KB of os.urandom."""


@dataclass
class PollStrategy:
    """Computes the delay before each status request.

    ``interval`` forces a fixed interval (hints still act as a floor); otherwise the delay
    starts at ``initial``, grows by ``backoff`` while progress is flat, and follows the
    estimated time to completion (``eta_fraction`` of it) once the rate is known, always
    between ``min_interval`` and ``max_interval``.
    """

    interval: float | None = None
    initial: float = 1.0
    backoff: float = 1.6
    min_interval: float = 0.5
    max_interval: float = 30.0
    eta_fraction: float = 0.6
    jitter: float = 0.1
    rng: random.Random = field(default_factory=lambda: _JITTER_RNG)
    _samples: list[tuple[float, int]] = field(default_factory=list)
    _flat_polls: int = 0

    def observe(self, now: float, progress: int | None) -> None:
        """Record a status reading taken at ``now`` (monotonic seconds)."""
        if progress is None:
            self._flat_polls += 1
            return
        if self._samples and progress <= self._samples[-1][1]:
            self._flat_polls += 1
            return
        self._samples.append((now, progress))
        self._flat_polls = 0

    def _eta(self, now: float) -> float | None:
        moving = [s for s in self._samples if s[1] > 0]
        if not moving:
            return None
        first_t, first_p = self._samples[0]
        last_t, last_p = self._samples[-1]
        if last_p <= first_p or last_t <= first_t:
            return None
        rate = (last_p - first_p) / (last_t - first_t)
        return max(0.0, (100 - last_p) / rate - (now - last_t))

    def next_delay(self, now: float, headers: Mapping[str, str] | None = None,
                   *, wall_time: float | None = None) -> float:
        """Seconds to wait before the next status request.

        ``now`` is monotonic; ``wall_time`` (Unix seconds on the same clock) measures an
        HTTP-date ``Retry-After``.
        """
        floor = 0.0
        if headers is not None:
            hint_ms = headers.get("openai-poll-after-ms")
            if hint_ms:
                try:
                    floor = float(hint_ms) / 1000.0
                except ValueError:
                    floor = 0.0
            floor = max(floor, retry_after_seconds(headers, now=wall_time) or 0.0)
        if self.interval is not None:
            return max(self.interval, floor)
        eta = self._eta(now)
        if eta is None:
            delay = self.initial * (self.backoff ** min(self._flat_polls, 12))
        else:
            delay = eta * self.eta_fraction
        delay = min(max(delay, self.min_interval), self.max_interval)
        # Spread many jobs' polls apart, only ever earlier, so completion is never noticed late.
        delay *= 1.0 - self.rng.uniform(0.0, self.jitter)
        return max(delay, floor, self.min_interval * 0.5)
