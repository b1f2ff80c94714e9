"""Bad input, both ways: property-based tests over create parameters and over malformed
service responses. Every outcome is a result, a ``ValueError``/``TypeError`` raised before
anything is sent, or a typed :class:`~foundry_video.FoundryVideoError` carrying the
request id; never an exception from aiohttp, pydantic or json internals."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from foundry_video import (
    APIConnectionError,
    ApiKeyAuth,
    APIStatusError,
    DownloadError,
    FoundryVideoError,
    InternalServerError,
    JobFailedError,
    ManualClock,
    UnexpectedResponseError,
    UnknownStatusError,
    Video,
    VideoClient,
)
from foundry_video.emulator import Emulator

from .conftest import KEY, assert_clean

SETTINGS = settings(max_examples=75, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

# -- create parameters ----------------------------------------------------------------------

junk = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                 st.floats(allow_nan=True), st.text(max_size=12), st.binary(max_size=8),
                 st.lists(st.integers(), max_size=2))
models = st.one_of(st.sampled_from(["sora-2", "sora-2-pro", "sora"]), st.text(max_size=20))
sizes = st.one_of(st.none(), st.sampled_from(["1280x720", "720x1280", "1792x1024", "1x1",
                                              "0x0", "-5x9", "1280X720", " 1280x720"]),
                  st.text(max_size=12), junk)
seconds = st.one_of(st.none(), st.integers(-5, 30), st.sampled_from(["4", "8", " 12", "4.0",
                                                                    "", "-4", "٤"]), junk)
prompts = st.one_of(st.text(max_size=40), st.just(""), st.just(" \n\t"),
                    st.integers(1, 40_000).map(lambda n: "x" * n), junk)


@SETTINGS
@given(prompt=prompts, model=models, size=sizes, secs=seconds)
@example(prompt="ok", model="sora-2", size="1280x720", secs=True)
@example(prompt="ok", model="sora-2", size=None, secs=float("nan"))
async def test_create_parameters_are_validated_or_rejected_typed(
        client: VideoClient, emu: Emulator, prompt: Any, model: Any, size: Any, secs: Any) -> None:
    before = len(emu.requests)
    try:
        job = await client.videos.create(prompt=prompt, model=model, size=size, seconds=secs)
    except (ValueError, TypeError):  # includes pydantic's ValidationError
        assert len(emu.requests) == before, "rejected input must not reach the service"
        return
    except APIStatusError as exc:  # the service disagreed with the local table: still typed
        assert exc.request_id and 400 <= exc.status_code < 500
        return
    assert job.id.startswith("video_") and job.status == "queued"


# -- malformed responses --------------------------------------------------------------------


@dataclass
class Script:
    """What the scripted service answers to every request, until changed."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str = ""


class ScriptedService:
    """A service that answers whatever the test scripts, tagging each answer with a fresh id."""

    def __init__(self) -> None:
        self.script = Script()
        self._ids = itertools.count()
        self.port = 0
        self._runner: web.AppRunner | None = None

    def answer(self, status: int, body: bytes, content_type: str = "application/json",
               **headers: str) -> str:
        request_id = f"req-{next(self._ids)}"
        self.script = Script(status, body, content_type, dict(headers), request_id)
        return request_id

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        s = self.script
        headers = {"x-request-id": s.request_id, "Content-Type": s.content_type, **s.headers}
        return web.Response(status=s.status, body=s.body, headers=headers)

    async def __aenter__(self) -> ScriptedService:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedService]:
    async with ScriptedService() as service:
        yield service


@pytest.fixture
async def scripted_client(scripted: ScriptedService, clock: ManualClock) -> AsyncIterator[VideoClient]:
    async with VideoClient(f"http://127.0.0.1:{scripted.port}", auth=ApiKeyAuth(KEY),
                           clock=clock, max_retries=0) as c:
        yield c


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6),
                                                                       children, max_size=3),
    max_leaves=8)
