"""The Sora 1 preview video generation jobs API of the emulator, over raw HTTP."""

from __future__ import annotations

import json
import re
import struct
import time
import zlib
from collections.abc import Sequence
from typing import Any

import aiohttp
import pytest

from foundry_video._clock import ManualClock
from foundry_video.emulator import (
    Emulator,
    Fault,
    GenerationJob,
    JobStore,
    PlaceholderRenderer,
    generation_jobs,
)

from .conftest import API, JOB_SECONDS, QUEUE_SECONDS

JOBS = f"{API}/video/generations/jobs"
GENS = f"{API}/video/generations"
PREVIEW = {"api-version": "preview"}
DONE = QUEUE_SECONDS + JOB_SECONDS
JOB_FIELDS = {
    "object", "id", "status", "created_at", "finished_at", "expires_at", "generations",
    "prompt", "model", "n_variants", "n_seconds", "height", "width", "inpaint_items",
    "failure_reason",
}
GENERATION_FIELDS = {"object", "id", "job_id", "created_at", "width", "height", "n_seconds",
                     "prompt"}
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def png() -> bytes:
    """A valid 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


class Sora1:
    """Raw-HTTP helpers for the jobs API (``api-version=preview`` added by default)."""

    def __init__(self, session: aiohttp.ClientSession, clock: ManualClock) -> None:
        self.session = session
        self.clock = clock

    async def request(self, method: str, url: str, *, params: dict[str, str] | None = None,
                      **kwargs: Any) -> tuple[int, Any, Any]:
        """(status, JSON body or bytes, headers)."""
        query = dict(PREVIEW) if params is None else params
        async with self.session.request(method, url, params=query, **kwargs) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json(), resp.headers
            return resp.status, await resp.read(), resp.headers

    async def create(self, prompt: str = "a cat playing piano in a jazz bar", **fields: Any
                     ) -> dict[str, Any]:
        """JSON create; returns the job, asserting 200."""
        body = {"prompt": prompt, "width": 480, "height": 480, "model": "sora", **fields}
        status, job, _ = await self.request("POST", JOBS, json=body)
        assert status == 200, job
        return dict(job)

    async def job(self, job_id: str) -> dict[str, Any]:
        status, body, _ = await self.request("GET", f"{JOBS}/{job_id}")
        assert status == 200, body
        return dict(body)

    async def succeeded(self, prompt: str = "a cat playing piano in a jazz bar", **fields: Any
                        ) -> dict[str, Any]:
        """Create a job, advance the clock past its end and return the succeeded job."""
        job = await self.create(prompt, **fields)
        self.clock.advance(DONE)
        done = await self.job(job["id"])
        assert done["status"] == "succeeded", done
        return done


@pytest.fixture
def s1(session: aiohttp.ClientSession, clock: ManualClock) -> Sora1:
    return Sora1(session, clock)


def form(fields: dict[str, Any], items: Any = None,
         files: Sequence[tuple[str, bytes, str]] = ()) -> aiohttp.FormData:
    """A multipart body like [AZ-QS]'s: scalar strings, inpaint_items as JSON, files parts."""
    data = aiohttp.FormData(default_to_multipart=True)  # multipart even without files
    base = {"prompt": "a dog swimming", "width": "480", "height": "480", "model": "sora"}
    for name, value in {**base, **fields}.items():
        data.add_field(name, str(value))
    if items is not None:
        data.add_field("inpaint_items", items if isinstance(items, str) else json.dumps(items))
    for name, content, ctype in files:
        data.add_field("files", content, filename=name, content_type=ctype)
    return data


def image_item(name: str = "dog.jpg", **extra: Any) -> dict[str, Any]:
    return {"frame_index": 0, "type": "image", "file_name": name, **extra}


