"""Pytest fixtures for applications that use foundry-video (a ``pytest11`` plugin).

Installed automatically with the package. Fixtures:

* ``video_clock`` — a :class:`~foundry_video.ManualClock` shared by emulator and client, so
  jobs that take minutes of virtual time finish instantly;
* ``video_emulator`` — a running :class:`~foundry_video.emulator.Emulator` on 127.0.0.1;
* ``video_client`` — a :class:`~foundry_video.VideoClient` connected to it.

This module is imported by every pytest run in an environment where foundry-video is
installed, so it imports nothing heavy at module level.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._client import VideoClient
    from ._clock import ManualClock
    from .emulator import Emulator

__all__ = ["video_client", "video_clock", "video_emulator"]

TEST_API_KEY = "test-key"


@pytest.fixture
def video_clock() -> ManualClock:
    """A virtual clock that jumps forward whenever the SDK sleeps."""
    from ._clock import ManualClock

    return ManualClock()


@pytest.fixture
async def video_emulator(video_clock: ManualClock) -> AsyncIterator[Emulator]:
    """A running emulator on a random 127.0.0.1 port, driven by ``video_clock``."""
    from .emulator import Emulator

    async with Emulator(clock=video_clock, api_keys={TEST_API_KEY}) as emulator:
        yield emulator


@pytest.fixture
async def video_client(video_emulator: Emulator, video_clock: ManualClock
                       ) -> AsyncIterator[VideoClient]:
    """A client for ``video_emulator`` sharing its clock."""
    from ._auth import ApiKeyAuth
    from ._client import VideoClient

    async with VideoClient(video_emulator.endpoint, auth=ApiKeyAuth(TEST_API_KEY),
                           clock=video_clock) as client:
        yield client
