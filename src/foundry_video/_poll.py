"""When to ask again: a poll schedule whose detection lag is bounded by the job's age.

Progress is not promised to be linear: it may sit at 0 until the end, accelerate, or
jump, so a schedule that trusts a rate estimate sleeps through the end of such jobs.
This one rests on what is always known, the job's *age* (time since ``created_at``),
and uses progress only where that is safe:

1. ``openai-poll-after-ms`` is the service's own cadence: it is followed as the interval.
2. Otherwise each wait is at most ``max(min_interval, age_fraction * age)``: a job whose
   progress says nothing (0 throughout, or none) and ends at age ``T`` is noticed within
   ``max(min_interval, age_fraction * T)``, and the requests grow with ``log(T)`` once
   ``age_fraction * age`` passes ``min_interval`` (each wait multiplies the age by
   ``1 + age_fraction``).
3. Progress may *lengthen* a wait only up to the earliest completion it allows under the
   assumption that progress is at least ``(run time / run length) ** 3`` (linear,
   decelerating, S-shaped, stepped and accelerating-as-``t**3`` progress satisfy it), and
   never past ``loosen_cap * age``: progress that breaks the assumption is still noticed
   within that fraction of the job's age. It *shortens* a long wait that would sleep past the
   completion its average pace predicts (and, once that has passed, backs off from it
   geometrically). The ``t**3`` bound comes from one reading, not a rate, so integer
   percentages and polling gaps cannot make it optimistic, and a value counts from when
   it was first seen, so a stall cannot stretch anything.

``Retry-After`` (and ``retry-after-ms``) is a floor: the service is never asked sooner.
Every hint is network input: non-finite, negative or unparsable values are ignored and
the rest clamped to ``max_interval``, so no header can make ``await job`` sleep for long.

The numbers (``benchmarks/RESULTS.md`` has them per curve): a job of ``T`` seconds costs
about ``T / 2 - 1`` requests while ``T < min_interval / age_fraction`` (~29 s), then
``log(T / 29) / log(1.07)`` more at most; a linear 3-minute job takes ~21.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ._wire import hint_seconds, retry_after_seconds

__all__ = ["PollStrategy", "job_age"]

_JITTER_RNG = random.Random()
"""Shared by all strategies: seeding a new Random per job reads 2.5 KB of os.urandom."""

POLL_AFTER_HEADER = "openai-poll-after-ms"
MIN_HINT_INTERVAL = 0.1
"""A cadence hint below this (e.g. ``0``) is raised to it, so a buggy hint cannot make the
client hammer the service."""


def job_age(model: object, wall_time: float) -> float | None:
    """Seconds since ``model.created_at`` on the client's clock (``wall_time``), if known.

    A ``created_at`` ahead of the client's clock (skew) gives a negative age, which
    :meth:`PollStrategy.observe` treats as "just created".
    """
    created: object = getattr(model, "created_at", None)
    if not isinstance(created, datetime):
        return None
    return wall_time - created.timestamp()


@dataclass
class PollStrategy:
    """Computes the delay before each status request of one job (see the module docstring).

    ``interval`` forces a fixed interval (hints are then only a floor). Times are the
    client clock's monotonic seconds; :meth:`observe` is told each status reading and,
    once, the job's age.
    """

    interval: float | None = None
    min_interval: float = 2.0
    """The shortest adaptive wait, and the detection lag of short jobs."""
    first_interval: float = 3.0
    """The shortest first wait (a video job takes far longer): with ``min_interval`` after
    it, a job of ``T`` seconds costs about ``T / 2 - 1`` requests while it is young."""
    max_interval: float = 30.0
    """No wait is longer, whatever the job's age, progress or the service's hints."""
    age_fraction: float = 0.07
    """The longest wait as a fraction of the job's age, when progress tells nothing."""
    loosen_cap: float = 0.35
    """The longest wait as a fraction of the job's age, however far progress puts the end."""
    eta_fraction: float = 0.8
    """Of the time to the earliest completion progress allows, how much to sleep at once."""
    jitter: float = 0.1
    """Age-proportional waits are shortened by up to this fraction, and ``first_interval``
    lengthened by up to it (so jobs created together do not poll in step)."""
    rng: random.Random = field(default_factory=lambda: _JITTER_RNG)
    _origin: float | None = None
    _run_start: float | None = None
    _reading: tuple[float, int] | None = None
    _first_delay: bool = True

    # -- what the job says --------------------------------------------------------------

    def observe(self, now: float, progress: int | None, *, running: bool = False,
                age: float | None = None) -> None:
        """Record a status reading taken at ``now``.

        ``running`` says the job has left the queue. ``age`` is how old the job was at
        ``now`` (from its ``created_at``, on the client's clock); the first one given is
        used. Without one, the job's age counts from its first reading.
        """
        if self._origin is None:
            self._origin = now - max(0.0, age) if age is not None and math.isfinite(age) else now
        moving = progress is not None and progress > 0
        if self._run_start is None and (running or moving):
            self._run_start = now
        if not moving or progress is None:
            self._reading = None
        elif self._reading is None or self._reading[1] != progress:
            # Progress that stalls is evidence of nothing: a value counts from when it was
            # first seen, so what it allows does not grow while it stays put.
            self._reading = (now, progress)

    def expected_completion(self) -> float | None:
        """When the job completes if progress keeps its average pace since the run
        started (``None`` while progress is 0 or unknown)."""
        if self._reading is None or self._run_start is None:
            return None
        seen, progress = self._reading
        return self._run_start + (seen - self._run_start) * 100 / progress

    def age(self, now: float) -> float:
        """The job's age at ``now`` (0 before the first reading)."""
        return 0.0 if self._origin is None else max(0.0, now - self._origin)

    def earliest_completion(self) -> float | None:
        """The earliest completion the last reading allows, if progress is at least
        ``(run time / run length) ** 3`` (``None`` while progress is 0 or unknown).

        Below ``p + 1`` percent after ``r`` seconds of running means a run of at least
        ``r * (100 / (p + 1)) ** (1/3)`` seconds: no rate is estimated, so neither integer
        percentages nor the gaps between polls make it optimistic.
        """
        if self._reading is None or self._run_start is None:
            return None
        seen, progress = self._reading
        run = seen - self._run_start
        return seen + run * (math.pow(100 / min(100, progress + 1), 1 / 3) - 1)

    # -- when to ask again --------------------------------------------------------------

    def next_delay(self, now: float, headers: Mapping[str, str] | None = None,
                   *, wall_time: float | None = None) -> float:
        """Seconds to wait before the next status request.

        ``headers`` are the last response's; ``wall_time`` (Unix seconds on the same clock
        as ``now``) measures an HTTP-date ``Retry-After``.
        """
        headers = headers or {}
        first, self._first_delay = self._first_delay, False
        floor = retry_after_seconds(headers, now=wall_time) or 0.0
        cadence = hint_seconds(headers.get(POLL_AFTER_HEADER), unit=1000)
        if self.interval is not None:
            delay = max(self.interval, cadence or 0.0)
        elif cadence is not None:
            delay = max(cadence, MIN_HINT_INTERVAL)
        else:
            delay = self._adaptive(now, first=first)
        return max(0.0, min(max(delay, floor), self.max_interval))

    def _adaptive(self, now: float, *, first: bool) -> float:
        age = self.age(now)
        bound = self.age_fraction * age
        earliest = self.earliest_completion()
        if earliest is not None and earliest > now:
            # The end cannot come before `earliest`: approach it in long strides.
            bound = max(bound, min(self.eta_fraction * (earliest - now), self.loosen_cap * age))
        bound *= 1.0 - self.rng.uniform(0.0, self.jitter)
        expected = self.expected_completion()
        if expected is not None and bound > 2 * self.min_interval:
            # Near the end its average pace predicts, do not sleep far past it: wake at it,
            # and once it has passed, wait as long again as it is overdue (at least
            # min_interval), so a stall costs a few requests and a near miss little lag.
            # Only where the wait is long: each early wake costs a request.
            if now < expected < now + bound:
                bound = expected - now
            elif expected <= now:
                bound = min(bound, max(self.min_interval, now - expected))
        if first:
            return max(bound, self.first_interval * (1.0 + self.rng.uniform(0.0, self.jitter)))
        return max(bound, self.min_interval)