def err(body: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = body["error"]
    return error


# -- create --------------------------------------------------------------------------------


async def test_create_json_returns_queued_job(s1: Sora1, emu: Emulator) -> None:
    status, body, headers = await s1.request("POST", JOBS, json={
        "prompt": "A cat playing piano in a jazz bar.", "width": 854, "height": 480,
        "n_seconds": 7, "n_variants": 3, "model": "my-sora-deployment"})
    assert status == 200
    assert headers["apim-request-id"]
    assert set(body) == JOB_FIELDS
    assert re.fullmatch(r"task_[0-9a-z]{26}", body["id"])
    assert body["object"] == "video.generation.job" and body["status"] == "queued"
    assert body["created_at"] == int(emu.clock.time())
    assert (body["width"], body["height"], body["n_seconds"], body["n_variants"]) == (854, 480, 7, 3)
    assert body["model"] == "my-sora-deployment"  # the deployment name is echoed
    assert body["generations"] == []
    for name in ("finished_at", "expires_at", "failure_reason", "inpaint_items"):
        assert body[name] is None
    job = generation_jobs(emu.ctx.state).get(body["id"])
    assert isinstance(job, GenerationJob) and len(job.generation_ids) == 3


async def test_create_defaults(s1: Sora1) -> None:
    job = await s1.create()
    assert (job["n_seconds"], job["n_variants"]) == (5, 1)


async def test_ids_are_unique_and_time_ordered(s1: Sora1, clock: ManualClock) -> None:
    first = await s1.create()
    clock.advance(1)
    second = await s1.create()
    assert first["id"] != second["id"] and first["id"] < second["id"]  # ULIDs sort by time


@pytest.mark.parametrize(("fields", "param", "code"), [
    ({"width": 500, "height": 500}, "width", "invalid_dimensions"),
    ({"width": 480, "height": 854 + 2}, "width", "invalid_dimensions"),
    ({"n_seconds": 0}, "n_seconds", "integer_below_min_value"),
    ({"n_seconds": 21}, "n_seconds", "integer_above_max_value"),
    ({"n_variants": 0}, "n_variants", "integer_below_min_value"),
    ({"n_variants": 5}, "n_variants", "integer_above_max_value"),
    ({"width": 1920, "height": 1080, "n_variants": 2}, "n_variants", "integer_above_max_value"),
    ({"width": 1080, "height": 1920, "n_variants": 2}, "n_variants", "integer_above_max_value"),
    ({"width": 1280, "height": 720, "n_variants": 3}, "n_variants", "integer_above_max_value"),
    ({"width": "480"}, "width", "invalid_type"),
    ({"n_seconds": 5.5}, "n_seconds", "invalid_type"),
    ({"n_variants": True}, "n_variants", "invalid_type"),
    ({"prompt": ""}, "prompt", "string_below_min_length"),
    ({"prompt": 3}, "prompt", "invalid_type"),
    ({"size": "480x480"}, "size", "unknown_parameter"),
    ({"inpaint_items": []}, "inpaint_items", "unknown_parameter"),
    ({"model": "sora-2"}, None, "OperationNotSupported"),
])
async def test_create_validation(s1: Sora1, emu: Emulator, fields: dict[str, Any],
                                 param: str | None, code: str) -> None:
    body = {"prompt": "a cat", "width": 480, "height": 480, "model": "sora", **fields}
    status, resp, _ = await s1.request("POST", JOBS, json=body)
    assert status == 400, resp
    assert err(resp)["code"] == code and err(resp).get("param") == param
    assert len(generation_jobs(emu.ctx.state)) == 0


@pytest.mark.parametrize("missing", ["prompt", "width", "height", "model"])
async def test_create_required_fields(s1: Sora1, missing: str) -> None:
    body = {"prompt": "a cat", "width": 480, "height": 480, "model": "sora"}
    del body[missing]
    status, resp, _ = await s1.request("POST", JOBS, json=body)
    assert status == 400
    assert err(resp)["code"] == "missing_required_parameter" and err(resp)["param"] == missing


async def test_variant_caps_at_the_limit(s1: Sora1) -> None:
    for width, height, cap in ((480, 480, 4), (854, 480, 4), (720, 1280, 2), (1280, 720, 2),
                               (1080, 1080, 1), (1920, 1080, 1)):
        job = await s1.create(width=width, height=height, n_variants=cap, n_seconds=20)
        assert job["n_variants"] == cap


async def test_blocked_words_give_sora1_content_filter(s1: Sora1, emu: Emulator) -> None:
    status, body, _ = await s1.request("POST", JOBS, json={
        "prompt": "some GORE please", "width": 480, "height": 480, "model": "sora"})
    assert status == 400
    error = err(body)  # wrapped in {"error": ...}
    assert error["code"] == "content_filter" and error["param"] == "prompt"
    assert error["inner_error"]["code"] == "ResponsibleAIPolicyViolation"
    assert error["inner_error"]["error_details"]["violence"] == {"filtered": True,
                                                                 "severity": "high"}
    assert len(generation_jobs(emu.ctx.state)) == 0


async def test_form_urlencoded_is_refused(s1: Sora1) -> None:
    status, body, _ = await s1.request("POST", JOBS, data={"prompt": "a", "model": "sora"})
    assert status == 400 and err(body)["code"] == "unsupported_content_type"


# -- multipart ------------------------------------------------------------------------------


async def test_multipart_two_images_with_crop(s1: Sora1) -> None:
    crop = {"left_fraction": 0.1, "top_fraction": 0.1, "right_fraction": 0.9,
            "bottom_fraction": 0.9}
    items = [image_item("dog.jpg", crop_bounds=crop), image_item("b.png", frame_index=60)]
    status, job, _ = await s1.request("POST", JOBS, data=form(
        {"width": "1920", "height": "1080", "n_seconds": "10", "n_variants": "1"}, items,
        [("dog.jpg", JPEG, "image/jpeg"), ("b.png", png(), "image/png")]))
    assert status == 200, job
    assert (job["width"], job["height"], job["n_seconds"]) == (1920, 1080, 10)
    assert job["inpaint_items"] == [
        {"frame_index": 0, "type": "image", "file_name": "dog.jpg", "crop_bounds": crop},
        {"frame_index": 60, "type": "image", "file_name": "b.png",
         "crop_bounds": {"left_fraction": 0.0, "top_fraction": 0.0, "right_fraction": 1.0,
                         "bottom_fraction": 1.0}},
    ]


async def test_multipart_one_video(s1: Sora1) -> None:
    items = [{"frame_index": 0, "type": "video", "file_name": "clip.mp4"}]
    status, job, _ = await s1.request("POST", JOBS, data=form(
        {}, items, [("clip.mp4", MP4, "video/mp4")]))
    assert status == 200, job
    assert job["inpaint_items"][0]["type"] == "video"


JPG = ("dog.jpg", JPEG, "image/jpeg")


@pytest.mark.parametrize(("fields", "items", "files", "param", "code"), [
    ({}, [image_item()], [], "files", "missing_required_parameter"),
    ({}, None, [JPG], "files", "invalid_value"),  # a file no item refers to
    ({}, "[{not json", [JPG], "inpaint_items", "invalid_value"),
    ({}, {"type": "image"}, [JPG], "inpaint_items", "invalid_type"),
    ({}, [image_item("cat.jpg")], [JPG], "inpaint_items[0].file_name", "invalid_value"),
    ({}, [image_item(type="audio")], [JPG], "inpaint_items[0].type", "invalid_value"),
    ({}, [{"file_name": "dog.jpg"}], [JPG], "inpaint_items[0].type",
     "missing_required_parameter"),
    ({}, [image_item(frame_index=-1)], [JPG], "inpaint_items[0].frame_index",
     "integer_below_min_value"),
    ({}, [image_item(frame_index="0")], [JPG], "inpaint_items[0].frame_index", "invalid_type"),
    ({}, [image_item(crop_bounds={"left_fraction": 1.5})], [JPG],
     "inpaint_items[0].crop_bounds.left_fraction", "invalid_value"),
    ({}, [image_item(crop_bounds={"left_fraction": 0.6, "right_fraction": 0.4})], [JPG],
     "inpaint_items[0].crop_bounds", "invalid_value"),
    ({}, [image_item(crop_bounds={"middle": 0.5})], [JPG],
     "inpaint_items[0].crop_bounds.middle", "unknown_parameter"),
    ({}, [image_item(colour="red")], [JPG], "inpaint_items[0].colour", "unknown_parameter"),
    ({}, [image_item(type="video")], [JPG], "files", "unsupported_file_mimetype"),
    ({}, [image_item("clip.mp4")], [("clip.mp4", MP4, "video/mp4")], "files",
     "unsupported_file_mimetype"),
    ({}, [image_item(f"{n}.jpg") for n in "abc"],
     [(f"{n}.jpg", JPEG, "image/jpeg") for n in "abc"], "inpaint_items", "invalid_value"),
    ({}, [{"type": "video", "file_name": f"{n}.mp4"} for n in "ab"],
     [(f"{n}.mp4", MP4, "video/mp4") for n in "ab"], "inpaint_items", "invalid_value"),
    ({}, [image_item(), {"type": "video", "file_name": "c.mp4"}],
     [JPG, ("c.mp4", MP4, "video/mp4")], "inpaint_items", "invalid_value"),
    ({}, [image_item()], [JPG, JPG], "files", "invalid_value"),  # duplicate file name
    ({"width": "wide"}, [image_item()], [JPG], "width", "invalid_type"),
    ({"width": "--480"}, [image_item()], [JPG], "width", "invalid_type"),
    ({"n_variants": "-1"}, [image_item()], [JPG], "n_variants", "integer_below_min_value"),
    ({"height": "500"}, [image_item()], [JPG], "width", "invalid_dimensions"),
    ({"seconds": "5"}, [image_item()], [JPG], "seconds", "unknown_parameter"),
])
async def test_multipart_validation(s1: Sora1, emu: Emulator, fields: dict[str, Any], items: Any,
                                    files: list[tuple[str, bytes, str]], param: str,
                                    code: str) -> None:
    status, body, _ = await s1.request("POST", JOBS, data=form(fields, items, files))
    assert status == 400, body
    assert (err(body)["param"], err(body)["code"]) == (param, code), body
    assert len(generation_jobs(emu.ctx.state)) == 0


async def test_multipart_unexpected_file_part(s1: Sora1) -> None:
    data = form({}, [image_item()], [JPG])
    data.add_field("input_reference", JPEG, filename="x.jpg", content_type="image/jpeg")
    status, body, _ = await s1.request("POST", JOBS, data=data)
    assert status == 400 and err(body)["param"] == "input_reference"


# -- api-version and auth -------------------------------------------------------------------


ROUTES = [
    ("GET", "/video/generations/jobs"),
    ("POST", "/video/generations/jobs"),
    ("GET", "/video/generations/jobs/task_x"),
    ("DELETE", "/video/generations/jobs/task_x"),
    ("GET", "/video/generations/gen_x"),
    ("GET", "/video/generations/gen_x/content/video"),
    ("GET", "/video/generations/gen_x/content/thumbnail"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("version", [None, "v1", "2025-04-01-preview"])
async def test_api_version_preview_is_required(s1: Sora1, method: str, path: str,
                                               version: str | None) -> None:
    params = {} if version is None else {"api-version": version}
    status, body, _ = await s1.request(method, API + path, params=params, json={})
    assert status == 400
    assert err(body)["code"] == "BadRequest" and err(body)["param"] == "api-version"
    if version is None:
        assert "Missing required query parameter" in err(body)["message"]


async def test_head_needs_api_version_too(s1: Sora1) -> None:
    async with s1.session.head(f"{GENS}/gen_x/content/video") as resp:
        assert resp.status == 400


async def test_v1_prefix_and_bearer_auth(emu: Emulator) -> None:
    body = {"prompt": "a", "width": 480, "height": 480, "model": "sora"}
    async with (
        aiohttp.ClientSession(emu.endpoint, headers={"Authorization": "Bearer tok"}) as s,
        s.post("/v1/video/generations/jobs", params=PREVIEW, json=body) as resp,
    ):
        assert resp.status == 200
    async with aiohttp.ClientSession(emu.endpoint) as s, s.get(JOBS, params=PREVIEW) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "401"


# -- status flow ----------------------------------------------------------------------------


async def test_status_flow_and_succeeded_job(s1: Sora1, clock: ManualClock) -> None:
    job = await s1.create(n_variants=2)
    created = clock.time()
    # queue 2 s, then job 10 s split 20 % / 60 % / 20 %.
    timeline = [(0.0, "queued"), (1.99, "queued"), (2.0, "preprocessing"), (3.99, "preprocessing"),
                (4.0, "running"), (9.99, "running"), (10.0, "processing"), (11.99, "processing"),
                (12.0, "succeeded"), (500.0, "succeeded")]
    seen = []
    for at, expected in timeline:
        clock.advance(created + at - clock.time())
        body = await s1.job(job["id"])
        assert body["status"] == expected, at
        if body["status"] not in seen:
            seen.append(body["status"])
        if expected != "succeeded":
            assert body["generations"] == [] and body["finished_at"] is None
            assert body["expires_at"] is None
    assert seen == ["queued", "preprocessing", "running", "processing", "succeeded"]
    assert body["finished_at"] == int(created + DONE)
    assert body["expires_at"] == body["created_at"] + 86400
    assert body["failure_reason"] is None
    gens = body["generations"]
    assert len(gens) == 2 and gens[0]["id"] != gens[1]["id"]
    for gen in gens:
        assert set(gen) == GENERATION_FIELDS
        assert re.fullmatch(r"gen_[0-9a-z]{26}", gen["id"])
        assert gen["object"] == "video.generation" and gen["job_id"] == job["id"]
        assert (gen["width"], gen["height"], gen["n_seconds"]) == (480, 480, 5)
        assert gen["prompt"] == job["prompt"] and gen["created_at"] == body["finished_at"]


async def test_zero_durations_finish_at_once(clock: ManualClock) -> None:
    async with (
        Emulator(clock=clock, renderer=PlaceholderRenderer(), queue_seconds=0,
                 job_seconds=0) as emu,
        aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as session,
    ):
        s1 = Sora1(session, clock)
        job = await s1.create()
        assert job["status"] == "queued"  # create always answers queued
        assert (await s1.job(job["id"]))["status"] == "succeeded"


async def test_jobs_are_deleted_after_retention(s1: Sora1, clock: ManualClock) -> None:
    job = await s1.succeeded()
    clock.advance(86400 - DONE - 1)
    assert (await s1.job(job["id"]))["status"] == "succeeded"
    clock.advance(1)
    status, body, _ = await s1.request("GET", f"{JOBS}/{job['id']}")
    assert status == 404 and err(body)["code"] == "not_found"


# -- outcome faults -------------------------------------------------------------------------


async def test_job_failed_fault(s1: Sora1, emu: Emulator, clock: ManualClock) -> None:
    fault = emu.inject(Fault("job_failed"))
    failing = await s1.create("first")
    fine = await s1.create("second")
    assert fault.fired == 1 and failing["status"] == "queued"
    clock.advance(DONE - 0.01)
    assert (await s1.job(failing["id"]))["status"] == "processing"
    clock.advance(0.01)
    body = await s1.job(failing["id"])
    assert body["status"] == "failed" and body["failure_reason"] == "internal_error"
    assert body["generations"] == [] and body["finished_at"] is not None
    assert body["expires_at"] == body["created_at"] + 86400
    assert (await s1.job(fine["id"]))["status"] == "succeeded"


async def test_job_failed_custom_code_and_header(s1: Sora1, clock: ManualClock) -> None:
    body = {"prompt": "a", "width": 480, "height": 480, "model": "sora"}
    status, job, _ = await s1.request("POST", JOBS, json=body,
                                      headers={"x-emulator-fault": "job_failed;code=gpu_melted"})
    assert status == 200
    clock.advance(DONE)
    assert (await s1.job(job["id"]))["failure_reason"] == "gpu_melted"


async def test_cancelled_via_fault(s1: Sora1, emu: Emulator, clock: ManualClock) -> None:
    emu.inject(Fault("job_failed", code="cancelled"))
    job = await s1.create()
    clock.advance(DONE)
    body = await s1.job(job["id"])
    assert body["status"] == "cancelled" and body["failure_reason"] is None
    assert body["finished_at"] is not None and body["generations"] == []


async def test_content_policy_faults(s1: Sora1, emu: Emulator, clock: ManualClock) -> None:
    emu.inject(Fault("content_policy", category="hate"))
    status, body, _ = await s1.request("POST", JOBS, json={
        "prompt": "a", "width": 480, "height": 480, "model": "sora"})
    assert status == 400
    assert err(body)["inner_error"]["error_details"]["hate"]["filtered"] is True
    emu.inject(Fault("content_policy", stage="completion"))
    job = await s1.create()
    clock.advance(DONE)
    body = await s1.job(job["id"])
    assert body["status"] == "failed" and body["failure_reason"] == "input_moderation"


async def test_inject_applies_to_existing_job(s1: Sora1, emu: Emulator,
                                              clock: ManualClock) -> None:
    job = await s1.create()
    other = await s1.create()
    fault = emu.inject(Fault("job_failed", video_id=job["id"], code="boom"))
    assert fault.fired == 1
    clock.advance(DONE)
    assert (await s1.job(job["id"]))["failure_reason"] == "boom"
    assert (await s1.job(other["id"]))["status"] == "succeeded"
    # The hook survives a restart that rebuilds the app (and is not registered twice).
    await emu.restart()
    third = await s1.create()
    fault = emu.inject(Fault("content_policy", video_id=third["id"]))
    assert fault.fired == 1
    clock.advance(DONE)
    assert (await s1.job(third["id"]))["failure_reason"] == "input_moderation"


async def test_restart_without_state_forgets_jobs(s1: Sora1, emu: Emulator) -> None:
    job = await s1.create()
    await emu.restart(keep_state=False)
    status, _, _ = await s1.request("GET", f"{JOBS}/{job['id']}")
    assert status == 404


async def test_create_is_rate_limited_other_routes_are_not(clock: ManualClock) -> None:
    async with (
        Emulator(clock=clock, renderer=PlaceholderRenderer(), create_rate_limit=1) as emu,
        aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as session,
    ):
        s1 = Sora1(session, clock)
        job = await s1.create()
        body = {"prompt": "a", "width": 480, "height": 480, "model": "sora"}
        status, resp, headers = await s1.request("POST", JOBS, json=body)
        assert status == 429 and err(resp)["code"] == "429"
        assert int(headers["Retry-After"]) >= 1 and headers["retry-after-ms"]
        for _ in range(3):
            assert (await s1.request("GET", f"{JOBS}/{job['id']}"))[0] == 200
            assert (await s1.request("GET", JOBS))[0] == 200
        clock.advance(60)
        await s1.create()


async def test_request_faults_by_operation_path_and_id(s1: Sora1, emu: Emulator) -> None:
    job = await s1.create()
    other = await s1.create()
    emu.inject(Fault("server_error", status=503, video_id=job["id"]))
    assert (await s1.request("GET", f"{JOBS}/{other['id']}"))[0] == 200
    status, _, headers = await s1.request("GET", f"{JOBS}/{job['id']}")
    assert status == 503 and headers["Retry-After"] == "1"
    emu.inject(Fault("rate_limit", operation="create", path=r"/video/generations"))
    status, _, _ = await s1.request("POST", JOBS, json={})
    assert status == 429
    emu.inject(Fault("drop_connection", operation="create", stage="response"))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await s1.request("POST", JOBS, json={"prompt": "a", "width": 480, "height": 480,
                                             "model": "sora"})
    assert len(generation_jobs(emu.ctx.state)) == 3  # created, then the response was lost


# -- list -----------------------------------------------------------------------------------


async def test_list_default_limit_and_pagination(s1: Sora1, clock: ManualClock) -> None:
    ids = []
    for n in range(12):
        ids.append((await s1.create(f"job {n}"))["id"])
        clock.advance(0.001)
    newest_first = ids[::-1]
    status, page, _ = await s1.request("GET", JOBS)
    assert status == 200 and page["object"] == "list"
    assert [j["id"] for j in page["data"]] == newest_first[:10] and page["has_more"] is True
    assert (page["first_id"], page["last_id"]) == (newest_first[0], newest_first[9])
    assert set(page["data"][0]) == JOB_FIELDS
    seen: list[str] = []
    after = None
    while True:
        params = {**PREVIEW, "limit": "5", **({"after": after} if after else {})}
        _, page, _ = await s1.request("GET", JOBS, params=params)
        seen += [j["id"] for j in page["data"]]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == newest_first
    # before: the page of jobs right next to the cursor (newer ones), newest first
    params = {**PREVIEW, "limit": "2", "before": newest_first[5]}
    _, page, _ = await s1.request("GET", JOBS, params=params)
    assert [j["id"] for j in page["data"]] == newest_first[3:5] and page["has_more"] is True
    params = {**PREVIEW, "after": newest_first[2], "before": newest_first[6]}
    _, page, _ = await s1.request("GET", JOBS, params=params)
    assert [j["id"] for j in page["data"]] == newest_first[3:6]


async def test_list_statuses_filter(s1: Sora1, clock: ManualClock) -> None:
    done = await s1.succeeded("old")
    clock.advance(1)
    running = await s1.create("mid")
    clock.advance(QUEUE_SECONDS + 3)
    queued = await s1.create("new")

    async def ids(statuses: str) -> list[str]:
        status, page, _ = await s1.request("GET", JOBS, params={**PREVIEW, "statuses": statuses})
        assert status == 200, page
        return [j["id"] for j in page["data"]]

    assert await ids("queued,running") == [queued["id"], running["id"]]
    assert await ids("succeeded") == [done["id"]]
    assert await ids("failed, cancelled") == []
    assert len(await ids("")) == 3


@pytest.mark.parametrize(("params", "param", "code"), [
    ({"limit": "0"}, "limit", "integer_below_min_value"),
    ({"limit": "101"}, "limit", "integer_above_max_value"),
    ({"limit": "ten"}, "limit", "invalid_type"),
    ({"statuses": "queued,done"}, "statuses", "invalid_value"),
    ({"after": "task_unknown"}, "after", "invalid_value"),
    ({"before": "task_unknown"}, "before", "invalid_value"),
])
async def test_list_validation(s1: Sora1, params: dict[str, str], param: str, code: str) -> None:
    status, body, _ = await s1.request("GET", JOBS, params={**PREVIEW, **params})
    assert status == 400 and (err(body)["param"], err(body)["code"]) == (param, code)


async def test_list_empty_and_deleted_cursor(s1: Sora1) -> None:
    _, page, _ = await s1.request("GET", JOBS)
    assert page == {"object": "list", "data": [], "has_more": False, "first_id": None,
                    "last_id": None}
    older = await s1.create("older")
    gone = await s1.create("gone")
    assert (await s1.request("DELETE", f"{JOBS}/{gone['id']}"))[0] == 204
    _, page, _ = await s1.request("GET", JOBS, params={**PREVIEW, "after": gone["id"]})
    assert [j["id"] for j in page["data"]] == [older["id"]]


# -- delete, generation ---------------------------------------------------------------------


async def test_delete_returns_204_in_any_status(s1: Sora1, emu: Emulator) -> None:
    running = await s1.create()
    async with s1.session.delete(f"{JOBS}/{running['id']}", params=PREVIEW) as resp:
        assert resp.status == 204 and await resp.read() == b""
        assert resp.headers["apim-request-id"]
    assert running["id"] not in generation_jobs(emu.ctx.state)
    status, body, _ = await s1.request("GET", f"{JOBS}/{running['id']}")
    assert status == 404
    status, body, _ = await s1.request("DELETE", f"{JOBS}/{running['id']}")
    assert status == 404 and err(body)["code"] == "not_found"
    done = await s1.succeeded()
    gen_id = done["generations"][0]["id"]
    assert (await s1.request("DELETE", f"{JOBS}/{done['id']}"))[0] == 204
    assert (await s1.request("GET", f"{GENS}/{gen_id}"))[0] == 404


async def test_retrieve_generation(s1: Sora1, emu: Emulator, clock: ManualClock) -> None:
    job = await s1.create(n_variants=2)
    store: JobStore[GenerationJob] = generation_jobs(emu.ctx.state)
    hidden = store.get(job["id"])
    assert hidden is not None
    # Ids exist internally but are unknown to clients until the job has succeeded.
    status, body, _ = await s1.request("GET", f"{GENS}/{hidden.generation_ids[0]}")
    assert status == 404 and err(body)["code"] == "not_found"
    clock.advance(DONE)
    done = await s1.job(job["id"])
    for gen in done["generations"]:
        status, body, _ = await s1.request("GET", f"{GENS}/{gen['id']}")
        assert status == 200 and body == gen
    assert (await s1.request("GET", f"{GENS}/{job['id']}"))[0] == 404  # a job id is not a gen id
    assert (await s1.request("PUT", f"{GENS}/{done['generations'][0]['id']}"))[0] == 405


# -- content --------------------------------------------------------------------------------


async def test_video_content_quality_and_variants(s1: Sora1, emu: Emulator) -> None:
    done = await s1.succeeded(width=854, height=480, n_variants=2, n_seconds=3)
    first, second = (g["id"] for g in done["generations"])
    status, high, headers = await s1.request("GET", f"{GENS}/{first}/content/video")
    assert status == 200 and headers["Content-Type"] == "video/mp4"
    assert high[4:8] == b"ftyp"
    for name in ("Content-Length", "Last-Modified", "Accept-Ranges", "apim-request-id"):
        assert headers[name]
    renderer = emu.ctx.content.renderer
    assert isinstance(renderer, PlaceholderRenderer)
    assert renderer.calls[-1] == ("video", done["prompt"], 854, 480)
    status, other, _ = await s1.request("GET", f"{GENS}/{second}/content/video")
    assert status == 200 and other != high and len(other) == len(high)  # another seed
    status, low, _ = await s1.request("GET", f"{GENS}/{first}/content/video",
                                      params={**PREVIEW, "quality": "low"})
    assert status == 200 and low != high
    assert renderer.calls[-1] == ("video", done["prompt"], 428, 240)  # half size, even sides
    status, again, _ = await s1.request("GET", f"{GENS}/{first}/content/video",
                                        params={**PREVIEW, "quality": "high"})
    assert again == high
    status, body, _ = await s1.request("GET", f"{GENS}/{first}/content/video",
                                       params={**PREVIEW, "quality": "medium"})
    assert status == 400 and err(body)["param"] == "quality"


async def test_thumbnail_is_jpeg(s1: Sora1, emu: Emulator) -> None:
    done = await s1.succeeded(n_variants=2)
    first, second = (g["id"] for g in done["generations"])
    status, thumb, headers = await s1.request("GET", f"{GENS}/{first}/content/thumbnail")
    assert status == 200 and headers["Content-Type"] == "image/jpg"
    assert thumb.startswith(b"\xff\xd8\xff") and headers["Accept-Ranges"] == "bytes"
    _, other, _ = await s1.request("GET", f"{GENS}/{second}/content/thumbnail")
    assert other != thumb


async def test_head_and_ranges(s1: Sora1) -> None:
    done = await s1.succeeded()
    url = f"{GENS}/{done['generations'][0]['id']}/content/video"
    _, full, _ = await s1.request("GET", url)
    async with s1.session.head(url, params=PREVIEW) as resp:
        assert resp.status == 200
        assert int(resp.headers["Content-Length"]) == len(full)
        assert resp.headers["Accept-Ranges"] == "bytes" and resp.headers["Last-Modified"]
        assert await resp.read() == b""
    status, part, headers = await s1.request("GET", url, headers={"Range": "bytes=10-99"})
    assert status == 206 and part == full[10:100]
    assert headers["Content-Range"] == f"bytes 10-99/{len(full)}"
    status, part, _ = await s1.request("GET", url, headers={"Range": "bytes=-16"})
    assert status == 206 and part == full[-16:]
    status, body, headers = await s1.request("GET", url,
                                             headers={"Range": f"bytes={len(full)}-"})
    assert status == 416 and err(body)["code"] == "range_not_satisfiable"
    assert headers["Content-Range"] == f"bytes */{len(full)}"
    status, part, _ = await s1.request("GET", url, headers={"Range": "bytes=0-9",
                                                            "If-Range": '"stale"'})
    assert status == 200 and part == full


async def test_content_of_unfinished_or_failed_job_is_404(s1: Sora1, emu: Emulator,
                                                          clock: ManualClock) -> None:
    emu.inject(Fault("job_failed"))
    job = await s1.create()
    hidden = generation_jobs(emu.ctx.state).get(job["id"])
    assert hidden is not None
    gen_id = hidden.generation_ids[0]
    assert (await s1.request("GET", f"{GENS}/{gen_id}/content/video"))[0] == 404
    clock.advance(DONE)
    assert (await s1.job(job["id"]))["status"] == "failed"
    assert (await s1.request("GET", f"{GENS}/{gen_id}/content/video"))[0] == 404
    assert (await s1.request("GET", f"{GENS}/gen_nope/content/thumbnail"))[0] == 404


async def test_expire_content(s1: Sora1, emu: Emulator, clock: ManualClock) -> None:
    done = await s1.succeeded()
    other = await s1.succeeded()
    gen = done["generations"][0]["id"]
    emu.inject(Fault("expire_content", video_id=gen))
    status, body, _ = await s1.request("GET", f"{GENS}/{gen}/content/video")
    assert status == 404 and err(body)["code"] == "video_expired"
    assert (await s1.job(done["id"]))["expires_at"] <= clock.time()
    other_gen = other["generations"][0]["id"]
    emu.inject(Fault("expire_content", video_id=other["id"]))  # by job id, on next content
    assert (await s1.request("GET", f"{GENS}/{other_gen}/content/thumbnail"))[0] == 404


async def test_body_faults_on_content(s1: Sora1, emu: Emulator) -> None:
    done = await s1.succeeded()
    url = f"{GENS}/{done['generations'][0]['id']}/content/video"
    _, full, _ = await s1.request("GET", url)
    # dropped mid-body, then resumed with Range
    emu.inject(Fault("drop_connection", operation="content", after_bytes=1000))
    received = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        async with s1.session.get(url, params=PREVIEW) as resp:
            assert int(resp.headers["Content-Length"]) == len(full)
            async for chunk in resp.content.iter_any():
                received += chunk
    assert bytes(received) == full[:1000]
    status, rest, _ = await s1.request("GET", url, headers={"Range": f"bytes={len(received)}-"})
    assert status == 206 and bytes(received) + rest == full
    # truncated (header form)
    with pytest.raises(aiohttp.ClientPayloadError):
        await s1.request("GET", url, headers={"x-emulator-fault": "truncate_body;bytes=5"})
    # slow
    emu.inject(Fault("slow_body", operation="content", chunk_size=len(full) // 3 + 1,
                     delay=0.02))
    started = time.monotonic()
    assert (await s1.request("GET", url))[1] == full
    assert time.monotonic() - started >= 0.04
    # ignore_range
    emu.inject(Fault("ignore_range"))
    status, body, headers = await s1.request("GET", url, headers={"Range": "bytes=10-"})
    assert status == 200 and body == full and "Content-Range" not in headers
    status, body, _ = await s1.request("GET", url, headers={"Range": "bytes=10-"})
    assert status == 206 and body == full[10:]


async def test_real_renderer_has_no_audio_and_right_shape(clock: ManualClock) -> None:
    pytest.importorskip("av")
    from foundry_video.emulator import _render

    async with (
        Emulator(clock=clock, queue_seconds=0, job_seconds=1) as emu,
        aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as session,
    ):
        s1 = Sora1(session, clock)
        done = await s1.succeeded(width=854, height=480, n_seconds=1, n_variants=2)
        first, second = (g["id"] for g in done["generations"])
        _, mp4, _ = await s1.request("GET", f"{GENS}/{first}/content/video")
        info = _render.probe(mp4)
        assert (info.width, info.height, info.video_codec) == (854, 480, "h264")
        assert info.audio_codec is None
        assert abs(info.duration - 1.0) < 0.1
        _, other, _ = await s1.request("GET", f"{GENS}/{second}/content/video")
        assert other != mp4
        _, low, _ = await s1.request("GET", f"{GENS}/{first}/content/video",
                                     params={**PREVIEW, "quality": "low"})
        assert (_render.probe(low).width, _render.probe(low).height) == (428, 240)
        _, jpeg, headers = await s1.request("GET", f"{GENS}/{first}/content/thumbnail")
        assert headers["Content-Type"] == "image/jpg"
        thumb = _render.probe(jpeg)
        assert thumb.video_codec == "mjpeg" and (thumb.width, thumb.height) == (640, 360)