video_like = st.fixed_dictionaries(
    {"id": st.one_of(st.just("video_abc"), json_values)},
    optional={
        "object": json_values,
        "status": st.one_of(st.sampled_from(["queued", "in_progress", "completed", "failed",
                                             "cancelled", ""]), json_values),
        "progress": st.one_of(st.integers(-10**30, 10**30), json_values),
        "created_at": st.one_of(st.integers(-10**20, 10**20), st.floats(), json_values),
        "completed_at": json_values,
        "expires_at": st.one_of(st.integers(-10**20, 10**20), st.floats(), json_values),
        "seconds": json_values,
        "size": json_values,
        "error": st.one_of(json_values, st.fixed_dictionaries({"code": json_values,
                                                               "message": json_values})),
    })
bodies = st.one_of(
    video_like.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([
        b"", b" ", b"null", b"{", b'{"id": "video_abc", "status": "queu', b"\xff\xfe\x00garbage",
        b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        b"<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>",
        b"[" * 3000 + b"]" * 3000, b'{"a":' * 3000 + b"1" + b"}" * 3000,  # RecursionError bait
        b'{"error": "just a string"}', b'{"error": {"message": {"nested": true}, "code": 7}}',
        b'{"error": {"code": "content_filter", "innererror": "x"}}',
        b"NaN", b"Infinity", b'{"id": "video_abc", "status": "queued", "progress": NaN}',
    ]),
    st.binary(max_size=64),
)
statuses = st.sampled_from([200, 200, 200, 201, 204, 400, 401, 403, 404, 409, 413, 422, 429,
                            500, 502, 503, 504])
content_types = st.sampled_from(["application/json", "text/html", "text/plain",
                                 "application/octet-stream"])


def check_outcome(exc: BaseException | None, request_id: str) -> None:
    """The suite's rule for one malformed response."""
    if exc is None:
        return
    assert isinstance(exc, FoundryVideoError), f"untyped {type(exc).__name__}: {exc}"
    if isinstance(exc, (APIStatusError, APIConnectionError, DownloadError)):
        assert exc.request_id == request_id, f"{type(exc).__name__} without request id: {exc}"
    else:  # a well-formed answer that is bad news about the job itself
        assert isinstance(exc, (JobFailedError, UnknownStatusError)), repr(exc)


@SETTINGS
@given(status=statuses, body=bodies, content_type=content_types)
@example(status=200, content_type="application/json",  # datetime.fromtimestamp overflows
         body=b'{"id": "video_abc", "status": "queued", "created_at": 100000000000000000000}')
@example(status=200, content_type="application/json",  # round(inf) overflows
         body=b'{"id": "video_abc", "status": "queued", "progress": Infinity}')
@example(status=200, content_type="application/json", body=b"[" * 3000 + b"]" * 3000)
async def test_malformed_status_responses(
        scripted: ScriptedService, scripted_client: VideoClient, status: int, body: bytes,
        content_type: str) -> None:
    request_id = scripted.answer(status, body, content_type)
    error: BaseException | None = None
    try:
        video = await scripted_client.videos.retrieve("video_abc")
    except Exception as exc:
        error = exc
    else:
        assert isinstance(video, Video)
    check_outcome(error, request_id)


@SETTINGS
@given(status=statuses, body=bodies)
async def test_malformed_create_responses(
        scripted: ScriptedService, scripted_client: VideoClient, status: int, body: bytes) -> None:
    request_id = scripted.answer(status, body)
    error: BaseException | None = None
    try:
        job = await scripted_client.videos.create(prompt="a cat")
    except Exception as exc:
        error = exc
    else:
        assert job.id
    check_outcome(error, request_id)


@SETTINGS
@given(status=statuses, body=bodies)
async def test_malformed_responses_while_waiting_for_a_job(
        scripted: ScriptedService, scripted_client: VideoClient, status: int, body: bytes) -> None:
    request_id = scripted.answer(status, body)
    error: BaseException | None = None
    job = scripted_client.videos.job("video_abc")
    try:
        await job.wait(timeout=600)
    except Exception as exc:
        error = exc
        assert getattr(exc, "job_id", None) == "video_abc"  # resumable whatever happened
    check_outcome(error, request_id)


