"""Shared fixtures: a ManualClock-driven emulator with the fast placeholder renderer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from foundry_video._clock import ManualClock
from foundry_video.emulator import Emulator, PlaceholderRenderer

API = "/openai/v1"
QUEUE_SECONDS = 2.0
JOB_SECONDS = 10.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[Emulator]:
    async with Emulator(
        clock=clock,
        renderer=PlaceholderRenderer(),
        queue_seconds=QUEUE_SECONDS,
        job_seconds=JOB_SECONDS,
    ) as emulator:
        yield emulator


@pytest.fixture
async def session(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    # force_close: aiohttp silently retries a request whose *reused* connection was
    # dropped; fresh connections make dropped-connection faults visible to the test.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(
        emu.endpoint, headers={"api-key": "test-key"}, connector=connector
    ) as s:
        yield s


class Api:
    """Small helpers over a raw aiohttp session (tests must not depend on the SDK)."""

    def __init__(self, session: aiohttp.ClientSession, clock: ManualClock) -> None:
        self.session = session
        self.clock = clock

    async def create(self, prompt: str = "a calico cat playing piano", **fields: Any) -> dict[str, Any]:
        """POST /videos (JSON) and return the body, asserting 200."""
        async with self.session.post(f"{API}/videos", json={"prompt": prompt, **fields}) as resp:
            body: dict[str, Any] = await resp.json()
            assert resp.status == 200, body
            return body

    async def completed(self, prompt: str = "a calico cat playing piano", **fields: Any) -> dict[str, Any]:
        """Create a video and advance the clock until it has completed."""
        video = await self.create(prompt, **fields)
        self.clock.advance(QUEUE_SECONDS + JOB_SECONDS)
        return video

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
        """GET ``API + path``: (status, parsed body, headers)."""
        async with self.session.get(API + path, **kwargs) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json(), resp.headers
            return resp.status, await resp.read(), resp.headers

    async def post(self, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
        """POST ``API + path``: (status, JSON body, headers)."""
        async with self.session.post(API + path, **kwargs) as resp:
            return resp.status, await resp.json(content_type=None), resp.headers

    async def delete(self, path: str) -> tuple[int, Any, Any]:
        """DELETE ``API + path``."""
        async with self.session.delete(API + path) as resp:
            return resp.status, await resp.json(), resp.headers


@pytest.fixture
def api(session: aiohttp.ClientSession, clock: ManualClock) -> Api:
    return Api(session, clock)
