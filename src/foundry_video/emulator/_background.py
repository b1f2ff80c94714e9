"""Serving an :class:`~foundry_video.emulator.Emulator` from a thread of its own.

``async with Emulator()`` serves from the caller's event loop, which is what async tests
want but cannot work for blocking code: a ``SyncVideoClient`` call (or a ``requests``
call, or the official ``openai`` client) waiting on that same loop would wait forever for
an answer the blocked loop cannot send. ``with Emulator()`` runs it on an anyio blocking
portal instead.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from anyio.from_thread import BlockingPortal, start_blocking_portal

if TYPE_CHECKING:
    from ._app import Emulator

__all__ = ["BackgroundServer"]


class BackgroundServer:
    """Starts ``emulator`` on an event loop in a daemon thread; :meth:`close` stops both."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._portal_cm: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        try:
            self._portal.call(_name_thread)
            self._portal.call(emulator.start)
        except BaseException:
            self._portal_cm.__exit__(None, None, None)
            raise

    def close(self) -> None:
        """Stop serving and end the thread."""
        try:
            self._portal.call(self._emulator.stop)
        finally:
            self._portal_cm.__exit__(None, None, None)


def _name_thread() -> None:
    threading.current_thread().name = "foundry-video-emulator"
