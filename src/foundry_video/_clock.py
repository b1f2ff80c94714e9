"""Clocks: the real one, and a manual one that tests and the emulator share.

Polling, retry back-off and the emulator's job progress all read time through a
:class:`Clock`, so a test can run a five-minute job in milliseconds by handing the
same :class:`ManualClock` to the emulator and to the client.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import anyio
import anyio.lowlevel

__all__ = ["Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What the SDK and the emulator need from a clock."""

    def time(self) -> float:
        """Wall-clock time in Unix seconds (used for timestamps such as ``created_at``)."""
        ...

    def monotonic(self) -> float:
        """A monotonic reading in seconds (used for deadlines and intervals)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (cancellable)."""
        ...


class SystemClock:
    """The real clock: :func:`time.time`, :func:`time.monotonic` and :func:`anyio.sleep`."""

    def time(self) -> float:
        """Return the current Unix time."""
        return time.time()

    def monotonic(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        await anyio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A virtual clock that only moves when told to.

    With ``auto_advance=True`` (the default) every :meth:`sleep` moves the clock forward
    by the slept duration and returns at once, so a client polling a job on the emulator
    with this clock sees the job progress without waiting. With ``auto_advance=False``
    sleepers wait until :meth:`advance` moves the clock past their wake-up time.

    Concurrent sleepers with ``auto_advance=True`` each add their own duration: the
    clock is a test device for deterministic runs, not a scheduler.
    """

    def __init__(self, start: float = 1_760_000_000.0, *, auto_advance: bool = True) -> None:
        self._start = float(start)
        self._elapsed = 0.0
        self.auto_advance = auto_advance
        self._changed: anyio.Event | None = None
        self.sleeps: list[float] = []
        """Every duration passed to :meth:`sleep`, in order (handy for assertions)."""

    def time(self) -> float:
        """Return the virtual Unix time."""
        return self._start + self._elapsed

    def monotonic(self) -> float:
        """Return the virtual seconds elapsed since the clock was made."""
        return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` and wake sleepers that are due."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._elapsed += seconds
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def sleep(self, seconds: float) -> None:
        """Advance virtually (``auto_advance``) or wait for :meth:`advance` to pass the wake time."""
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        if self.auto_advance:
            self.advance(seconds)
            await anyio.lowlevel.checkpoint()
            return
        wake = self._elapsed + seconds
        while self._elapsed < wake:
            if self._changed is None:
                self._changed = anyio.Event()
            await self._changed.wait()

    def __repr__(self) -> str:
        return f"ManualClock(time={self.time():.3f}, auto_advance={self.auto_advance})"
