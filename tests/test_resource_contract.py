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
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from foundry_video import (
    InternalServerError,
    JobTimeoutError,
    Request,
    Response,
    VideoClient,
)

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

