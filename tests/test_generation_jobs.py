"""Sora 1: ``client.generation_jobs`` (Azure preview jobs API)."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from foundry_video import (
    APITimeoutError,
    BadRequestError,
    ContentExpiredError,
    ContentPolicyError,
    CropBounds,
    DownloadError,
    DownloadSaved,
    GenerationJob,
    GenerationJobStatus,
    InpaintItem,
    JobCompleted,
    JobFailedError,
    JobTimeoutError,
    ManualClock,
    NotFoundError,
    OutputFileError,
    Request,
    Response,
    SystemClock,
    UnknownStatusError,
    VideoClient,
    VideoGenerationJob,
)

from .fakes import MockService, reply, request_parts

JOBS = "/video/generations/jobs"
PREVIEW = {"api-version": "preview"}
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 300
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64


def png(width: int = 64, height: int = 64) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + b"\x00" * 16)


def gen_job(job_id: str = "task_1", status: str = "queued", *, n_variants: int = 1,
            generations: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """A VideoGenerationJob body as the service sends it (docs example shape)."""
    body: dict[str, Any] = {
        "object": "video.generation.job", "id": job_id, "status": status,
        "created_at": 1748469875, "finished_at": None, "expires_at": None, "generations": [],
        "prompt": "A cat playing piano", "model": "sora", "n_variants": n_variants,
        "n_seconds": 5, "height": 480, "width": 480, "failure_reason": None,
    }
    if status == "succeeded":
        body.update(finished_at=1748469990, expires_at=4102444800)
        body["generations"] = generations if generations is not None else [
            {"object": "video.generation", "id": f"gen_{i}", "job_id": job_id,
             "created_at": 1748469990, "width": 480, "height": 480, "n_seconds": 5,
             "prompt": "A cat playing piano"} for i in range(n_variants)]
    body.update(extra)
    return body


def jobs_in_turn(*bodies: dict[str, Any]) -> list[Any]:
    """Answers giving each job body in turn, the last one repeating."""
    return [*(Response(200, json=body) for body in bodies[:-1]), reply(json=bodies[-1])]


def serve_generations(service: MockService, contents: dict[str, bytes]) -> None:
    """Content of each generation: its video, and a JPEG thumbnail (``api-version`` only)."""
    for gen_id, data in contents.items():
        for variant in ("video", "thumbnail"):
            payload = data if variant == "video" else JPEG + gen_id.encode()
            service.route("GET", f"/video/generations/{gen_id}/content/{variant}",
                          reply(content=payload,
                                headers={"Content-Type": "application/octet-stream"}),
                          query=PREVIEW)


# -- wire shapes ----------------------------------------------------------------------


async def test_create_sends_json_with_int_fields_and_preview(client: VideoClient,
                                                             mock_service: MockService) -> None:
    mock_service.route("POST", JOBS, Response(200, json=gen_job()), query=PREVIEW)
    job = await client.generation_jobs.create(prompt="A cat", model="sora", size="1280x720",
                                              seconds=8, n_variants=2)
    sent = mock_service.last("POST", JOBS)
    body = sent.json()
    assert body == {"prompt": "A cat", "width": 1280, "height": 720, "n_seconds": 8,
                    "n_variants": 2, "model": "sora"}
    assert isinstance(body, dict)
    assert all(type(body[k]) is int for k in ("width", "height", "n_seconds", "n_variants"))
    assert sent.headers["Content-Type"] == "application/json"
    assert [dict(r.url.query) for r in mock_service.requests] == [PREVIEW]
    assert isinstance(job, GenerationJob) and job.id == "task_1"
    assert job.status == "queued" and job.progress is None and job.generations == []


async def test_create_defaults_and_width_height(client: VideoClient,
                                                mock_service: MockService) -> None:
    mock_service.route("POST", JOBS, reply(json=gen_job()), query=PREVIEW)
    await client.generation_jobs.create(prompt="A cat", model="sora")
    assert mock_service.last("POST", JOBS).json() == {
        "prompt": "A cat", "width": 480, "height": 480, "n_seconds": 5, "n_variants": 1,
        "model": "sora"}
    await client.generation_jobs.create(prompt="A cat", model="sora", width=854, height=480,
                                        seconds="3")
    body = mock_service.last("POST", JOBS).json()
    assert isinstance(body, dict)
    assert (body["width"], body["height"], body["n_seconds"]) == (854, 480, 3)


async def test_preview_api_version_wins_over_client_setting(mock_service: MockService) -> None:
    mock_service.route("GET", JOBS + "/task_1", Response(200, json=gen_job()), query=PREVIEW)
    async with mock_service.client(api_version="v1") as c:
        got = await c.generation_jobs.retrieve("task_1")
    assert got.id == "task_1"
    assert [dict(r.url.query) for r in mock_service.requests] == [PREVIEW]


async def test_inpaint_items_are_sent_as_multipart(client: VideoClient, mock_service: MockService,
                                                   tmp_path: Path) -> None:
    first, last = png(480, 480), b"\xff\xd8\xff\xe0" + b"\x00" * 32
    (tmp_path / "end.jpg").write_bytes(last)
    mock_service.route("POST", JOBS, Response(200, json=gen_job()), query=PREVIEW)
    items = [InpaintItem(frame_index=0, type="image", file_name="start.png",
                         crop_bounds=CropBounds(left_fraction=0.1, right_fraction=0.9)),
             {"frame_index": 100, "type": "image", "file_name": "end.jpg"}]
    await client.generation_jobs.create(
        prompt="Forest to autumn", model="sora", size="480x480", seconds=10,
        inpaint_items=items, files=[("start.png", first), tmp_path / "end.jpg"])
    recorded = mock_service.last("POST", JOBS)
    assert dict(recorded.url.query) == {"api-version": "preview"}
    assert recorded.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = request_parts(recorded)
    scalars = {name: parts[name][0][2].decode() for name in
               ("prompt", "width", "height", "n_seconds", "n_variants", "model")}
    assert scalars == {"prompt": "Forest to autumn", "width": "480", "height": "480",
                       "n_seconds": "10", "n_variants": "1", "model": "sora"}
    assert len(parts["inpaint_items"]) == 1
    assert json.loads(parts["inpaint_items"][0][2]) == [
        {"frame_index": 0, "type": "image", "file_name": "start.png",
         "crop_bounds": {"left_fraction": 0.1, "top_fraction": 0.0, "right_fraction": 0.9,
                         "bottom_fraction": 1.0}},
        {"frame_index": 100, "type": "image", "file_name": "end.jpg"}]
    assert parts["files"] == [("start.png", "image/png", first), ("end.jpg", "image/jpeg", last)]


async def test_image_and_video_shortcuts_build_one_item(client: VideoClient,
                                                        mock_service: MockService,
                                                        tmp_path: Path) -> None:
    mock_service.route("POST", JOBS, reply(json=gen_job()), query=PREVIEW)
    (tmp_path / "dog.png").write_bytes(png())
    await client.generation_jobs.create(prompt="a dog", model="sora", image=tmp_path / "dog.png",
                                        crop_bounds={"top_fraction": 0.25})
    parts = request_parts(mock_service.last("POST", JOBS))
    item = json.loads(parts["inpaint_items"][0][2])[0]
    assert item["frame_index"] == 0 and item["type"] == "image" and item["file_name"] == "dog.png"
    assert item["crop_bounds"]["top_fraction"] == 0.25
    assert [(name, ctype) for name, ctype, _ in parts["files"]] == [("dog.png", "image/png")]

    await client.generation_jobs.create(prompt="a dog", model="sora",
                                        files={"clip.mp4": MP4},
                                        inpaint_items=[{"type": "video", "file_name": "clip.mp4"}])
    parts = request_parts(mock_service.last("POST", JOBS))
    assert parts["files"] == [("clip.mp4", "video/mp4", MP4)]
    await client.generation_jobs.create(prompt="a dog", model="sora", video=MP4)
    parts = request_parts(mock_service.last("POST", JOBS))
    assert json.loads(parts["inpaint_items"][0][2]) == [
        {"frame_index": 0, "type": "video", "file_name": "video.mp4"}]
    assert parts["files"][0][:2] == ("video.mp4", "video/mp4")
    assert len(mock_service.requests) == 3


IMG = png()
_TOO_MANY = {"inpaint_items": [{"file_name": f"{i}.png"} for i in range(3)],
             "files": {f"{i}.png": IMG for i in range(3)}}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "  "}, "prompt"),
        ({"size": "640x360"}, "not supported"),
        ({"size": "huge"}, "width x height"),
        ({"size": "480x480", "width": 480, "height": 480}, "not both"),
        ({"width": 480}, "both width and height"),
        ({"seconds": 0}, "positive"),
        ({"seconds": 21}, "not supported"),
        ({"size": "1920x1080", "n_variants": 2}, "limit is 1"),
        ({"size": "720x1280", "n_variants": 3}, "limit is 2"),
        ({"size": "854x480", "n_variants": 5}, "limit is 4"),
        ({"n_variants": 0}, "at least 1"),
        ({"model": "sora-2"}, "Sora 2"),
        ({"model": " "}, "deployment"),
        ({"inpaint_items": [{"file_name": "a.png"}], "files": {"b.png": IMG}}, "matches none"),
        ({"inpaint_items": [{"file_name": "a.png"}], "files": {"a.png": IMG, "b.png": IMG}},
         "not referenced"),
        ({"inpaint_items": [{"file_name": "a.png"}]}, "go together"),
        ({"files": [IMG]}, "go together"),
        ({"inpaint_items": [{"file_name": "a.png", "frame_index": -1}], "files": {"a.png": IMG}},
         "greater than or equal"),
        ({"inpaint_items": [{"file_name": "a.png", "type": "mask"}], "files": {"a.png": IMG}},
         "'image' or 'video'"),
        ({"image": IMG, "crop_bounds": {"left_fraction": 1.5}}, "less than or equal"),
        ({"image": IMG, "crop_bounds": {"left_fraction": 0.6, "right_fraction": 0.5}},
         "left_fraction"),
        ({"image": IMG, "crop_bounds": {"top_fraction": 0.5, "bottom_fraction": 0.5}},
         "top_fraction"),
        (_TOO_MANY, "at most 2 images"),
        ({"inpaint_items": [{"file_name": "a.png"}, {"type": "video", "file_name": "b.mp4"}],
          "files": {"a.png": IMG, "b.mp4": MP4}}, "at most 2 images or 1 video"),
        ({"inpaint_items": [{"type": "video", "file_name": "a.png"}], "files": {"a.png": IMG}},
         "file is image/png"),
        ({"image": MP4}, "file is video/mp4"),
        ({"image": b"GIF89a..."}, "accepts"),
        ({"image": IMG, "video": MP4}, "one of"),
        ({"inpaint_items": [{"file_name": "a.png"}], "files": {"a.png": IMG},
          "crop_bounds": {"left_fraction": 0.5}}, "each item"),
        ({"files": "a.png", "inpaint_items": [{"file_name": "a.png"}]}, "list of files"),
    ],
)
async def test_invalid_parameters_fail_before_any_request(
        client: VideoClient, mock_service: MockService, kwargs: dict[str, Any],
        match: str) -> None:
    args: dict[str, Any] = {"prompt": "a cat", "model": "sora", **kwargs}
    with pytest.raises((ValueError, TypeError, ValidationError), match=match):
        await client.generation_jobs.create(**args)
    assert mock_service.requests == []


async def test_unknown_deployments_get_only_generic_checks(mock_service: MockService) -> None:
    mock_service.route("POST", JOBS, reply(json=gen_job()), query=PREVIEW)
    async with mock_service.client() as client:
        jobs = client.generation_jobs
        await jobs.create(prompt="a", model="my-sora", size="1920x1080", n_variants=2)
        for bad, match in (({"seconds": 21}, "between 1 and 20"), ({"n_variants": 6}, "between 1"),
                           ({"prompt": ""}, "prompt")):
            with pytest.raises(ValueError, match=match):
                await jobs.create(**{"prompt": "a", "model": "my-sora", **bad})
        with pytest.raises(TypeError):
            await jobs.create(prompt="a", model="my-sora", seconds=True)
    async with mock_service.client(validate=False) as client:
        await client.generation_jobs.create(prompt="a", model="sora", size="640x360", seconds=30,
                                            n_variants=9)
    sent = mock_service.calls("POST", JOBS)
    assert len(sent) == len(mock_service.requests) == 2
    assert sent[1].json() == {"prompt": "a", "width": 640, "height": 360, "n_seconds": 30,
                              "n_variants": 9, "model": "sora"}


async def test_retrieve_parses_every_field(client: VideoClient,
                                           mock_service: MockService) -> None:
    mock_service.route("GET", JOBS + "/task_1", Response(200, json=gen_job(
        status="succeeded", n_variants=2, quality_tier="x")), query=PREVIEW)
    got = await client.generation_jobs.retrieve("task_1")
    assert got.known_status is GenerationJobStatus.SUCCEEDED
    assert got.created_at is not None and got.created_at.year == 2025
    assert got.finished_at is not None and got.expires_at is not None
    assert [g.id for g in got.generations] == ["gen_0", "gen_1"]
    assert got.generations[0].job_id == "task_1" and got.generations[0].created_at is not None
    assert got.size == "480x480" and got.model_extra == {"quality_tier": "x"}
    mock_service.route("GET", JOBS + "/task_2", Response(200, json=gen_job(
        "task_2", generations=None, status="weird")), query=PREVIEW)
    other = await client.generation_jobs.retrieve("task_2")
    assert other.generations == [] and other.known_status is None


async def test_list_sends_comma_separated_statuses_and_paginates(
        client: VideoClient, mock_service: MockService) -> None:
    page1 = {"object": "list", "data": [gen_job("t1"), gen_job("t2")], "has_more": True,
             "first_id": "t1", "last_id": "t2"}
    page2 = {"object": "list", "data": [gen_job("t3")], "has_more": False}
    first = {**PREVIEW, "limit": "2", "statuses": "queued,running"}
    mock_service.route("GET", JOBS, Response(200, json=page1), query=first)
    mock_service.route("GET", JOBS, Response(200, json=page2), query={**first, "after": "t2"})
    pager = client.generation_jobs.list(limit=2, statuses=["queued", GenerationJobStatus.RUNNING])
    assert [j.id async for j in pager] == ["t1", "t2", "t3"]
    mock_service.route("GET", JOBS, Response(200, json=page2),
                       query={**PREVIEW, "limit": "10", "before": "t9"})
    page = await client.generation_jobs.list(before="t9")
    assert [j.id for j in page.data] == ["t3"] and not page.has_more
    with pytest.raises(ValueError, match="unknown status"):
        client.generation_jobs.list(statuses="completed")
    with pytest.raises(ValueError):
        client.generation_jobs.list(limit=0)
    assert len(mock_service.requests) == 3


async def test_list_statuses_on_the_wire(client: VideoClient, mock_service: MockService) -> None:
    mock_service.route("GET", JOBS, Response(200, json={"object": "list", "data": [],
                                                        "has_more": False}), query=None)
    await client.generation_jobs.list(limit=5, statuses=["succeeded", "failed"])
    sent = mock_service.last("GET", JOBS)
    assert dict(sent.url.query) == {"api-version": "preview", "limit": "5",
                                    "statuses": "succeeded,failed"}
    # One parameter with literal commas (not repeated, not %2C): what the service parses.
    assert "statuses=succeeded,failed" in sent.url.raw_query_string


async def test_delete_returns_none_on_204(client: VideoClient, mock_service: MockService) -> None:
    mock_service.route("DELETE", JOBS + "/task_1", Response(204), query=PREVIEW)
    await client.generation_jobs.delete("task_1")
    assert dict(mock_service.last("DELETE", JOBS + "/task_1").url.query) == PREVIEW


async def test_generation_retrieve_and_download(client: VideoClient, mock_service: MockService,
                                                tmp_path: Path) -> None:
    mock_service.route("GET", "/video/generations/gen_0", Response(
        200, json=gen_job(status="succeeded")["generations"][0]), query=PREVIEW)
    generation = await client.generation_jobs.retrieve_generation("gen_0")
    assert generation.id == "gen_0" and generation.n_seconds == 5
    video_path = "/video/generations/gen_0/content/video"
    serve_generations(mock_service, {"gen_0": MP4})
    mock_service.route("GET", video_path, Response(
        200, content=MP4, headers={"Content-Type": "application/octet-stream"}),
        query={**PREVIEW, "quality": "low"})
    jobs = client.generation_jobs
    out = await jobs.download("gen_0", tmp_path / "v.mp4", quality="low")
    assert out.read_bytes() == MP4
    assert dict(mock_service.last("GET", video_path).url.query) == {"api-version": "preview",
                                                                    "quality": "low"}
    thumb = await jobs.download("gen_0", tmp_path / "t.jpg", variant="thumbnail")
    assert thumb.read_bytes().startswith(b"\xff\xd8")
    thumb_path = "/video/generations/gen_0/content/thumbnail"
    assert dict(mock_service.last("GET", thumb_path).url.query) == PREVIEW
    sent = len(mock_service.requests)
    with pytest.raises(ValueError, match="only to variant='video'"):
        await jobs.download("gen_0", tmp_path / "x", variant="thumbnail", quality="high")
    with pytest.raises(ValueError, match="variant"):
        await jobs.download("gen_0", tmp_path / "x", variant="spritesheet")
    assert len(mock_service.requests) == sent == 3


@pytest.mark.parametrize("wrapped", [False, True])
async def test_bare_and_wrapped_error_bodies(client: VideoClient, mock_service: MockService,
                                             wrapped: bool) -> None:
    error = {"code": "invalid_dimensions", "message": "Unsupported width/height", "param": "width",
             "type": "invalid_request_error"}
    mock_service.route("POST", JOBS, Response(400, json={"error": error} if wrapped else error,
                                              headers={"apim-request-id": "req-1"}),
                       query=PREVIEW)
    with pytest.raises(BadRequestError) as info:
        await client.generation_jobs.create(prompt="a", model="sora")
    err = info.value
    assert (err.code, err.message, err.param, err.request_id) == (
        "invalid_dimensions", "Unsupported width/height", "width", "req-1")
    assert not isinstance(err, ContentPolicyError)
    assert len(mock_service.requests) == 1


async def test_bare_moderation_error_is_a_content_policy_error(client: VideoClient,
                                                              mock_service: MockService) -> None:
    mock_service.route("POST", JOBS, Response(400, json={
        "code": "content_policy_violation", "message": "blocked",
        "inner_error": {"code": "ResponsibleAIPolicyViolation", "revised_prompt": "x",
                        "error_details": {"violence": {"filtered": True}}}}), query=PREVIEW)
    with pytest.raises(ContentPolicyError) as info:
        await client.generation_jobs.create(prompt="a", model="sora")
    assert info.value.categories == {"violence": {"filtered": True}}
    mock_service.route("GET", JOBS + "/nope", Response(404, json={
        "code": "NotFound", "message": "no job"}), query=PREVIEW)
    with pytest.raises(NotFoundError, match="no job"):
        await client.generation_jobs.retrieve("nope")


# -- the job lifecycle ------------------------------------------------------------------


async def test_create_poll_and_download_generation_zero(client: VideoClient,
                                                        mock_service: MockService,
                                                        tmp_path: Path) -> None:
    mock_service.route("POST", JOBS, Response(200, json=gen_job()), query=PREVIEW)
    mock_service.route("GET", JOBS + "/task_1", *jobs_in_turn(*(
        gen_job(status=s) for s in ("preprocessing", "running", "processing", "succeeded"))),
        query=PREVIEW)
    serve_generations(mock_service, {"gen_0": MP4})
    job = await client.generation_jobs.create(prompt="A cat playing piano", model="sora")
    events: list[Any] = []
    out = await job.result(tmp_path / "cat.mp4", on_progress=events.append)
    assert out.read_bytes() == MP4 and sorted(p.name for p in tmp_path.iterdir()) == ["cat.mp4"]
    assert [(type(e).__name__, getattr(e, "status", None)) for e in events[:5]] == [
        ("JobQueued", "queued"), ("JobQueued", "preprocessing"), ("JobProgress", "running"),
        ("JobProgress", "processing"), ("JobCompleted", None)]
    assert isinstance(events[-1], DownloadSaved)
    assert job.status == "succeeded" and job.done and [g.id for g in job.generations] == ["gen_0"]
    assert all(r.url.query.get("api-version") == "preview" for r in mock_service.requests)
    assert len(mock_service.calls("GET", JOBS + "/task_1")) == 4


async def test_result_all_downloads_every_generation(client: VideoClient,
                                                     mock_service: MockService,
                                                     tmp_path: Path) -> None:
    mock_service.route("GET", JOBS + "/task_1", *jobs_in_turn(
        gen_job(status="running", n_variants=2), gen_job(status="succeeded", n_variants=2)),
        query=PREVIEW)
    second = MP4[::-1] + b"ftyp"
    serve_generations(mock_service, {"gen_0": MP4, "gen_1": second})
    job = client.generation_jobs.job("task_1")
    events: list[Any] = []
    paths = await job.result_all(tmp_path / "out", on_progress=events.append)
    assert paths == [tmp_path / "out" / "task_1_1.mp4", tmp_path / "out" / "task_1_2.mp4"]
    assert [p.read_bytes() for p in paths] == [MP4, second]
    assert sum(isinstance(e, JobCompleted) for e in events) == 1
    assert sum(isinstance(e, DownloadSaved) for e in events) == 2
    thumbs = await job.result_all(tmp_path / "out", variant="thumbnail", prefix="cat")
    assert [p.name for p in thumbs] == ["cat_1.jpg", "cat_2.jpg"]
    assert thumbs[1].read_bytes() == JPEG + b"gen_1"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "cat_1.jpg", "cat_2.jpg", "task_1_1.mp4", "task_1_2.mp4"]


async def test_failed_job_carries_failure_reason(client: VideoClient, mock_service: MockService,
                                                 tmp_path: Path) -> None:
    mock_service.route("GET", JOBS + "/task_1", *jobs_in_turn(
        gen_job(status="running"), gen_job(status="failed", failure_reason="input_moderation")),
        query=PREVIEW)
    with pytest.raises(JobFailedError) as info:
        await client.generation_jobs.job("task_1").result(tmp_path / "o.mp4")
    err = info.value
    assert (err.job_id, err.code, err.status) == ("task_1", "input_moderation", "failed")
    assert err.is_content_policy and "moderation" in str(err)
    assert isinstance(err.job, VideoGenerationJob)
    assert list(tmp_path.iterdir()) == []


async def test_cancelled_job_raises_job_failed(client: VideoClient,
                                               mock_service: MockService) -> None:
    mock_service.route("GET", JOBS + "/task_1", reply(json=gen_job(status="cancelled")),
                       query=PREVIEW)
    with pytest.raises(JobFailedError) as info:
        await client.generation_jobs.job("task_1")
    assert info.value.status == "cancelled" and info.value.code is None
    assert "cancelled" in str(info.value)


async def test_succeeded_without_generations_is_a_download_error(
        client: VideoClient, mock_service: MockService, tmp_path: Path) -> None:
    mock_service.route("GET", JOBS + "/task_1",
                       reply(json=gen_job(status="succeeded", generations=[])), query=PREVIEW)
    job = client.generation_jobs.job("task_1")
    assert (await job).status == "succeeded"
    with pytest.raises(DownloadError, match="succeeded but has no generations") as info:
        await job.result(tmp_path / "o.mp4")
    assert info.value.job_id == "task_1"
    with pytest.raises(DownloadError, match="no generations"):
        await job.result_all(tmp_path)
    mock_service.route("GET", JOBS + "/task_2",
                       reply(json=gen_job("task_2", status="succeeded")), query=PREVIEW)
    with pytest.raises(DownloadError, match="index 1 is out of range"):
        await client.generation_jobs.job("task_2").result(tmp_path / "o.mp4", index=1)
    assert list(tmp_path.iterdir()) == []
    assert not any("/content/" in r.url.path for r in mock_service.requests)


async def test_expired_and_unknown_status(client: VideoClient, mock_service: MockService,
                                          clock: ManualClock, tmp_path: Path) -> None:
    mock_service.route("GET", JOBS + "/task_1", reply(json=gen_job(
        status="succeeded", expires_at=int(clock.time()) - 3600)), query=PREVIEW)
    with pytest.raises(ContentExpiredError):
        await client.generation_jobs.job("task_1").result(tmp_path / "o.mp4")
    mock_service.route("GET", JOBS + "/task_2", reply(json=gen_job("task_2", status="paused")),
                       query=PREVIEW)
    with pytest.raises(UnknownStatusError) as info:
        await client.generation_jobs.job("task_2")
    assert info.value.status == "paused"
    assert not any("/content/" in r.url.path for r in mock_service.requests)


async def test_reattach_by_id_and_timeout(client: VideoClient, mock_service: MockService,
                                          clock: ManualClock, tmp_path: Path) -> None:
    mock_service.route("GET", JOBS + "/task_1", *jobs_in_turn(
        gen_job(status="queued"), gen_job(status="succeeded")), query=PREVIEW)
    job = client.generation_jobs.job("task_1")
    assert job.status is None and job.latest is None and job.generations == []
    done = await job
    assert isinstance(done, VideoGenerationJob) and done.status == "succeeded"
    assert clock.sleeps and all(s > 0 for s in clock.sleeps)
    mock_service.route("GET", JOBS + "/task_3", reply(json=gen_job("task_3", status="running")),
                       query=PREVIEW)
    with pytest.raises(JobTimeoutError) as info:
        await client.generation_jobs.job("task_3").result_all(tmp_path, timeout=60)
    assert info.value.job_id == "task_3" and info.value.timeout == 60
    with pytest.raises(ValueError):
        client.generation_jobs.job("")


async def test_cancel_remote_deletes_with_preview(client: VideoClient,
                                                  mock_service: MockService,
                                                  clock: ManualClock) -> None:
    import anyio

    mock_service.route("GET", JOBS + "/task_1", reply(json=gen_job(status="running")),
                       query=PREVIEW)
    mock_service.route("DELETE", JOBS + "/task_1", Response(204), query=PREVIEW)
    clock.auto_advance = False
    with anyio.move_on_after(0.2):
        await client.generation_jobs.job("task_1").wait(cancel_remote=True)
    deletes = mock_service.calls("DELETE", JOBS + "/task_1")
    assert len(deletes) == 1 and dict(deletes[0].url.query) == PREVIEW


def test_public_names_are_exported() -> None:
    import foundry_video

    for name in ("GenerationJob", "GenerationJobs", "GenerationJobStatus", "VideoGenerationJob",
                 "VideoGeneration", "VideoGenerationJobList", "InpaintItem", "CropBounds"):
        assert name in foundry_video.__all__ and getattr(foundry_video, name).__doc__


# -- found by the mutation run ---------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"prompt": 42}, TypeError, "prompt must be a string"),
    ({"model": ""}, ValueError, "model must be the deployment name"),
    ({"seconds": "five"}, ValueError, "seconds must be a whole number, got 'five'"),
    ({"n_variants": "2x"}, ValueError, "n_variants must be a whole number, got '2x'"),
    ({"size": "640x360"}, ValueError, "size '640x360' is not supported by model 'sora'; "
     "allowed: 480x480, 480x854, 720x720, 720x1280, 854x480, 1080x1080, 1080x1920, "
     "1280x720, 1920x1080"),
    ({"image": b"GIF89a..."}, ValueError,
     "'image.gif' is image/gif; 'sora' accepts image/jpeg, image/png, image/webp, video/mp4"),
    ({"model": "sora-2"}, ValueError,
     "model 'sora-2' is a Videos API (Sora 2) model: use client.videos.create(); for a Sora 1 "
     "deployment with this name pass capabilities=default_capabilities().with_model(name, "
     "'sora')"),
])
async def test_invalid_parameters_are_explained(
        client: VideoClient, mock_service: MockService, kwargs: dict[str, Any],
        error: type[Exception], message: str) -> None:
    args: dict[str, Any] = {"prompt": "a cat", "model": "sora", **kwargs}
    with pytest.raises(error) as info:
        await client.generation_jobs.create(**args)
    assert str(info.value) == message
    assert mock_service.requests == []


async def test_without_validation_media_limits_are_left_to_the_service(
        mock_service: MockService) -> None:
    mock_service.route("POST", JOBS, reply(json=gen_job()), query=PREVIEW)
    async with mock_service.client(validate=False) as client:
        await client.generation_jobs.create(prompt="a", model="sora", **_TOO_MANY)
    assert len(request_parts(mock_service.last("POST", JOBS))["files"]) == 3


@pytest.mark.parametrize(("reason", "message"), [
    ("input_moderation", "the input was blocked by content moderation"),
    ("output_moderation", "the output was blocked by content moderation"),
    ("internal_error", "the service failed with an internal error"),
    ("quota_exhausted", "quota_exhausted"),  # a reason this SDK does not know: passed on
    (None, None),
])
async def test_failure_reasons_become_messages(client: VideoClient, mock_service: MockService,
                                               reason: str | None, message: str | None) -> None:
    mock_service.route("GET", JOBS + "/task_1",
                       reply(json=gen_job(status="failed", failure_reason=reason)), query=PREVIEW)
    with pytest.raises(JobFailedError) as info:
        await client.generation_jobs.job("task_1")
    assert (info.value.code, info.value.message) == (reason, message)
    if reason is None:
        assert str(info.value) == "Job task_1 failed: no reason given"


async def test_a_cancelled_job_says_so(client: VideoClient, mock_service: MockService) -> None:
    mock_service.route("GET", JOBS + "/task_1", reply(json=gen_job(status="cancelled")),
                       query=PREVIEW)
    with pytest.raises(JobFailedError) as info:
        await client.generation_jobs.job("task_1")
    assert str(info.value) == "Job task_1 cancelled: the job was cancelled"


async def test_status_and_expiry_errors_name_the_job(client: VideoClient,
                                                     mock_service: MockService,
                                                     clock: ManualClock, tmp_path: Path) -> None:
    mock_service.route("GET", JOBS + "/task_2", reply(json=gen_job("task_2", status="paused")),
                       query=PREVIEW)
    with pytest.raises(UnknownStatusError) as unknown:
        await client.generation_jobs.job("task_2")
    assert str(unknown.value) == "Job task_2 has unknown status 'paused'; refusing to guess"
    expired = int(clock.time()) - 3600
    mock_service.route("GET", JOBS + "/task_1", reply(json=gen_job(
        status="succeeded", expires_at=expired)), query=PREVIEW)
    with pytest.raises(ContentExpiredError) as info:
        await client.generation_jobs.job("task_1").result(tmp_path / "o.mp4")
    assert str(info.value).startswith("the generations of job task_1 expired at ")
    with pytest.raises(ValueError, match=r"^index must be >= 0, got -1$"):
        await client.generation_jobs.job("task_1").result(tmp_path / "o.mp4", index=-1)


async def test_jobs_use_the_clients_poll_intervals(mock_service: MockService,
                                                   clock: ManualClock) -> None:
    mock_service.route("GET", JOBS + "/task_1", *jobs_in_turn(
        *(gen_job(status="running") for _ in range(6)), gen_job(status="succeeded")),
        query=PREVIEW)
    async with mock_service.client(poll_interval=7) as client:
        await client.generation_jobs.job("task_1")
    assert clock.sleeps == [7.0] * 6
    clock.sleeps.clear()
    mock_service.route("GET", JOBS + "/task_2", *jobs_in_turn(
        *(gen_job("task_2", status="running") for _ in range(6)),
        gen_job("task_2", status="succeeded")), query=PREVIEW)
    async with mock_service.client(max_poll_interval=1.5) as client:
        await client.generation_jobs.job("task_2")
    assert len(clock.sleeps) == 6 and all(0 < s <= 1.5 for s in clock.sleeps)
    assert max(clock.sleeps) > 1.0  # the back-off reached the cap


async def test_result_all_of_a_single_generation_saves_one_file(
        client: VideoClient, mock_service: MockService, tmp_path: Path) -> None:
    mock_service.route("GET", JOBS + "/task_1", reply(json=gen_job(status="succeeded")),
                       query=PREVIEW)
    serve_generations(mock_service, {"gen_0": MP4})
    paths = await client.generation_jobs.job("task_1").result_all(tmp_path)
    assert paths == [tmp_path / "task_1_1.mp4"] and paths[0].read_bytes() == MP4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["task_1_1.mp4"]


@pytest.mark.parametrize("prefix", ["", "sub/name"])
async def test_result_all_refuses_a_prefix_that_is_not_a_file_name(
        client: VideoClient, mock_service: MockService, tmp_path: Path, prefix: str) -> None:
    with pytest.raises(ValueError, match=r"^prefix must be a non-empty file name without a "
                                         r"directory$"):
        await client.generation_jobs.job("task_1").result_all(tmp_path, prefix=prefix)
    assert mock_service.requests == []


async def test_result_all_checks_the_directory_before_polling(
        client: VideoClient, mock_service: MockService, tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"in the way")
    with pytest.raises(OutputFileError) as info:
        await client.generation_jobs.job("task_1").result_all(tmp_path / "file" / "out")
    assert info.value.job_id == "task_1"
    assert mock_service.requests == []


async def test_result_all_has_one_deadline_for_polling_and_every_download(
        mock_service: MockService, tmp_path: Path) -> None:
    async def stalled(request: Request) -> Response:
        await asyncio.sleep(3600)
        raise AssertionError

    mock_service.route("GET", JOBS + "/task_1",
                       reply(json=gen_job(status="succeeded", n_variants=2)), query=PREVIEW)
    serve_generations(mock_service, {"gen_0": MP4})
    mock_service.route("GET", "/video/generations/gen_1/content/video", stalled, query=PREVIEW)
    async with mock_service.client(timeout=600, clock=SystemClock()) as client:
        with pytest.raises(JobTimeoutError) as info:
            await asyncio.wait_for(client.generation_jobs.job("task_1").result_all(
                tmp_path, timeout=0.3), 5)
    error = info.value
    assert (error.job_id, error.timeout, error.last_status) == ("task_1", 0.3, "succeeded")
    assert "client.generation_jobs.job('task_1')" in str(error)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["task_1_1.mp4"]


@pytest.mark.parametrize("cancel_remote", [None, False, True])
@pytest.mark.parametrize("stage", ["waiting", "downloading"])
async def test_result_all_deletes_the_job_when_cancelled_only_if_asked(
        mock_service: MockService, tmp_path: Path, cancel_remote: bool | None, stage: str) -> None:
    started = asyncio.Event()

    async def stalled(request: Request) -> Response:
        started.set()
        await asyncio.sleep(3600)
        raise AssertionError

    status = reply(json=gen_job(status="succeeded")) if stage == "downloading" else stalled
    mock_service.route("GET", JOBS + "/task_1", status, query=PREVIEW)
    mock_service.route("GET", "/video/generations/gen_0/content/video", stalled, query=PREVIEW)
    mock_service.route("DELETE", JOBS + "/task_1", reply(204), query=PREVIEW)
    async with mock_service.client(timeout=600) as client:
        options = {} if cancel_remote is None else {"cancel_remote": cancel_remote}
        task = asyncio.ensure_future(client.generation_jobs.job("task_1").result_all(
            tmp_path, **options))
        await asyncio.wait_for(started.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(mock_service.calls("DELETE", JOBS + "/task_1")) == int(bool(cancel_remote))


@pytest.mark.parametrize(("limit", "accepted"), [(1, True), (100, True), (0, False),
                                                 (True, False), ("5", False)])
async def test_list_limits(client: VideoClient, mock_service: MockService, limit: Any,
                           accepted: bool) -> None:
    mock_service.route("GET", JOBS, reply(json={"object": "list", "data": [], "has_more": False}),
                       query=None)
    if accepted:
        await client.generation_jobs.list(limit=limit)
        assert mock_service.last("GET", JOBS).url.query["limit"] == str(limit)
    else:
        with pytest.raises(ValueError, match=r"^limit must be a positive int$"):
            client.generation_jobs.list(limit=limit)
        assert mock_service.requests == []


async def test_list_filters_by_one_status_or_several_and_starts_after_a_cursor(
        client: VideoClient, mock_service: MockService) -> None:
    mock_service.route("GET", JOBS, reply(json={"object": "list", "data": [], "has_more": False}),
                       query=None)
    await client.generation_jobs.list(statuses="queued", after="task_0", before="task_9")
    assert dict(mock_service.last("GET", JOBS).url.query) == {
        **PREVIEW, "limit": "10", "statuses": "queued", "after": "task_0", "before": "task_9"}
    with pytest.raises(ValueError) as info:
        client.generation_jobs.list(statuses=["queued", "paused"])
    assert str(info.value) == (
        "unknown status 'paused'; use one of cancelled, failed, preprocessing, processing, "
        "queued, running, succeeded")


async def test_download_options(mock_service: MockService, tmp_path: Path) -> None:
    async def stalled(request: Request) -> Response:
        await asyncio.sleep(3600)
        raise AssertionError

    path = "/video/generations/gen_0/content/video"
    mock_service.route("GET", path, reply(content=MP4), query={**PREVIEW, "trace": "1"})
    async with mock_service.client() as client:
        await client.generation_jobs.download("gen_0", tmp_path / "v.mp4",
                                              extra_headers={"X-Trace": "1"},
                                              extra_query={"trace": "1"})
        assert mock_service.last("GET", path).headers["X-Trace"] == "1"
        with pytest.raises(ValueError, match=r"^quality must be 'high' or 'low'; got 'best'$"):
            await client.generation_jobs.download("gen_0", tmp_path / "v.mp4",
                                                  quality="best")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"^quality applies only to variant='video'$"):
            await client.generation_jobs.download("gen_0", tmp_path / "t.jpg",
                                                  variant="thumbnail", quality="low")
        with pytest.raises(ValueError, match=r"^variant must be one of video, thumbnail; got 'x'$"):
            await client.generation_jobs.download("gen_0", tmp_path / "t.jpg", variant="x")
    mock_service.route("GET", path, stalled, query=PREVIEW)
    async with mock_service.client(timeout=600, clock=SystemClock()) as client:
        with pytest.raises(APITimeoutError):
            await asyncio.wait_for(client.generation_jobs.download(
                "gen_0", tmp_path / "w.mp4", timeout=0.2), 5)
    assert not (tmp_path / "w.mp4").exists()


async def test_a_zero_timeout_is_spent_at_once(client: VideoClient, mock_service: MockService,
                                               tmp_path: Path) -> None:
    job = client.generation_jobs.job("task_1")
    with pytest.raises(JobTimeoutError) as info:
        await job.result_all(tmp_path, timeout=0)
    assert info.value.timeout == 0 and "within 0s" in str(info.value)
    with pytest.raises(JobTimeoutError) as waited:
        await job.wait(timeout=0)
    assert waited.value.timeout == 0
    assert mock_service.requests == []


async def test_a_sora1_timeout_says_how_to_resume_a_sora1_job(client: VideoClient,
                                                              mock_service: MockService) -> None:
    mock_service.route("GET", JOBS + "/task_1", reply(json=gen_job(status="running")),
                       query=PREVIEW)
    with pytest.raises(JobTimeoutError) as info:
        await client.generation_jobs.job("task_1").wait(timeout=30)
    assert str(info.value).endswith("resume with client.generation_jobs.job('task_1')")
