"""Fixtures for the reliability suite: a ManualClock emulator, a client on the same clock,
and helpers that state the suite's invariants (exact bytes or a typed error, no debris)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from foundry_video import ApiKeyAuth, ManualClock, VideoClient
from foundry_video.emulator import Emulator, PlaceholderRenderer, RecordedRequest

from ..fakes import ThreadedEmulator

KEY = "rel-KEY-5f3c9a0e7d1b4c2a"
"""The API key every test client sends; no captured output may ever contain it."""
QUEUE_SECONDS = 2.0
JOB_SECONDS = 20.0
VIDEO_BYTES_PER_SECOND = 64 * 1024
"""4 s placeholder videos of ~256 KiB: several reads, cheap to render."""
HANG_GUARD = 15.0
"""Real seconds after which a case counts as hung (nothing here should take one second)."""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[Emulator]:
    async with Emulator(clock=clock, renderer=PlaceholderRenderer(VIDEO_BYTES_PER_SECOND),
                        queue_seconds=QUEUE_SECONDS, job_seconds=JOB_SECONDS,
                        api_keys={KEY}) as emulator:
        yield emulator


@pytest.fixture
async def client(emu: Emulator, clock: ManualClock) -> AsyncIterator[VideoClient]:
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock) as c:
        yield c


@pytest.fixture(autouse=True)
async def no_hang() -> AsyncIterator[None]:
    """Every case is bounded in real time: a hang fails the test instead of the CI job.

    (A cancel scope cannot span fixture and test, which run in different tasks, so a timer
    cancels whatever is still running when the guard expires.)
    """
    fired: list[bool] = []

    def expire() -> None:
        fired.append(True)
        for task in asyncio.all_tasks():
            task.cancel()

    handle = asyncio.get_running_loop().call_later(HANG_GUARD, expire)
    yield
    handle.cancel()
    assert not fired, f"the test hung for more than {HANG_GUARD}s"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    return sha256(path.read_bytes())


async def content_bytes(emu: Emulator, video_id: str, variant: str = "video") -> bytes:
    """The exact asset the emulator serves, fetched with plain aiohttp (not the SDK)."""
    emu.clear_faults()
    seen = len(emu.requests)
    url = f"{emu.endpoint}/openai/v1/videos/{video_id}/content"
    async with aiohttp.ClientSession() as session, session.get(
            url, params={"variant": variant}, headers={"api-key": KEY}) as response:
        assert response.status == 200, await response.text()
        data = await response.read()
    del emu.requests[seen:]  # the reference fetch is not part of what the test counts
    return data


def ops(emu: Emulator, operation: str) -> list[RecordedRequest]:
    """The recorded requests of one operation (``create``, ``retrieve``, ``content``...)."""
    return [r for r in emu.requests if r.operation == operation]


def assert_clean(directory: Path, *expected: Path) -> None:
    """Only the expected files exist: no temp ``.part`` files, nothing under other names."""
    assert sorted(directory.iterdir()) == sorted(expected), list(directory.iterdir())


@pytest.fixture
def wall_clock() -> ManualClock:
    """A ManualClock starting at the real time: the CLI's client reads the system clock,
    and ``expires_at`` stamped on a clock a year behind would look long expired to it."""
    return ManualClock(start=time.time())


@pytest.fixture
def threaded_emu(wall_clock: ManualClock,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedEmulator]:
    """An emulator in a background thread, with the CLI's environment pointing at it."""
    threaded = ThreadedEmulator(clock=wall_clock, poll_after_ms=10,
                                renderer=PlaceholderRenderer(VIDEO_BYTES_PER_SECOND),
                                queue_seconds=QUEUE_SECONDS, job_seconds=JOB_SECONDS,
                                api_keys={KEY})
    with threaded as emulator:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emulator.endpoint)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
        yield threaded
