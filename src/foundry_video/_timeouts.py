"""Time limits on the hot path: asyncio's own (``async-timeout`` before Python 3.11).

Every attempt of every request runs under one. ``anyio.fail_after`` costs about 15 us per
use (sniffio lookups, a generator context manager, a cancel scope); asyncio's timeout is a
timer handle and an ``uncancel()``. The SDK runs on asyncio anyway (aiohttp), and both
kinds of cancellation coexist (anyio 4 and asyncio.timeout count cancellations the same
way). Expiry raises the builtin ``TimeoutError`` on every Python version.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import AbstractAsyncContextManager
from types import TracebackType

__all__ = ["time_limit"]

if sys.version_info >= (3, 11):
    def time_limit(seconds: float | None) -> AbstractAsyncContextManager[object]:
        """``async with time_limit(s):`` raises ``TimeoutError`` after ``s`` seconds."""
        return asyncio.timeout(seconds)
else:  # pragma: no cover - Python 3.10
    import async_timeout

    class _Limit:
        __slots__ = ("_inner",)

        def __init__(self, seconds: float | None) -> None:
            self._inner = async_timeout.timeout(seconds)

        async def __aenter__(self) -> object:
            return await self._inner.__aenter__()

        async def __aexit__(self, exc_type: type[BaseException] | None,
                            exc: BaseException | None, tb: TracebackType | None) -> bool | None:
            try:
                return bool(await self._inner.__aexit__(exc_type, exc, tb))
            except asyncio.TimeoutError:  # not the builtin TimeoutError before 3.11
                raise TimeoutError from None

    def time_limit(seconds: float | None) -> AbstractAsyncContextManager[object]:
        """``async with time_limit(s):`` raises ``TimeoutError`` after ``s`` seconds."""
        return _Limit(seconds)
