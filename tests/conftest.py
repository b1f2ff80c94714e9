from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import aioresponses.core as aioresponses_core
import pytest
from aiohttp import ClientResponse
from aioresponses import aioresponses

from foundry_video import ApiKeyAuth, ManualClock, VideoClient

from .fakes import FakeService

SECRET = "sk-test-SECRET-0123456789abcdef"
AZURE = "https://res.openai.azure.com"
BASE = AZURE + "/openai/v1"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


class _CompatResponse(ClientResponse):
    """aioresponses 0.7.9 predates aiohttp 3.14's required ``stream_writer`` argument."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(*args, **kwargs)


@pytest.fixture
def mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[aioresponses]:
    if "stream_writer" in inspect.signature(ClientResponse.__init__).parameters:
        monkeypatch.setattr(aioresponses_core, "ClientResponse", _CompatResponse)
    with aioresponses() as m:
        yield m


@pytest.fixture
async def client(clock: ManualClock) -> AsyncIterator[VideoClient]:
    async with VideoClient(AZURE, auth=ApiKeyAuth(SECRET), clock=clock) as c:
        yield c


@pytest.fixture
async def service() -> AsyncIterator[FakeService]:
    fake = FakeService()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def live_client(service: FakeService, clock: ManualClock) -> AsyncIterator[VideoClient]:
    """A client for the FakeService (real sockets on 127.0.0.1)."""
    async with VideoClient(f"http://127.0.0.1:{service.port}", auth=ApiKeyAuth(SECRET),
                           clock=clock) as c:
        yield c
