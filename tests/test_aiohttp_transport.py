"""The aiohttp transport itself: what it puts on the wire, and how aiohttp's own failures
map to typed errors (and so to the pipeline's retry decisions).

Everything else about SDK behaviour is tested with MockTransport; these tests are the
reason that is enough: the aiohttp transport sends exactly the Request it is handed.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import aioresponses.core as aioresponses_core
import pytest
import yarl
from aiohttp import ClientResponse, web
from aioresponses import aioresponses

from foundry_video import (
    APIConnectionError,
    ApiKeyAuth,
    APITimeoutError,
    ManualClock,
    Request,
    VideoClient,
)

from .conftest import AZURE, BASE, SECRET
from .fakes import FakeService, video

GET_URL = BASE + "/videos/video_1"
CREATE_URL = BASE + "/videos"


class _CompatResponse(ClientResponse):
    """aioresponses 0.7.9 predates aiohttp 3.14's required ``stream_writer`` argument."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(*args, **kwargs)


@pytest.fixture
def mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[aioresponses]:
    """aioresponses: aiohttp's ClientSession answers from a script (no sockets)."""
    if "stream_writer" in inspect.signature(ClientResponse.__init__).parameters:
        monkeypatch.setattr(aioresponses_core, "ClientResponse", _CompatResponse)
    with aioresponses() as m:
        yield m


@pytest.fixture
async def wire_client(clock: ManualClock) -> AsyncIterator[VideoClient]:
    """A client on the default (aiohttp) transport."""
    async with VideoClient(AZURE, auth=ApiKeyAuth(SECRET), clock=clock) as c:
        yield c


def sent(mock: aioresponses, method: str, url: str) -> int:
    return len(mock.requests.get((method, yarl.URL(url)), []))


# -- what goes on the wire ------------------------------------------------------------------


async def test_the_request_handed_to_the_transport_is_what_the_server_receives(
        service: FakeService, clock: ManualClock) -> None:
    # MockTransport tests assert on Request objects; this pins that aiohttp sends them as
    # they are: percent-escapes and commas untouched, multipart bytes and headers intact.
    handed: list[Request] = []
    received: list[tuple[str, str, dict[str, str], bytes]] = []

    async def record(request: web.Request) -> web.StreamResponse:
        received.append((request.method, request.raw_path, dict(request.headers),
                         await request.read()))
        if request.method == "POST":
            return web.json_response(video())
        if "generations" in request.path:
            return web.json_response({"object": "list", "data": [], "has_more": False})
        return web.json_response(video("../secrets"))

    service.route("POST", "/openai/v1/videos")(record)
    service.route("GET", "/openai/v1/videos/../secrets")(record)
    service.route("GET", "/openai/v1/video/generations/jobs")(record)
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x05\x00\x00\x00\x02\xd0"
           b"\x08\x02\x00\x00\x00" + b"\x00" * 20)
    async with VideoClient(f"http://127.0.0.1:{service.port}", auth=ApiKeyAuth(SECRET),
                           clock=clock, event_hooks={"request": [handed.append]}) as client:
        await client.videos.create(prompt="a cat", size="1280x720", input_reference=png)
        await client.videos.retrieve("../secrets")
        await client.generation_jobs.list(limit=5, statuses=["succeeded", "failed"])
    assert len(handed) == len(received) == 3
    for request, (method, raw_path, headers, body) in zip(handed, received, strict=True):
        assert method == request.method
        assert raw_path == request.url.raw_path_qs
        assert body == (request.content or b"")
        for name, value in request.headers.items():
            assert headers[name] == value
    assert received[0][2]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert received[1][1] == "/openai/v1/videos/..%2Fsecrets"
    assert "statuses=succeeded,failed" in received[2][1]


# -- aiohttp's failures ---------------------------------------------------------------------


async def test_create_is_retried_when_connection_is_refused(
        wire_client: VideoClient, mock: aioresponses) -> None:
    refused = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("res", 443, True, True, None, None, None),
        OSError(111, "Connection refused"))
    mock.post(CREATE_URL, exception=refused)
    mock.post(CREATE_URL, payload=video())
    assert (await wire_client.videos.create(prompt="a cat")).id == "video_1"
    assert sent(mock, "POST", CREATE_URL) == 2


async def test_create_is_not_retried_after_a_dropped_connection(
        wire_client: VideoClient, mock: aioresponses) -> None:
    # The request may have reached the service: re-sending could start a second job.
    mock.post(CREATE_URL, exception=aiohttp.ServerDisconnectedError())
    mock.post(CREATE_URL, payload=video())
    with pytest.raises(APIConnectionError, match="was not retried"):
        await wire_client.videos.create(prompt="a cat")
    assert sent(mock, "POST", CREATE_URL) == 1


async def test_get_is_retried_after_a_dropped_connection(wire_client: VideoClient,
                                                         mock: aioresponses) -> None:
    mock.get(GET_URL, exception=aiohttp.ServerDisconnectedError())
    mock.get(GET_URL, payload=video())
    assert (await wire_client.videos.retrieve("video_1")).id == "video_1"
    assert sent(mock, "GET", GET_URL) == 2


async def test_a_read_timeout_is_an_api_timeout_error(wire_client: VideoClient,
                                                      mock: aioresponses) -> None:
    mock.get(GET_URL, exception=aiohttp.ServerTimeoutError("Timeout on reading data"),
             repeat=True)
    with pytest.raises(APITimeoutError):
        await wire_client.videos.retrieve("video_1")
    assert sent(mock, "GET", GET_URL) == 3  # retried like any network failure of a GET