@SETTINGS
@given(status=statuses, body=bodies)
async def test_malformed_list_and_delete_responses(
        scripted: ScriptedService, scripted_client: VideoClient, status: int, body: bytes) -> None:
    request_id = scripted.answer(status, body)
    async def first_listed() -> None:
        async for _ in scripted_client.videos.list(limit=5):
            break

    for call in (first_listed, lambda: scripted_client.videos.delete("video_abc")):
        error: BaseException | None = None
        try:
            await call()
        except Exception as exc:
            error = exc
        check_outcome(error, request_id)


@SETTINGS
@given(status=st.sampled_from([200, 206, 400, 404, 416, 500]), body=st.binary(max_size=2048),
       content_type=content_types,
       content_range=st.sampled_from([None, "bytes 0-0/1", "bytes */*", "garbage", "bytes 5-2/1"]))
async def test_malformed_download_responses(
        scripted: ScriptedService, scripted_client: VideoClient, tmp_path_factory: Any,
        status: int, body: bytes, content_type: str, content_range: str | None) -> None:
    directory: Path = tmp_path_factory.mktemp("dl")
    extra = {} if content_range is None else {"Content-Range": content_range}
    request_id = scripted.answer(status, body, content_type, **extra)
    target = directory / "out.mp4"
    error: BaseException | None = None
    try:
        await scripted_client.videos.download("video_abc", target)
    except Exception as exc:
        error = exc
    check_outcome(error, request_id)
    if error is None:
        assert target.read_bytes() == body and body
        assert_clean(directory, target)
    else:
        assert_clean(directory)


# -- a few malformed responses worth naming -------------------------------------------------


async def test_huge_json_body_is_refused_typed(
        scripted: ScriptedService, scripted_client: VideoClient) -> None:
    huge = b'{"id": "video_abc", "status": "queued", "pad": "' + b"x" * (17 << 20) + b'"}'
    request_id = scripted.answer(200, huge)
    with pytest.raises(UnexpectedResponseError, match="exceeds") as info:
        await scripted_client.videos.retrieve("video_abc")
    assert info.value.request_id == request_id


async def test_html_gateway_page_becomes_a_short_typed_error(
        scripted: ScriptedService, scripted_client: VideoClient) -> None:
    page = b"<html><body>" + b"<p>upstream connect error</p>" * 500 + b"</body></html>"
    request_id = scripted.answer(502, page, "text/html")
    with pytest.raises(InternalServerError) as info:
        await scripted_client.videos.retrieve("video_abc")
    assert info.value.request_id == request_id
    assert "<" not in str(info.value) and len(str(info.value)) < 200


async def test_a_video_id_that_is_a_path_is_refused(
        scripted: ScriptedService, scripted_client: VideoClient, tmp_path: Path) -> None:
    # Service data never becomes a local path; an id that looks like one is refused outright,
    # so nothing downstream (a CLI default file name, a journal) can be tricked by it.
    for bad in ("../../etc/passwd", "a/b", "..", "video_\x00x", "C:\\x"):
        request_id = scripted.answer(200, json.dumps({"id": bad, "status": "queued"}).encode())
        with pytest.raises(UnexpectedResponseError) as info:
            await scripted_client.videos.create(prompt="a cat")
        assert info.value.request_id == request_id


async def test_content_disposition_from_the_service_is_ignored(
        scripted: ScriptedService, scripted_client: VideoClient, tmp_path: Path) -> None:
    (tmp_path / "dl").mkdir()
    scripted.answer(200, b"\x00\x00\x00\x18ftypmp42 data", "video/mp4",
                    **{"Content-Disposition": 'attachment; filename="../evil.mp4"'})
    target = tmp_path / "dl" / "mine.mp4"
    saved = await scripted_client.videos.download("video_abc", target)
    assert saved == target
    assert_clean(tmp_path / "dl", target)
    assert not (tmp_path / "evil.mp4").exists()
