"""Every request that starts a paid job is sent once, whatever failed after it may have arrived.

The mutation run found that only ``videos.create`` with a JSON body was checked: a
multipart create, an edit or extension (by id or by upload), a remix, a character and a
Sora 1 job could all have been marked retryable without a test noticing (three POSTs on
a 500: three paid jobs). Each is tried here against the failures that may have reached
the service, and against the two that certainly did not start a job (429, a refused
connection), which must be retried.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from foundry_video import (
    APIConnectionError,
    InternalServerError,
    Request,
    Response,
    VideoClient,
)

from .fakes import MockService, reply, request_parts, video

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
SORA1_JOBS = "/video/generations/jobs"
PREVIEW = {"api-version": "preview"}


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + b"\x00" * 16)


def sora1_job() -> dict[str, Any]:
    return {"object": "video.generation.job", "id": "task_1", "status": "queued",
            "created_at": 1748469875, "finished_at": None, "expires_at": None,
            "generations": [], "prompt": "a cat", "model": "sora", "n_variants": 1,
            "n_seconds": 5, "height": 480, "width": 480, "failure_reason": None}


Create = Callable[..., Awaitable[object]]
# (name, path, query, created body, the call)
CREATES: list[tuple[str, str, dict[str, str] | None, dict[str, Any], Create]] = [
    ("create json", "/videos", None, video(),
     lambda c, **o: c.videos.create(prompt="a cat", **o)),
    ("create with image url", "/videos", None, video(),
     lambda c, **o: c.videos.create(prompt="a cat", input_reference={"image_url": "https://x/y.png"},
                                   **o)),
    ("create multipart", "/videos", None, video(),
     lambda c, **o: c.videos.create(prompt="a cat", size="1280x720",
                                    input_reference=("first.png", png(1280, 720), "image/png"),
                                    **o)),
    ("remix", "/videos/video_1/remix", None, video("video_2"),
     lambda c, **o: c.videos.remix("video_1", prompt="in the rain", **o)),
    ("edit by id", "/videos/edits", None, video("video_2"),
     lambda c, **o: c.videos.edit("video_1", prompt="sepia", **o)),
    ("edit upload", "/videos/edits", None, video("video_2"),
     lambda c, **o: c.videos.edit(prompt="sepia", video_file=("clip.mp4", MP4), **o)),
    ("extend by id", "/videos/extensions", None, video("video_2"),
     lambda c, **o: c.videos.extend("video_1", prompt="on", seconds=4, **o)),
    ("extend upload", "/videos/extensions", None, video("video_2"),
     lambda c, **o: c.videos.extend(prompt="on", seconds=4, video_file=("clip.mp4", MP4),
                                    **o)),
    ("character", "/videos/characters", None,
     {"id": "char_1", "object": "video.character", "name": "Kit", "created_at": 1760627796},
     lambda c, **o: c.videos.create_character(("clip.mp4", MP4), name="Kit", **o)),
    ("sora1 json", SORA1_JOBS, PREVIEW, sora1_job(),
     lambda c, **o: c.generation_jobs.create(prompt="a cat", model="sora", **o)),
    ("sora1 multipart", SORA1_JOBS, PREVIEW, sora1_job(),
     lambda c, **o: c.generation_jobs.create(prompt="a cat", model="sora", image=png(480, 480),
                                            **o)),
]
IDS = [case[0] for case in CREATES]


def truncated(request: Request) -> Response:
    return Response(200, content=b'{"id": "vid', headers={"Content-Length": "400"})


def reset(request: Request) -> Response:
    raise ConnectionResetError("reset by peer")


def refused(request: Request) -> Response:
    raise ConnectionRefusedError("refused")


@pytest.mark.parametrize("failure", ["500", "503", "truncated", "reset"])
@pytest.mark.parametrize(("name", "path", "query", "body", "call"), CREATES, ids=IDS)
async def test_a_create_that_may_have_arrived_is_not_sent_again(
        mock_service: MockService, failure: str, name: str, path: str,
        query: dict[str, str] | None, body: dict[str, Any], call: Create) -> None:
    first = {"500": reply(500, json={"error": {"message": "boom"}}),
             "503": reply(503, json={"error": {"message": "busy"}}),
             "truncated": truncated, "reset": reset}[failure]
    mock_service.route("POST", path, first, reply(json=body), query=query or {})
    async with mock_service.client(max_retries=2) as client:
        with pytest.raises((InternalServerError, APIConnectionError)) as info:
            await call(client)
    assert len(mock_service.calls("POST", path)) == 1
    if failure in ("truncated", "reset"):  # the user is told why it was not retried
        assert "was not retried" in str(info.value)


@pytest.mark.parametrize("first", ["429", "refused"])
@pytest.mark.parametrize(("name", "path", "query", "body", "call"), CREATES, ids=IDS)
async def test_a_create_that_certainly_started_nothing_is_retried(
        mock_service: MockService, first: str, name: str, path: str,
        query: dict[str, str] | None, body: dict[str, Any], call: Create) -> None:
    failed = reply(429, json={"error": {"message": "slow down"}}) if first == "429" else refused
    mock_service.route("POST", path, failed, reply(json=body), query=query or {})
    async with mock_service.client(max_retries=2) as client:
        await call(client)
    assert len(mock_service.calls("POST", path)) == 2


async def test_a_create_declared_safe_to_retry_by_the_service_is_retried(
        mock_service: MockService) -> None:
    mock_service.route("POST", "/videos",
                       reply(503, json={}, headers={"x-should-retry": "true"}),
                       reply(json=video()))
    async with mock_service.client() as client:
        job = await client.videos.create(prompt="a cat")
    assert job.id == "video_1"
    assert len(mock_service.calls("POST", "/videos")) == 2


@pytest.mark.parametrize(("name", "path", "query", "body", "call"), CREATES, ids=IDS)
async def test_options_reach_the_wire_and_the_job_knows_its_first_state(
        client: VideoClient, mock_service: MockService, name: str, path: str,
        query: dict[str, str] | None, body: dict[str, Any], call: Create) -> None:
    mock_service.route("POST", path, reply(json=body), query={**(query or {}), "trace": "q1"})
    created = await call(client, extra_headers={"X-Trace": "h1"}, extra_query={"trace": "q1"},
                         extra_body={"note": "b1"}, timeout=9.0)
    sent = mock_service.last("POST", path)
    assert sent.headers["X-Trace"] == "h1" and sent.timeout == 9.0
    assert sent.extensions["operation"] == f"POST {path}".replace("video_1", "{id}")
    content_type = sent.headers["Content-Type"]
    if content_type.startswith("multipart/"):
        assert request_parts(sent)["note"][0][2] == b"b1"
    else:
        assert sent.json()["note"] == "b1"  # type: ignore[index]
    if name != "character":  # a character is not a job
        assert created.status == body["status"]  # type: ignore[attr-defined]
        assert created.latest is not None  # type: ignore[attr-defined]
    assert len(mock_service.requests) == 1  # the job's state came with the create
