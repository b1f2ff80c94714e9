"""What every resource method promises, checked for each of them (both APIs).

* a read (GET, DELETE) is retried on a 503, and says on the wire what it is;
* per-request options (``extra_headers``, ``extra_query``, ``timeout``) reach the wire;
* an id that cannot be a path segment is refused before anything is sent, naming the
  parameter at fault;
* status requests made while waiting on a job have the polling budget (``poll_retries``),
  a single ``refresh()`` the budget of one call (``max_retries``).

The mutation run found these promises checked for some methods only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from foundry_video import (
    ApiKeyAuth,
    InternalServerError,
    JobTimeoutError,
    ManualClock,
    Request,
    Response,
    VideoClient,
)
from foundry_video.testing import MockTransport

from .fakes import MockService, reply, video

JOBS = "/video/generations/jobs"
PREVIEW = {"api-version": "preview"}


def sora1_job(job_id: str = "task_1", status: str = "queued") -> dict[str, Any]:
    return {"object": "video.generation.job", "id": job_id, "status": status,
            "created_at": 1748469875, "finished_at": None, "expires_at": None,
            "generations": [], "prompt": "a cat", "model": "sora", "n_variants": 1,
            "n_seconds": 5, "height": 480, "width": 480, "failure_reason": None}


GENERATION = {"object": "video.generation", "id": "gen_0", "job_id": "task_1",
              "created_at": 1748469990, "width": 480, "height": 480, "n_seconds": 5,
              "prompt": "a cat"}
CHARACTER = {"id": "char_1", "object": "video.character", "name": "Kit"}
Call = Callable[[VideoClient, dict[str, Any]], Awaitable[object]]

# (name, method, path, query the SDK adds, answer, the call with **options)
READS: list[tuple[str, str, str, dict[str, str], Callable[[Request], Response], Call]] = [
    ("videos.retrieve", "GET", "/videos/video_1", {}, reply(json=video()),
     lambda c, o: c.videos.retrieve("video_1", **o)),
    ("videos.list", "GET", "/videos", {},
     reply(json={"object": "list", "data": [], "has_more": False}),
     lambda c, o: c.videos.list(**o)),
    ("videos.delete", "DELETE", "/videos/video_1", {},
     reply(json={"id": "video_1", "object": "video.deleted", "deleted": True}),
     lambda c, o: c.videos.delete("video_1", **o)),
    ("videos.retrieve_character", "GET", "/videos/characters/char_1", {}, reply(json=CHARACTER),
     lambda c, o: c.videos.retrieve_character("char_1", **o)),
    ("generation_jobs.retrieve", "GET", JOBS + "/task_1", PREVIEW, reply(json=sora1_job()),
     lambda c, o: c.generation_jobs.retrieve("task_1", **o)),
    ("generation_jobs.list", "GET", JOBS, {**PREVIEW, "limit": "10"},
     reply(json={"object": "list", "data": [], "has_more": False}),
     lambda c, o: c.generation_jobs.list(**o)),
    ("generation_jobs.delete", "DELETE", JOBS + "/task_1", PREVIEW, reply(204),
     lambda c, o: c.generation_jobs.delete("task_1", **o)),
    ("generation_jobs.retrieve_generation", "GET", "/video/generations/gen_0", PREVIEW,
     reply(json=GENERATION), lambda c, o: c.generation_jobs.retrieve_generation("gen_0", **o)),
]
IDS = [read[0] for read in READS]


@pytest.mark.parametrize(("name", "method", "path", "query", "answer", "call"), READS, ids=IDS)
async def test_a_read_is_retried_and_sends_what_it_is(
        client: VideoClient, mock_service: MockService, name: str, method: str, path: str,
        query: dict[str, str], answer: Callable[[Request], Response], call: Call) -> None:
    mock_service.route(method, path, reply(503, json={}), answer, query=query)
    await call(client, {})
    sent = mock_service.calls(method, path)
    assert len(sent) == 2  # the 503 was retried: a read may be sent again
    assert [r.method for r in sent] == [method, method]
    assert sent[1].extensions["operation"].startswith(method + " ")


@pytest.mark.parametrize(("name", "method", "path", "query", "answer", "call"), READS, ids=IDS)
async def test_per_request_options_reach_the_wire_of_every_read(
        client: VideoClient, mock_service: MockService, name: str, method: str, path: str,
        query: dict[str, str], answer: Callable[[Request], Response], call: Call) -> None:
    mock_service.route(method, path, answer, query={**query, "trace": "t1"})
    await call(client, {"extra_headers": {"X-Trace": "h1"}, "extra_query": {"trace": "t1"},
                        "timeout": 7.5})
    sent = mock_service.last(method, path)
    assert sent.headers["X-Trace"] == "h1"
    assert sent.timeout == 7.5


async def test_a_timeout_option_bounds_every_read(mock_service: MockService) -> None:
    async def hang(request: Request) -> Response:
        await asyncio.sleep(3600)
        raise AssertionError

    for _, method, path, query, _, call in READS:
        mock_service.route(method, path, hang, query=query)
        async with mock_service.client(max_retries=0) as client:
            with pytest.raises(Exception, match="timed out"):
                await asyncio.wait_for(call(client, {"timeout": 0.05}), 5)


@pytest.mark.parametrize(("call", "parameter"), [
    (lambda c: c.videos.retrieve(".."), "video_id"),
    (lambda c: c.videos.delete("."), "video_id"),
    (lambda c: c.videos.retrieve_character(".."), "character_id"),
    (lambda c: c.generation_jobs.retrieve(".."), "job_id"),
    (lambda c: c.generation_jobs.delete("a\nb"), "job_id"),
    (lambda c: c.generation_jobs.retrieve_generation(".."), "generation_id"),
    (lambda c: c.generation_jobs.download("", "x.mp4"), "generation_id"),
])
async def test_a_bad_id_is_refused_naming_its_parameter(
        client: VideoClient, mock_service: MockService, call: Callable[[VideoClient], Any],
        parameter: str) -> None:
    with pytest.raises(ValueError, match=f"^{parameter} "):
        await call(client)
    assert mock_service.requests == []


# -- budgets of status requests --------------------------------------------------------


@pytest.mark.parametrize("api", ["videos", "generation_jobs"])
async def test_refresh_has_the_budget_of_one_call(
        mock_service: MockService, api: str) -> None:
    path, query = ("/videos/video_1", {}) if api == "videos" else (JOBS + "/task_1", PREVIEW)
    mock_service.route("GET", path, reply(503, json={}), query=query)
    async with mock_service.client(max_retries=1, poll_retries=5) as client:
        job = (client.videos.job("video_1") if api == "videos"
               else client.generation_jobs.job("task_1"))
        with pytest.raises(InternalServerError):
            await job.refresh()
    assert len(mock_service.calls("GET", path)) == 2


@pytest.mark.parametrize("api", ["videos", "generation_jobs"])
async def test_waiting_has_the_polling_budget_for_each_status_request(
        mock_service: MockService, api: str) -> None:
    if api == "videos":
        path, query = "/videos/video_1", {}
        done = reply(json=video(status="completed"))
    else:
        path, query = JOBS + "/task_1", PREVIEW
        done = reply(json=sora1_job(status="succeeded"))
    failing = reply(503, json={})
    mock_service.route("GET", path, *([failing] * 5), done, query=query)
    async with mock_service.client(max_retries=1, poll_retries=5) as client:
        job = (client.videos.job("video_1") if api == "videos"
               else client.generation_jobs.job("task_1"))
        await job.wait()
    assert len(mock_service.calls("GET", path)) == 6  # five 503s survived, then done


@pytest.mark.parametrize("api", ["videos", "generation_jobs"])
async def test_the_job_deadline_covers_a_stalled_status_request_of_either_api(
        mock_service: MockService, api: str) -> None:
    async def stalled(request: Request) -> Response:
        await asyncio.sleep(3600)
        raise AssertionError

    path, query = ("/videos/video_1", {}) if api == "videos" else (JOBS + "/task_1", PREVIEW)
    mock_service.route("GET", path, stalled, query=query)
    # A long per-request timeout: only the job's deadline can end the wait.
    async with mock_service.client(timeout=600, clock=_system_clock()) as client:
        job = (client.videos.job("video_1") if api == "videos"
               else client.generation_jobs.job("task_1"))
        with pytest.raises(JobTimeoutError):
            await asyncio.wait_for(job.wait(timeout=0.2), 5)


def _system_clock() -> Any:
    from foundry_video import SystemClock

    return SystemClock()



# -- what each request is called (logs, hooks, telemetry) ----------------------------------


OPERATIONS: list[tuple[Call, str]] = [
    (lambda c, o: c.videos.retrieve("video_1"), "GET /videos/{id}"),
    (lambda c, o: c.videos.list(limit=5), "GET /videos"),
    (lambda c, o: c.videos.delete("video_1"), "DELETE /videos/{id}"),
    (lambda c, o: c.videos.remix("video_1", prompt="p"), "POST /videos/{id}/remix"),
    (lambda c, o: c.videos.edit("video_1", prompt="p"), "POST /videos/edits"),
    (lambda c, o: c.videos.extend("video_1", prompt="p", seconds=4), "POST /videos/extensions"),
    (lambda c, o: c.videos.retrieve_character("char_1"), "GET /videos/characters/{id}"),
    (lambda c, o: c.videos.download("video_1", o["path"]), "GET /videos/{id}/content"),
    (lambda c, o: c.generation_jobs.retrieve("task_1"), "GET /video/generations/jobs/{id}"),
    (lambda c, o: c.generation_jobs.list(), "GET /video/generations/jobs"),
    (lambda c, o: c.generation_jobs.retrieve_generation("gen_0"), "GET /video/generations/{id}"),
    (lambda c, o: c.generation_jobs.download("gen_0", o["path"]),
     "GET /video/generations/{id}/content/video"),
]


@pytest.mark.parametrize(("call", "operation"), OPERATIONS, ids=[op for _, op in OPERATIONS])
async def test_each_request_is_named_by_its_operation_with_ids_folded(
        tmp_path: Any, call: Call, operation: str) -> None:
    def answer(request: Request) -> Response:
        path = request.url.path
        if "/content" in path:
            return Response(200, content=b"bytes")
        if path.endswith(("/videos", "/jobs")) and request.method == "GET":
            return Response(200, json={"object": "list", "data": [], "has_more": False})
        if "characters" in path:
            return Response(200, json=CHARACTER)
        if "/generations/gen_0" in path:
            return Response(200, json=GENERATION)
        if "generations" in path:
            return Response(200, json=sora1_job())
        if request.method == "DELETE":
            return Response(200, json={"id": "video_1", "object": "video.deleted"})
        return Response(200, json=video())

    transport = MockTransport(answer)
    async with VideoClient("https://res.openai.azure.com", auth=ApiKeyAuth("k" * 16),
                           clock=ManualClock(), transport=transport) as c:
        await call(c, {"path": tmp_path / "out.bin"})
    (sent,) = transport.requests
    assert sent.extensions["operation"] == operation


# -- raw requests ---------------------------------------------------------------------------


async def test_raw_requests_follow_the_idempotency_rule(mock_service: MockService) -> None:
    mock_service.route("HEAD", "/videos/video_1", reply(503), reply(200))
    mock_service.route("POST", "/videos/search", reply(503, json={}), reply(503, json={}),
                       reply(json={"data": []}))
    async with mock_service.client() as client:
        await client.request("HEAD", "/videos/video_1")
        assert len(mock_service.calls("HEAD", "/videos/video_1")) == 2
        with pytest.raises(InternalServerError):
            await client.request("POST", "/videos/search", json={"q": "cat"})
        assert len(mock_service.calls("POST", "/videos/search")) == 1
        await client.request("POST", "/videos/search", json={"q": "cat"}, idempotent=True)
        assert len(mock_service.calls("POST", "/videos/search")) == 3


async def test_raw_request_bodies(client: VideoClient, mock_service: MockService) -> None:
    mock_service.route("POST", "/batch", reply(json={}))
    mock_service.route("GET", "/videos", reply(json={"object": "list", "data": []}))
    await client.request("POST", "/batch", json=["a", 1])
    sent = mock_service.last("POST", "/batch")
    assert (sent.json(), sent.headers["Content-Type"]) == (["a", 1], "application/json")
    await client.request("GET", "/videos")
    got = mock_service.last("GET", "/videos")
    assert got.content is None and "Content-Type" not in got.headers
    with pytest.raises(TypeError) as info:
        await client.request("POST", "/batch", json=["a"], extra_body={"b": 1})
    assert str(info.value) == "extra_body needs a JSON object body"
    await client.request("POST", "/batch", extra_body={"only": "extra"})
    assert mock_service.last("POST", "/batch").json() == {"only": "extra"}


async def test_extra_body_fields_of_a_multipart_create_are_json_encoded(
        client: VideoClient, mock_service: MockService) -> None:
    from .fakes import request_parts

    mock_service.route("POST", "/videos/edits", reply(json=video("video_2")))
    await client.videos.edit(prompt="p", video_file=("clip.mp4", b"\x00\x00\x00\x18ftypmp42"),
                             extra_body={"meta": {"a": [1, 2]}, "tag": "plain"})
    parts = request_parts(mock_service.last("POST", "/videos/edits"))
    assert parts["meta"][0][2] == b'{"a": [1, 2]}' and parts["tag"][0][2] == b"plain"


# -- reading JSON bodies ----------------------------------------------------------------------


async def test_json_bodies_up_to_16_mib_are_read_and_larger_ones_refused(
        client: VideoClient, mock_service: MockService) -> None:
    from foundry_video import UnexpectedResponseError

    base = json.dumps(video()).encode()
    exact = base[:-1] + b" " * ((16 << 20) - len(base)) + b"}"
    assert len(exact) == 16 << 20
    mock_service.route("GET", "/videos/video_1", Response(200, content=exact),
                       Response(200, content=exact + b" ", headers={"x-request-id": "r-big"}))
    assert (await client.videos.retrieve("video_1")).id == "video_1"
    with pytest.raises(UnexpectedResponseError) as info:
        await client.videos.retrieve("video_1")
    error = info.value
    assert (error.status_code, error.request_id, error.headers["x-request-id"]) == (
        200, "r-big", "r-big")
    assert error.message == f"response body exceeds {16 << 20} bytes"


async def test_the_announced_length_of_a_json_body_is_checked_unless_it_is_compressed(
        client: VideoClient, mock_service: MockService) -> None:
    from foundry_video import APIConnectionError

    body = json.dumps(video()).encode()
    mock_service.route("GET", "/videos/video_1",
                       Response(200, content=body, headers={"Content-Length": "12",
                                                            "Content-Encoding": "gzip"}))
    assert (await client.videos.retrieve("video_1")).id == "video_1"
    padded = reply(content=body, headers={"Content-Length": str(len(body) + 5),
                                          "x-request-id": "r-short"})
    mock_service.route("GET", "/videos/video_2", padded)
    with pytest.raises(APIConnectionError) as info:
        await client.videos.retrieve("video_2")
    assert info.value.request_id == "r-short"
    assert str(info.value) == (f"Connection error: the body has {len(body)} of the "
                               f"{len(body) + 5} bytes announced")


async def test_a_body_cut_while_read_is_a_connection_error_naming_the_cause(
        client: VideoClient, mock_service: MockService) -> None:
    import aiohttp

    from foundry_video import APIConnectionError

    def cut(request: Request) -> Response:
        async def body() -> Any:
            yield b'{"id": '
            raise aiohttp.ClientPayloadError("cut short")

        return Response(200, content=body(), headers={"x-request-id": "r-cut"})

    mock_service.route("GET", "/videos/video_1", cut)
    with pytest.raises(APIConnectionError) as info:
        await client.videos.retrieve("video_1")
    assert str(info.value).startswith("Connection error: ClientPayloadError: cut short")
    assert info.value.request_id == "r-cut"


# -- malformed answers, explained ------------------------------------------------------------


@pytest.mark.parametrize(("raw", "problem"), [
    (b"", "expected JSON, got b''"),
    (b"   ", "expected JSON, got b'   '"),
    (b"<html>" + b"x" * 100, "expected JSON, got b'<html>" + "x" * 74 + "'"),
    (b"[1]", "body: Input should be an object"),
    (b'{"id": "video_1", "object": "video", "status": "failed", "error": {"code": 5}}',
     "error.code: Input should be a valid string"),
    (b'{"id": "video_1", "object": "video", "status": "queued", "progress": 1e400}',
     "OverflowError: cannot convert float infinity to integer"),
])
async def test_a_malformed_answer_is_explained(client: VideoClient, mock_service: MockService,
                                               raw: bytes, problem: str) -> None:
    from foundry_video import UnexpectedResponseError

    mock_service.route("GET", "/videos/video_1", reply(content=raw))
    with pytest.raises(UnexpectedResponseError) as info:
        await client.videos.retrieve("video_1")
    assert info.value.message == f"unexpected Video from the service: {problem}"


@pytest.mark.parametrize("where", ["the object", "a list item"])
async def test_an_unsafe_id_from_the_service_is_refused_and_quoted_briefly(
        client: VideoClient, mock_service: MockService, where: str) -> None:
    from foundry_video import UnexpectedResponseError

    unsafe = "../" + "a" * 100
    if where == "the object":
        mock_service.route("GET", "/videos/video_1", reply(json=video(unsafe)))
        call = client.videos.retrieve("video_1")
    else:
        mock_service.route("GET", "/videos", reply(json={
            "object": "list", "data": [video(), video(unsafe)], "has_more": False}))
        call = client.videos.list()  # type: ignore[assignment]
    with pytest.raises(UnexpectedResponseError) as info:
        await call
    model = "Video" if where == "the object" else "VideoList"
    assert info.value.message == (f"unexpected {model} from the service: id: refusing the "
                                  f"unsafe id {unsafe[:80]!r}")


async def test_a_raw_path_with_a_query_is_named_without_it(client: VideoClient,
                                                           mock_service: MockService) -> None:
    mock_service.route("GET", "/videos", reply(json={"object": "list", "data": []}), query=None)
    await client.request("GET", "/videos?limit=1?odd")
    assert mock_service.last("GET", "/videos").extensions["operation"] == "GET /videos"


# -- redirects that are not followed --------------------------------------------------------


async def test_only_redirect_statuses_with_a_location_are_followed(
        client: VideoClient, mock_service: MockService) -> None:
    mock_service.route("GET", "/videos/video_1", reply(
        200, json=video(), headers={"Location": "https://res.openai.azure.com/elsewhere"}))
    assert (await client.videos.retrieve("video_1")).id == "video_1"
    mock_service.route("GET", "/odd", reply(302, json={"note": "no location"}))
    response = await client.request("GET", "/odd")
    assert response.status_code == 302  # nothing to follow: the answer as it is
    assert len(mock_service.requests) == 2


async def test_a_head_may_follow_any_redirect(client: VideoClient,
                                              mock_service: MockService) -> None:
    mock_service.route("HEAD", "/videos/video_1",
                       reply(302, headers={"Location": "/openai/v1/videos/video_2"}))
    mock_service.route("HEAD", "/videos/video_2", reply(200))
    assert (await client.request("HEAD", "/videos/video_1")).status_code == 200


@pytest.mark.parametrize(("status", "location", "method", "message"), [
    (301, "/openai/v1/videos2", "POST",
     "the service answered 301; following it would turn the POST into a GET"),
    (302, "ftp://x/y", "GET", "refusing a redirect to a ftp URL"),
    (302, "http://x/y", "GET", "refusing a redirect from https"),
    (302, "http://[::1", "GET", "unusable redirect location"),
    (302, "/openai/v1/videos", "GET", "more than 0 redirects"),
])
async def test_a_refused_redirect_carries_its_status_and_request_id(
        mock_service: MockService, status: int, location: str, method: str,
        message: str) -> None:
    from foundry_video import RedirectError

    mock_service.route(method, "/videos", reply(status, headers={
        "Location": location, "x-request-id": "r-3"}), query=None)
    async with mock_service.client(max_redirects=0 if "more than" in message else 5) as client:
        with pytest.raises(RedirectError) as info:
            if method == "POST":
                await client.videos.create(prompt="a cat")
            else:
                await client.request("GET", "/videos")
    assert message in str(info.value)
    assert (info.value.status_code, info.value.request_id) == (status, "r-3")
