"""The request pipeline: redirects, bounds, budgets, auth failures, options, hooks, raw access.

Each test here was written against an attack or a broken promise (issue: "one request
pipeline"); most use MockTransport, the ones about real sockets (gzip bombs, huge bodies,
cross-origin redirects through aiohttp) use servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from foundry_video import (
    APIConnectionError,
    ApiKeyAuth,
    APIStatusError,
    APITimeoutError,
    Auth,
    AuthenticationError,
    CredentialError,
    DownloadError,
    InternalServerError,
    ManualClock,
    RateLimitError,
    RedirectError,
    Request,
    Response,
    RetryEvent,
    TokenProviderAuth,
    UnexpectedResponseError,
    VideoClient,
)
from foundry_video.testing import MockTransport

from .conftest import AZURE, SECRET
from .fakes import FakeService, running, video

Handler = Callable[[Request], Response]


def mock_client(handler: Handler, clock: ManualClock, **options: object) -> VideoClient:
    return VideoClient(AZURE, auth=ApiKeyAuth(SECRET), clock=clock,
                       transport=MockTransport(handler), **options)  # type: ignore[arg-type]


def transport_of(client: VideoClient) -> MockTransport:
    transport = client._transport()
    assert isinstance(transport, MockTransport)
    return transport


def scripted(*responses: Response | Callable[[Request], Response]) -> Handler:
    """Answer with each response in turn (the last one repeats)."""
    queue = list(responses)

    def handler(request: Request) -> Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        return item(request) if callable(item) else item

    return handler


def truncated(request: Request) -> Response:
    """A 200 whose body stops short of its Content-Length."""
    return Response(200, content=b'{"id": "vid', headers={"Content-Length": "400"})


# -- redirects ------------------------------------------------------------------------------


@pytest.fixture
async def elsewhere() -> AsyncIterator[FakeService]:
    """A second service on another port: another origin."""
    async with running() as fake:
        yield fake


def redirect_to(target: str, status: int = 302) -> Callable[[web.Request],
                                                            asyncio.Future[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": target})

    return handler  # type: ignore[return-value]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_cross_origin_redirect_of_a_retrieve_carries_no_key(
        live_client: VideoClient, service: FakeService, elsewhere: FakeService,
        status: int) -> None:
    target = f"http://127.0.0.1:{elsewhere.port}/moved/video_1"
    service.route("GET", "/openai/v1/videos/video_1")(redirect_to(target, status))
    elsewhere.json("GET", "/moved/video_1", video("video_1"))
    got = await live_client.videos.retrieve("video_1")
    assert got.id == "video_1"
    assert service.requests[0].headers["api-key"] == SECRET
    moved = elsewhere.last("GET", "/moved/video_1")
    assert SECRET not in json.dumps(moved.headers)
    assert not {"api-key", "authorization"} & {k.lower() for k in moved.headers}


async def test_cross_origin_redirect_of_a_download_carries_no_key(
        live_client: VideoClient, service: FakeService, elsewhere: FakeService,
        tmp_path: Path) -> None:
    service.route("GET", "/openai/v1/videos/video_1/content")(
        redirect_to(f"http://127.0.0.1:{elsewhere.port}/blob/v.mp4?sig=abc"))

    @elsewhere.route("GET", "/blob/v.mp4")
    async def blob(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"\x00" * 5000, content_type="video/mp4")

    path = await live_client.videos.download("video_1", tmp_path / "v.mp4")
    assert path.read_bytes() == b"\x00" * 5000
    blob_request = elsewhere.last("GET", "/blob/v.mp4")
    assert SECRET not in json.dumps(blob_request.headers)
    assert blob_request.query == {"sig": "abc"}


async def test_a_create_redirected_with_307_keeps_method_and_body_but_not_the_key(
        live_client: VideoClient, service: FakeService, elsewhere: FakeService) -> None:
    service.route("POST", "/openai/v1/videos")(
        redirect_to(f"http://127.0.0.1:{elsewhere.port}/videos", 307))
    elsewhere.json("POST", "/videos", video("video_9"))
    job = await live_client.videos.create(prompt="a cat")
    assert job.id == "video_9"
    moved = elsewhere.last("POST", "/videos")
    assert json.loads(moved.body)["prompt"] == "a cat"
    assert SECRET not in json.dumps(moved.headers)


async def test_a_create_redirected_with_302_is_refused(clock: ManualClock) -> None:
    client = mock_client(scripted(Response(302, headers={"Location": "/elsewhere"})), clock)
    with pytest.raises(RedirectError, match="turn the POST into a GET") as info:
        await client.videos.create(prompt="a cat")
    assert info.value.status_code == 302
    assert [r.method for r in transport_of(client).requests] == ["POST"]


async def test_https_to_http_is_refused_before_anything_is_sent(clock: ManualClock) -> None:
    client = mock_client(scripted(
        Response(302, headers={"Location": "http://res.openai.azure.com/openai/v1/videos/v"}),
        Response(200, json=video())), clock)
    with pytest.raises(RedirectError, match="https to plain http"):
        await client.videos.retrieve("v")
    assert len(transport_of(client).requests) == 1


@pytest.mark.parametrize("location", ["ftp://x.example/v", "javascript:alert(1)", "file:///etc/passwd"])
async def test_non_http_locations_are_refused(clock: ManualClock, location: str) -> None:
    client = mock_client(scripted(Response(302, headers={"Location": location})), clock)
    with pytest.raises(RedirectError):
        await client.videos.retrieve("v")
    assert len(transport_of(client).requests) == 1


async def test_redirect_hops_are_capped(clock: ManualClock) -> None:
    counter = itertools.count()
    client = mock_client(lambda r: Response(302, headers={"Location": f"/loop/{next(counter)}"}),
                         clock, max_redirects=3)
    with pytest.raises(RedirectError, match="more than 3 redirects"):
        await client.videos.retrieve("v")
    assert len(transport_of(client).requests) == 4  # the request and three hops


async def test_credentials_leave_on_a_hop_away_and_return_on_a_hop_home(clock: ManualClock) -> None:
    client = mock_client(scripted(
        Response(302, headers={"Location": "https://cdn.example.net/x"}),
        Response(302, headers={"Location": AZURE + "/openai/v1/videos/v2"}),
        Response(200, json=video("v2"))), clock)
    await client.videos.retrieve("v")
    sent = [(r.url.host, r.headers.get("api-key")) for r in transport_of(client).requests]
    assert sent == [("res.openai.azure.com", SECRET), ("cdn.example.net", None),
                    ("res.openai.azure.com", SECRET)]


async def test_credential_like_default_headers_are_dropped_cross_origin(clock: ManualClock) -> None:
    client = mock_client(scripted(
        Response(307, headers={"Location": "https://other.example/v"}), Response(200, json=video())),
        clock, default_headers={"Ocp-Apim-Subscription-Key": "apim-secret", "X-Trace": "t"})
    await client.videos.retrieve("v")
    away = transport_of(client).requests[1]
    assert "Ocp-Apim-Subscription-Key" not in away.headers
    assert away.headers["X-Trace"] == "t"


# -- bounded reads --------------------------------------------------------------------------


@pytest.fixture
async def hostile() -> AsyncIterator[tuple[str, dict[str, Callable[[web.Request], object]]]]:
    """A raw aiohttp server whose routes tests fill in."""
    routes: dict[str, Callable[[web.Request], object]] = {}

    async def dispatch(request: web.Request) -> web.StreamResponse:
        handler = routes[request.path]
        return await handler(request)  # type: ignore[no-any-return, misc]

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", dispatch)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", routes
    finally:
        await runner.cleanup()


def gzip_bomb(decompressed: int) -> bytes:
    """Gzip of ``decompressed`` zero bytes (~1000:1)."""
    return gzip.compress(b"\0" * decompressed, compresslevel=9)


BOMB = gzip_bomb(256 << 20)  # 256 MiB of zeros in ~250 KB


async def _peak_during(coro: object) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        await coro  # type: ignore[misc]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("status", [500, 200])
async def test_a_gzip_bomb_body_is_read_within_a_bound(
        hostile: tuple[str, dict[str, Callable[[web.Request], object]]], clock: ManualClock,
        status: int) -> None:
    base, routes = hostile

    async def bomb(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=BOMB, headers={
            "Content-Encoding": "gzip", "Content-Type": "application/json"})

    routes["/openai/v1/videos/v"] = bomb
    async with VideoClient(base, auth=ApiKeyAuth(SECRET), clock=clock, max_retries=0) as client:
        expected = InternalServerError if status == 500 else UnexpectedResponseError

        async def attempt() -> None:
            with pytest.raises(expected):
                await client.videos.retrieve("v")

        peak = await _peak_during(attempt())
    # An error body is read up to 256 KiB, a success body up to 16 MiB (then refused): the
    # peak is a few times that bound, never the 256 MiB the bomb inflates to.
    bound = (8 << 20) if status == 500 else (96 << 20)
    assert peak < bound, f"peak {peak >> 20} MiB while reading a 256 MiB bomb"


async def test_a_huge_error_body_is_not_read_whole(
        hostile: tuple[str, dict[str, Callable[[web.Request], object]]], clock: ManualClock) -> None:
    base, routes = hostile
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(status=500, headers={"Content-Type": "text/plain"})
        response.content_length = 1 << 30
        await response.prepare(request)
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(1024):
                await response.write(chunk)
                sent += len(chunk)
        except (ConnectionError, aiohttp.ClientConnectionResetError):
            pass
        return response

    routes["/openai/v1/videos/v"] = endless
    async with VideoClient(base, auth=ApiKeyAuth(SECRET), clock=clock, max_retries=0) as client:
        async def attempt() -> None:
            with pytest.raises(InternalServerError):
                await client.videos.retrieve("v")

        peak = await _peak_during(attempt())
    assert peak < 16 << 20
    assert sent < 256 << 20  # the connection was dropped long before 1 GiB


async def test_a_body_short_of_its_content_length_is_an_incomplete_response(
        clock: ManualClock) -> None:
    client = mock_client(truncated, clock, max_retries=0)
    with pytest.raises(APIConnectionError, match="400 bytes announced"):
        await client.videos.retrieve("v")


# -- hints ----------------------------------------------------------------------------------


@pytest.mark.parametrize("hint", ["1e9", "inf", "1e400"])
async def test_an_absurd_retry_after_is_not_waited_for(clock: ManualClock, hint: str) -> None:
    client = mock_client(scripted(Response(503, headers={"Retry-After": hint}, json={}),
                                  Response(200, json=video())), clock)
    if hint == "1e9":
        with pytest.raises(InternalServerError):
            await client.videos.retrieve("v")
        assert clock.sleeps == []
    else:  # not a finite number: ignored, ordinary back-off instead
        await client.videos.retrieve("v")
        assert len(clock.sleeps) == 1 and 0 <= clock.sleeps[0] <= 0.5


@pytest.mark.parametrize("hint", ["nan", "-5", "soon", "Sun, 99 Foo 9999 99:99:99 GMT"])
async def test_garbage_retry_after_falls_back_to_backoff(clock: ManualClock, hint: str) -> None:
    client = mock_client(scripted(Response(429, headers={"Retry-After": hint}, json={}),
                                  Response(200, json=video())), clock)
    await client.videos.retrieve("v")
    assert len(clock.sleeps) == 1 and 0 <= clock.sleeps[0] <= 0.5


# -- one retry budget -----------------------------------------------------------------------


def _failure(kind: str) -> Callable[[Request], Response]:
    def fail(request: Request) -> Response:
        if kind == "503":
            return Response(503, json={"error": {"message": "busy"}})
        if kind == "429":
            return Response(429, json={"error": {"message": "slow down"}})
        if kind == "truncated":
            return truncated(request)
        if kind == "reset":
            raise ConnectionResetError("reset by peer")
        if kind == "401":
            return Response(401, json={"error": {"message": "expired"}})
        raise AssertionError(kind)

    return fail


KINDS = ["503", "429", "truncated", "reset", "401"]


@pytest.mark.parametrize("max_retries", [0, 1, 2, 3])
@pytest.mark.parametrize("sequence", [("503", "503", "truncated"), ("truncated",) * 6,
                                      ("reset", "429", "503", "truncated", "reset"),
                                      ("401", "503", "401", "reset")])
async def test_an_api_call_never_makes_more_than_1_plus_max_retries_attempts(
        clock: ManualClock, max_retries: int, sequence: tuple[str, ...]) -> None:
    # A token provider: a 401 is worth one refresh (which counts as an attempt too).
    client = VideoClient(AZURE, auth=TokenProviderAuth(lambda: "token-abcdefgh"), clock=clock,
                         max_retries=max_retries,
                         transport=MockTransport(scripted(*[_failure(k) for k in sequence])))
    with pytest.raises((APIConnectionError, InternalServerError, RateLimitError,
                        AuthenticationError)):
        await client.videos.retrieve("v")
    expected, refreshed = 0, False
    for kind in itertools.chain(sequence, itertools.repeat(sequence[-1])):  # the last repeats
        expected += 1
        if kind == "401" and refreshed:
            break  # a second 401 after a refresh is final
        refreshed = refreshed or kind == "401"
        if expected == 1 + max_retries:
            break
    assert len(transport_of(client).requests) == expected <= 1 + max_retries


async def test_the_report_case_503_503_truncated_is_three_attempts(clock: ManualClock) -> None:
    client = mock_client(scripted(_failure("503"), _failure("503"), truncated,
                                  Response(200, json=video())), clock, max_retries=2)
    with pytest.raises(APIConnectionError):
        await client.videos.retrieve("v")
    assert len(transport_of(client).requests) == 3


async def test_a_create_is_sent_once_whatever_failed_after_it_may_have_arrived(
        clock: ManualClock) -> None:
    for kind in ("503", "truncated", "reset"):
        client = mock_client(scripted(_failure(kind), Response(200, json=video())), clock)
        with pytest.raises((InternalServerError, APIConnectionError)):
            await client.videos.create(prompt="a cat")
        assert len(transport_of(client).requests) == 1, kind


async def test_a_create_refused_before_connecting_is_retried(clock: ManualClock) -> None:
    def refuse(request: Request) -> Response:
        raise ConnectionRefusedError("refused")

    client = mock_client(scripted(refuse, Response(200, json=video())), clock)
    job = await client.videos.create(prompt="a cat")
    assert job.id == "video_1"
    assert len(transport_of(client).requests) == 2


# -- auth -----------------------------------------------------------------------------------


async def test_a_hanging_async_provider_is_a_credential_error_within_the_timeout() -> None:
    async def hang() -> str:
        await asyncio.sleep(3600)
        return "never"

    client = VideoClient(AZURE, auth=TokenProviderAuth(hang), timeout=0.2,
                         transport=MockTransport(lambda r: Response(200, json=video())))
    started = time.monotonic()
    with pytest.raises(CredentialError, match="did not return a token"):
        await client.videos.retrieve("v")
    assert time.monotonic() - started < 2
    assert transport_of(client).requests == []


async def test_a_blocking_sync_provider_runs_off_the_event_loop() -> None:
    def slow_provider() -> str:
        time.sleep(0.3)
        return "token-from-a-slow-provider"

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    client = VideoClient(AZURE, auth=TokenProviderAuth(slow_provider),
                         transport=MockTransport(lambda r: Response(200, json=video())))
    task = asyncio.create_task(ticker())
    await client.videos.retrieve("v")
    task.cancel()
    assert ticks >= 10  # the loop kept running while the provider blocked for 0.3 s
    assert transport_of(client).requests[0].headers["Authorization"] == \
        "Bearer token-from-a-slow-provider"


@pytest.mark.parametrize("value", [None, "", "   ", 42])
async def test_a_provider_returning_no_token_is_a_credential_error(value: object) -> None:
    client = VideoClient(AZURE, auth=TokenProviderAuth(lambda: value),  # type: ignore[arg-type, return-value]
                         transport=MockTransport(lambda r: Response(200, json=video())))
    with pytest.raises(CredentialError, match="not a token"):
        await client.videos.retrieve("v")
    assert transport_of(client).requests == []  # never "Bearer None"


async def test_a_provider_that_raises_is_a_credential_error_with_its_cause() -> None:
    def broken() -> str:
        raise RuntimeError("IMDS unreachable")

    client = VideoClient(AZURE, auth=TokenProviderAuth(broken),
                         transport=MockTransport(lambda r: Response(200, json=video())))
    with pytest.raises(CredentialError, match="IMDS unreachable") as info:
        await client.videos.retrieve("v")
    assert isinstance(info.value.__cause__, RuntimeError)


async def test_every_token_a_provider_handed_out_is_redacted() -> None:
    tokens = (f"rotating-token-{n:04d}-abcdefgh" for n in itertools.count())
    echoed: list[str] = []

    def echo(request: Request) -> Response:
        echoed.append(request.headers["Authorization"])
        if len(echoed) < 3:
            return Response(200, json=video())
        return Response(400, json={"error": {"message": f"bad tokens: {' '.join(echoed)}"}})

    client = VideoClient(AZURE, auth=TokenProviderAuth(lambda: next(tokens)),
                         transport=MockTransport(echo))
    await client.videos.retrieve("v")
    await client.videos.retrieve("v")
    with pytest.raises(Exception) as info:
        await client.videos.retrieve("v")
    assert "rotating-token" not in str(info.value)
    assert "rotating-token" not in repr(info.value.args)


# -- settings, copies, options --------------------------------------------------------------


def test_settings_are_read_only(clock: ManualClock) -> None:
    client = mock_client(lambda r: Response(200, json=video()), clock)
    with pytest.raises(AttributeError):
        client.timeout = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        client.max_retries = 9  # type: ignore[misc]


async def test_with_options_makes_a_configured_copy_sharing_the_pool(clock: ManualClock) -> None:
    client = mock_client(scripted(_failure("503")), clock, max_retries=2)
    patient = client.with_options(max_retries=5, default_headers={"X-Team": "video"})
    assert (client.max_retries, patient.max_retries) == (2, 5)
    with pytest.raises(InternalServerError):
        await patient.videos.retrieve("v")
    transport = transport_of(client)
    assert len(transport.requests) == 6 and transport.requests[0].headers["X-Team"] == "video"
    await patient.close()
    assert not transport.closed
    await client.videos.retrieve("v") if False else None
    await client.close()
    assert transport.closed
    with pytest.raises(RuntimeError, match="closed"):
        await patient.videos.retrieve("v")


async def test_a_client_closed_before_first_use_stays_closed(clock: ManualClock) -> None:
    client = mock_client(lambda r: Response(200, json=video()), clock)
    await client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await client.videos.retrieve("v")


async def test_per_request_options_reach_the_wire(clock: ManualClock) -> None:
    client = mock_client(lambda r: Response(200, json=video()), clock)
    await client.videos.create(prompt="a cat", extra_headers={"X-Trace": "1"},
                               extra_query={"feature": "beta"}, extra_body={"quality": "hd"})
    await client.videos.retrieve("v", extra_headers={"X-Other": "2"})
    create, retrieve = transport_of(client).requests
    assert create.headers["X-Trace"] == "1" and create.url.query["feature"] == "beta"
    assert create.json() == {"model": "sora-2", "prompt": "a cat", "quality": "hd"}
    assert retrieve.headers["X-Other"] == "2" and "X-Trace" not in retrieve.headers


async def test_per_request_timeout_bounds_a_hanging_transport(clock: ManualClock) -> None:
    async def hang(request: Request) -> Response:
        await asyncio.sleep(3600)
        raise AssertionError

    client = mock_client(hang, clock, max_retries=0)  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        await client.videos.retrieve("v", timeout=0.1)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(("options", "error"), [
    ({"timeout": -1}, ValueError), ({"timeout": float("nan")}, ValueError),
    ({"extra_headers": {"X": "a\r\nInjected: 1"}}, ValueError),
    ({"extra_headers": {"X": 1}}, TypeError), ({"extra_body": ["not", "a", "mapping"]}, TypeError),
    ({"retries": 3}, TypeError)])
async def test_bad_options_are_rejected_before_sending(clock: ManualClock, options: dict[str, object],
                                                       error: type[Exception]) -> None:
    client = mock_client(lambda r: Response(200, json=video()), clock)
    with pytest.raises(error):
        await client.videos.create(prompt="a cat", **options)  # type: ignore[arg-type]
    assert transport_of(client).requests == []


# -- raw access and hooks -------------------------------------------------------------------


async def test_raw_requests_go_through_auth_retries_and_error_mapping(clock: ManualClock) -> None:
    client = mock_client(scripted(Response(503, json={}), Response(
        200, json={"object": "list", "data": []}, headers={"x-request-id": "req-7"}),
        Response(404, json={"error": {"message": "no such thing", "code": "not_found"}})), clock)
    response = await client.request("GET", "/videos", params={"limit": 1})
    assert (response.status_code, response.request_id) == (200, "req-7")
    assert response.json() == {"object": "list", "data": []}
    requests = transport_of(client).requests
    assert len(requests) == 2 and requests[1].headers["api-key"] == SECRET
    assert requests[1].url.query["limit"] == "1"
    with pytest.raises(Exception, match="no such thing"):
        await client.request("GET", "/videos/x")


async def test_event_hooks_see_every_attempt_and_may_add_headers(clock: ManualClock) -> None:
    seen: list[str] = []
    retries: list[RetryEvent] = []

    def on_request(request: Request) -> None:
        request.headers["traceparent"] = "00-abc-def-01"
        seen.append(f"request {request.extensions['attempt']}")

    async def on_response(response: Response) -> None:
        seen.append(f"response {response.status_code}")

    client = mock_client(scripted(Response(503, json={}), Response(200, json=video())), clock,
                         event_hooks={"request": [on_request], "response": [on_response],
                                      "retry": [retries.append]})
    await client.videos.retrieve("v")
    assert seen == ["request 1", "response 503", "request 2", "response 200"]
    assert all(r.headers["traceparent"] == "00-abc-def-01" for r in transport_of(client).requests)
    assert [(r.attempt, r.cause) for r in retries] == [(1, "server_error")]


async def _hang(request: Request) -> Response:
    await asyncio.sleep(3600)
    raise AssertionError


@pytest.mark.parametrize(("failure", "cause", "error"), [
    (lambda r: Response(503, json={}), "server_error", InternalServerError),
    (lambda r: Response(500, json={}), "server_error", InternalServerError),
    (lambda r: Response(429, json={}), "rate_limit", RateLimitError),
    (lambda r: Response(408, json={}), "http_408", APIStatusError),
    (lambda r: Response(409, json={}), "http_409", APIStatusError),
    (_failure("reset"), "connection", APIConnectionError),
    (_hang, "timeout", APITimeoutError),
    (_failure("401"), "auth_refresh", AuthenticationError),
])
async def test_retry_hooks_are_told_the_cause_delay_and_request_of_each_retry(
        clock: ManualClock, failure: Callable[[Request], Any], cause: str,
        error: type[Exception]) -> None:
    events: list[RetryEvent] = []
    client = VideoClient(AZURE, auth=TokenProviderAuth(lambda: "token-abcdefgh"), clock=clock,
                         timeout=0.05, event_hooks={"retry": [events.append]},
                         transport=MockTransport(scripted(failure, Response(200, json=video()))))
    await client.videos.retrieve("v")
    (event,) = events
    first = transport_of(client).requests[0]
    assert (event.cause, event.attempt, event.request) == (cause, 1, first)
    assert isinstance(event.error, error)
    assert clock.sleeps == [event.delay]
    if cause == "auth_refresh":
        assert event.delay == 0.0  # fresh credentials: no reason to wait


async def test_retry_hooks_are_told_of_a_download_resuming(clock: ManualClock,
                                                           tmp_path: Path) -> None:
    def cut(request: Request) -> Response:
        return Response(200, content=[b"x" * 10], headers={"Content-Length": "20"})

    def rest(request: Request) -> Response:
        return Response(206, content=b"y" * 10, headers={"Content-Range": "bytes 10-19/20"})

    events: list[RetryEvent] = []
    client = mock_client(scripted(cut, rest), clock, event_hooks={"retry": [events.append]})
    saved = await client.videos.download("video_1", tmp_path / "v.mp4")
    assert saved.read_bytes() == b"x" * 10 + b"y" * 10
    (event,) = events
    first, second = transport_of(client).requests
    assert (event.cause, event.attempt, event.request) == ("resume", 1, first)
    assert second.headers["Range"] == "bytes=10-"
    assert [event.delay] == clock.sleeps and "20 bytes" in str(event.error)


def test_bad_event_hooks_are_rejected_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown event hook"):
        VideoClient(AZURE, auth=ApiKeyAuth(SECRET), event_hooks={"before": []})  # type: ignore[typeddict-unknown-key]
    with pytest.raises(TypeError):
        VideoClient(AZURE, auth=ApiKeyAuth(SECRET), event_hooks={"request": ["not callable"]})  # type: ignore[list-item]


# -- downloads ------------------------------------------------------------------------------


def _content(*responses: Response) -> Handler:
    return scripted(*responses)


# Response arguments, not Responses: a Response is served once, and a parametrized value
# lives as long as the module (a second run in the same process, as mutmut does, reuses it).
@pytest.mark.parametrize(("response", "match"), [
    (lambda: Response(200, content=b"x" * 100, headers={"Content-Length": "50"}),
     "more than the 50"),
    (lambda: Response(200, content=b"x" * 100, headers={"Content-Encoding": "gzip"}),
     "Content-Encoding"),
    (lambda: Response(200, text="<html>login</html>", headers={"Content-Type": "text/html"}),
     "text/html"),
    (lambda: Response(200, content=b"x" * 2000), "max_download_bytes"),
    (lambda: Response(200, content=[b"x" * 600, b"x" * 600]), "max_download_bytes"),
])
async def test_downloads_refuse_what_is_not_the_announced_content(
        clock: ManualClock, tmp_path: Path, response: Callable[[], Response], match: str) -> None:
    client = mock_client(lambda request: response(), clock, max_download_bytes=1000)
    with pytest.raises(DownloadError, match=match):
        await client.videos.download("video_1", tmp_path / "v.mp4")
    assert list(tmp_path.iterdir()) == []


async def test_downloads_ask_for_identity_encoding(clock: ManualClock, tmp_path: Path) -> None:
    client = mock_client(_content(Response(200, content=b"mp4")), clock)
    await client.videos.download("video_1", tmp_path / "v.mp4")
    assert transport_of(client).requests[0].headers["Accept-Encoding"] == "identity"


async def test_a_download_has_one_budget_for_every_kind_of_failure(
        clock: ManualClock, tmp_path: Path) -> None:
    def stream_then_reset(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"x" * 10
            raise aiohttp.ClientPayloadError("cut")

        return Response(200, content=body(), headers={"Content-Length": "100"})

    client = mock_client(scripted(_failure("503"), stream_then_reset, _failure("reset"),
                                  truncated), clock, download_resumes=3)
    with pytest.raises(DownloadError, match="4 attempts"):
        await client.videos.download("video_1", tmp_path / "v.mp4")
    assert len(transport_of(client).requests) == 4
    assert list(tmp_path.iterdir()) == []


async def test_a_download_body_that_never_arrives_cannot_hang_the_call(
        clock: ManualClock, tmp_path: Path) -> None:
    def stalled(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"x" * 10
            await asyncio.sleep(3600)
            yield b"never"

        return Response(200, content=body(), headers={"Content-Length": "100"})

    client = mock_client(stalled, clock, timeout=0.1, download_resumes=1)
    started = time.monotonic()
    with pytest.raises(DownloadError, match="2 attempts"):
        await client.videos.download("video_1", tmp_path / "v.mp4")
    assert time.monotonic() - started < 2
    assert list(tmp_path.iterdir()) == []


async def test_response_headers_that_never_arrive_cannot_hang_a_download(
        clock: ManualClock, tmp_path: Path) -> None:
    async def hang(request: Request) -> Response:
        await asyncio.sleep(3600)
        raise AssertionError

    client = mock_client(hang, clock, timeout=0.1, download_resumes=1)  # type: ignore[arg-type]
    with pytest.raises(DownloadError):
        await client.videos.download("video_1", tmp_path / "v.mp4")
    assert len(transport_of(client).requests) == 2


async def test_mock_transport_refuses_a_response_served_twice(clock: ManualClock) -> None:
    once = Response(200, json=video())
    client = mock_client(lambda r: once, clock)
    await client.videos.retrieve("v")
    with pytest.raises(TypeError, match="fresh Response"):
        await client.videos.retrieve("v")


async def test_retry_hooks_see_download_resumptions(clock: ManualClock, tmp_path: Path) -> None:
    def cut_then_rest(request: Request) -> Response:
        if request.headers.get("Range"):
            return Response(206, content=b"y" * 90,
                            headers={"Content-Range": "bytes 10-99/100"})

        async def body() -> AsyncIterator[bytes]:
            yield b"x" * 10
            raise aiohttp.ClientPayloadError("cut")

        return Response(200, content=body(), headers={"Content-Length": "100"})

    events: list[RetryEvent] = []
    client = mock_client(cut_then_rest, clock, event_hooks={"retry": [events.append]})
    path = await client.videos.download("video_1", tmp_path / "v.mp4")
    assert path.read_bytes() == b"x" * 10 + b"y" * 90
    assert [(e.cause, e.attempt, e.request.url.path) for e in events] == [
        ("resume", 1, "/openai/v1/videos/video_1/content")]


# -- found by the mutation run ---------------------------------------------------------


async def test_an_error_whose_body_cannot_be_read_is_still_typed(clock: ManualClock) -> None:
    def cut(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b'{"error": {"mess'
            raise aiohttp.ClientPayloadError("cut")

        return Response(503, content=body(), reason="Service Unavailable")

    client = mock_client(cut, clock, max_retries=0)
    with pytest.raises(InternalServerError) as info:
        await client.videos.retrieve("v")
    assert info.value.message == "Service Unavailable" and info.value.body is None


@pytest.mark.parametrize(("body", "message"), [(b"", "Bad Gateway"),
                                               (b"<html>gateway</html>", "Bad Gateway"),
                                               (b"upstream timed out\nmore", "upstream timed out")])
async def test_an_error_without_a_json_message_is_named_by_its_reason(
        clock: ManualClock, body: bytes, message: str) -> None:
    client = mock_client(lambda r: Response(502, content=body, reason="Bad Gateway"), clock,
                         max_retries=0)
    with pytest.raises(InternalServerError) as info:
        await client.videos.retrieve("v")
    assert info.value.message == message


@pytest.mark.parametrize(("raised", "error", "message"), [
    (ConnectionResetError("reset by peer"), APIConnectionError,
     "Connection error: ConnectionResetError: reset by peer"),
    (ConnectionResetError(), APIConnectionError,
     "Connection error: ConnectionResetError: ConnectionResetError"),
    (TimeoutError("read"), APITimeoutError, "Request timed out: read"),
])
async def test_network_failures_are_typed_and_say_what_failed(
        clock: ManualClock, raised: BaseException, error: type[Exception], message: str) -> None:
    def fail(request: Request) -> Response:
        raise raised

    client = mock_client(fail, clock, max_retries=0)
    with pytest.raises(error) as info:
        await client.videos.retrieve("v")
    assert type(info.value) is error and str(info.value) == message


async def test_a_create_that_was_not_resent_says_why(clock: ManualClock) -> None:
    client = mock_client(_failure("reset"), clock)
    with pytest.raises(APIConnectionError) as info:
        await client.videos.create(prompt="a cat")
    assert str(info.value) == (
        "Connection error: ConnectionResetError: reset by peer (POST /videos was not retried: "
        "it may have reached the service, and sending it again could start a second job)")
    assert info.value.args == (str(info.value),)


def test_event_hooks_must_be_lists_of_callables() -> None:
    for hooks in ({"request": print}, {"request": {print}}, {"response": "print"}):
        with pytest.raises(TypeError) as info:
            VideoClient(AZURE, auth=ApiKeyAuth(SECRET), event_hooks=hooks)  # type: ignore[arg-type]
        kind = next(iter(hooks))
        assert str(info.value) == f"event_hooks[{kind!r}] must be a list of callables"
    with pytest.raises(ValueError) as unknown:
        VideoClient(AZURE, auth=ApiKeyAuth(SECRET), event_hooks={"before": []})  # type: ignore[typeddict-unknown-key]
    assert str(unknown.value) == "unknown event hook kind 'before'; use request, response or retry"


async def test_a_refused_redirect_quotes_the_request_without_its_secrets(
        clock: ManualClock) -> None:
    client = mock_client(scripted(Response(302, headers={
        "Location": "http://user:pw@cdn.example.net/v.mp4?sig=SAS#frag"})), clock)
    with pytest.raises(RedirectError) as info:
        await client.videos.retrieve("v", extra_query={"sig": "mine"})
    assert str(info.value).startswith(
        "GET https://res.openai.azure.com/openai/v1/videos/v: refusing a redirect from https to "
        "plain http (http://cdn.example.net/v.mp4)")


async def test_redirect_hops_are_numbered_and_keep_the_attempts_limits(
        clock: ManualClock) -> None:
    seen: list[tuple[object, object, float, float]] = []

    def on_request(request: Request) -> None:
        seen.append((request.extensions["redirect"], request.extensions["attempt"],
                     request.timeout, request.connect_timeout))

    client = mock_client(scripted(
        Response(307, headers={"Location": "/openai/v1/videos/v2"}),
        Response(308, headers={"Location": "https://res.openai.azure.com:443/openai/v1/videos/v3"}),
        Response(200, json=video("v3"))), clock, timeout=30, connect_timeout=4,
        event_hooks={"request": [on_request]})
    await client.videos.retrieve("v")
    assert seen == [(0, 1, 30, 4), (1, 1, 30, 4), (2, 1, 30, 4)]
    # :443 is the same origin as the default https port: the key went along each time
    assert [r.headers.get("api-key") for r in transport_of(client).requests] == [SECRET] * 3


@pytest.mark.parametrize("status", [301, 302, 303])
async def test_a_read_redirected_with_a_see_other_status_stays_a_get(
        clock: ManualClock, status: int) -> None:
    client = mock_client(scripted(Response(status, headers={"Location": "/openai/v1/videos/v2"}),
                                  Response(200, json=video("v2"))), clock)
    await client.videos.retrieve("v")
    assert [r.method for r in transport_of(client).requests] == ["GET", "GET"]


async def test_a_create_redirected_with_303_is_refused_and_307_keeps_its_body(
        clock: ManualClock) -> None:
    client = mock_client(scripted(Response(303, headers={"Location": "/x"})), clock)
    with pytest.raises(RedirectError) as info:
        await client.videos.create(prompt="a cat")
    assert str(info.value) == (
        "POST https://res.openai.azure.com/openai/v1/videos: the service answered 303; "
        "following it would turn the POST into a GET, so it was not followed")
    moved = mock_client(scripted(Response(307, headers={"Location": "/openai/v1/videos2"}),
                                 Response(200, json=video())), clock)
    await moved.videos.create(prompt="a cat")
    first, second = transport_of(moved).requests
    assert (second.method, second.content, second.headers["Content-Type"]) == (
        "POST", first.content, "application/json")


@pytest.mark.parametrize(("location", "message"), [
    ("http://[::1", "unusable redirect location"),
    ("mailto:x@example.com", "refusing a redirect to a mailto URL"),
])
async def test_unusable_redirect_locations_are_refused(clock: ManualClock, location: str,
                                                       message: str) -> None:
    client = mock_client(scripted(Response(302, headers={"Location": location})), clock)
    with pytest.raises(RedirectError) as info:
        await client.videos.retrieve("v")
    assert str(info.value) == f"GET https://res.openai.azure.com/openai/v1/videos/v: {message}"
    assert info.value.status_code == 302
    assert len(transport_of(client).requests) == 1



class _StaticAuth(Auth):
    """A custom Auth that adds ``headers`` as they are (and declares no secrets)."""

    def __init__(self, headers: dict[str, Any]) -> None:
        self._headers = headers

    async def headers(self, flavor: Any) -> dict[str, str]:
        return dict(self._headers)


@pytest.mark.parametrize("value", ["", "  ", "Bearer", "Bearer None", "None", None, 42])
async def test_an_auth_producing_an_empty_credential_is_refused_before_sending(
        clock: ManualClock, value: Any) -> None:
    client = VideoClient(AZURE, auth=_StaticAuth({"X-Key": "ok", "Authorization": value}),
                         clock=clock, transport=MockTransport(lambda r: Response(200)))
    with pytest.raises(CredentialError) as info:
        await client.videos.retrieve("v")
    assert str(info.value) == "_StaticAuth produced an empty credential for Authorization"
    assert transport_of(client).requests == []


async def test_an_auth_that_fails_is_named_with_its_cause(clock: ManualClock) -> None:
    class Broken(Auth):
        async def headers(self, flavor: Any) -> dict[str, str]:
            raise RuntimeError("IMDS unreachable")

    client = VideoClient(AZURE, auth=Broken(), clock=clock,
                         transport=MockTransport(lambda r: Response(200)))
    with pytest.raises(CredentialError) as info:
        await client.videos.retrieve("v")
    assert str(info.value) == "Broken: the credential failed: RuntimeError: IMDS unreachable"


async def test_a_custom_bearer_token_is_redacted_without_its_scheme(clock: ManualClock) -> None:
    token = "custom-token-0123456789"

    def echo(request: Request) -> Response:
        return Response(400, json={"error": {"message": f"bad token {token}"}})

    client = VideoClient(AZURE, auth=_StaticAuth({"Authorization": f"Bearer {token}"}),
                         clock=clock, transport=MockTransport(echo))
    with pytest.raises(APIStatusError) as info:
        await client.videos.retrieve("v")
    assert token not in str(info.value) and "bad token" in str(info.value)


async def test_a_per_request_key_is_a_credential_too(clock: ManualClock) -> None:
    key = "per-request-key-0123456789"
    client = mock_client(scripted(
        Response(302, headers={"Location": "https://cdn.example.net/x"}),
        Response(302, headers={"Location": AZURE + "/openai/v1/videos/v2"}),
        Response(400, json={"error": {"message": f"rejected {key}"}})), clock)
    with pytest.raises(APIStatusError) as info:
        await client.videos.retrieve("v", extra_headers={"Api-Key": key})
    sent = [r.headers.getall("api-key", []) for r in transport_of(client).requests]
    assert sent == [[key], [], [key]]  # replaces the client's key (one header, whatever
    # its spelling), left at the other origin, back at home
    assert key not in str(info.value)  # and redacted like the client's own key


async def test_requests_say_whether_they_stream_and_ids_are_one_encoded_segment(
        clock: ManualClock, tmp_path: Path) -> None:
    def answer(request: Request) -> Response:
        if request.url.path.endswith("/content"):
            return Response(200, content=b"mp4")
        return Response(200, json=video("task:1=a"))

    client = mock_client(answer, clock)
    await client.videos.retrieve("task:1=a")
    await client.videos.download("task:1=a", tmp_path / "v.mp4")
    status, content = transport_of(client).requests
    assert status.url.raw_path == "/openai/v1/videos/task%3A1%3Da"
    assert (status.extensions["stream"], content.extensions["stream"]) == (False, True)


async def test_headers_given_in_another_spelling_replace_rather_than_duplicate(
        clock: ManualClock) -> None:
    client = mock_client(lambda r: Response(200, json=video()), clock,
                         default_headers={"user-agent": "my-app/1.0"})
    await client.videos.retrieve("v", extra_headers={"ACCEPT": "application/x-custom"})
    (sent,) = transport_of(client).requests
    assert sent.headers.getall("User-Agent") == ["my-app/1.0"]
    assert sent.headers.getall("Accept") == ["application/x-custom"]
