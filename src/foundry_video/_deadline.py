"""One deadline for a whole operation (poll + download), measured on the client's clock."""

from __future__ import annotations

from ._clock import Clock

__all__ = ["Deadline"]


class Deadline:
    """``timeout`` seconds from now on ``clock`` (``None``: no deadline).

    Every wait of the operation asks :meth:`bound` for how long it may last, so the status
    requests, the sleeps between them, the wait for the download's response headers and
    every read of its body all share one budget.
    """

    __slots__ = ("_at", "clock", "timeout")

    def __init__(self, clock: Clock, timeout: float | None) -> None:
        self.clock = clock
        self.timeout = timeout
        self._at = None if timeout is None else clock.monotonic() + timeout

    def remaining(self) -> float | None:
        """Seconds left (``None`` without a deadline); raises ``TimeoutError`` once passed."""
        if self._at is None:
            return None
        left = self._at - self.clock.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left

    def bound(self, limit: float | None = None) -> float | None:
        """``min(limit, remaining())``; ``None`` when neither bounds the wait."""
        left = self.remaining()
        if left is None:
            return limit
        return left if limit is None else min(limit, left)

    async def sleep(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or until the deadline and then raise ``TimeoutError``."""
        left = self.remaining()
        if left is not None and delay >= left:
            await self.clock.sleep(left)
            raise TimeoutError("deadline passed")
        await self.clock.sleep(delay)

