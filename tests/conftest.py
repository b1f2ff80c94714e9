from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from foundry_video import ApiKeyAuth, ManualClock, VideoClient

from .fakes import FakeService, MockService, running

SECRET = "sk-test-SECRET-0123456789abcdef"
AZURE = "https://res.openai.azure.com"
BASE = AZURE + "/openai/v1"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def mock_service(clock: ManualClock) -> Iterator[MockService]:
    """A scripted API behind MockTransport (see :class:`MockService`); fails the test if a
    request matched no route."""
    service = MockService(AZURE, SECRET, clock)
    yield service
    assert not service.unmatched, f"requests no route answered: {service.unmatched}"


@pytest.fixture
async def client(mock_service: MockService) -> AsyncIterator[VideoClient]:
    """A client for ``mock_service`` (ManualClock: retries and polls do not sleep)."""
    async with mock_service.client() as c:
        yield c


@pytest.fixture
async def service() -> AsyncIterator[FakeService]:
    async with running() as fake:
        yield fake


@pytest.fixture
async def live_client(service: FakeService, clock: ManualClock) -> AsyncIterator[VideoClient]:
    """A client for the FakeService (real sockets on 127.0.0.1)."""
    async with VideoClient(f"http://127.0.0.1:{service.port}", auth=ApiKeyAuth(SECRET),
                           clock=clock) as c:
        yield c
