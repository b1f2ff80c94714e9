"""The Sora 2 Videos API surface of the emulator, over raw HTTP."""

from __future__ import annotations

import io
import re
import struct
import zlib
from typing import Any

import aiohttp
import pytest

from foundry_video._clock import ManualClock
from foundry_video.capabilities import default_capabilities
from foundry_video.emulator import Emulator, PlaceholderRenderer

from .conftest import API, JOB_SECONDS, QUEUE_SECONDS, Api

VIDEO_FIELDS = {
    "id", "object", "model", "status", "progress", "created_at", "completed_at", "expires_at",
    "prompt", "size", "seconds", "remixed_from_video_id", "error",
}
AUTH_BODY = {
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make "
        "sure to provide a valid key for an active subscription and use a correct regional API "
        "endpoint for your resource.",
    }
}


def png_bytes() -> bytes:
    """A valid 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    err: dict[str, Any] = body["error"]
    return err


# -- create ------------------------------------------------------------------------------


async def test_create_returns_full_queued_video(api: Api, emu: Emulator) -> None:
    async with api.session.post(f"{API}/videos", json={
        "prompt": "a cat", "model": "sora-2", "size": "1280x720", "seconds": "8",
    }) as resp:
        body = await resp.json()
        assert resp.status == 200
        assert re.fullmatch(r"req_[0-9a-f]{32}", resp.headers["x-request-id"])
        assert resp.headers["apim-request-id"]
    assert set(body) == VIDEO_FIELDS
    assert re.fullmatch(r"video_[0-9a-f]{32}", body["id"])
    assert body["object"] == "video" and body["status"] == "queued" and body["progress"] == 0
    assert body["created_at"] == int(emu.clock.time())
    assert body["completed_at"] is None and body["expires_at"] is None and body["error"] is None
    assert (body["size"], body["seconds"], body["model"]) == ("1280x720", "8", "sora-2")
    assert body["id"] in emu.videos


async def test_create_defaults_from_capabilities(api: Api) -> None:
    body = await api.create("a cat")
    assert (body["model"], body["size"], body["seconds"]) == ("sora-2", "720x1280", "4")


async def test_create_multipart_with_input_reference(api: Api, emu: Emulator) -> None:
    form = aiohttp.FormData()
    form.add_field("prompt", "a cat")
    form.add_field("seconds", "4")
    form.add_field("input_reference", io.BytesIO(png_bytes()), filename="ref.png",
                   content_type="image/png")
    status, body, _ = await api.post("/videos", data=form)
    assert status == 200, body
    job = emu.videos.get(body["id"])
    assert job is not None and job.input_reference is not None
    assert job.input_reference["mime"] == "image/png"
    assert emu.requests[-1].body_kind == "multipart"


async def test_create_multipart_without_file(api: Api) -> None:
    status, body, _ = await api.post("/videos", data={"prompt": "a cat", "size": "1280x720"})
    assert status == 200 and body["size"] == "1280x720"


async def test_input_reference_string_in_form_is_invalid_type(api: Api) -> None:
    form = aiohttp.FormData({"prompt": "a cat", "input_reference": "https://e.com/a.png"},
                            default_to_multipart=True)
    status, body, _ = await api.post("/videos", data=form)
    assert status == 400
    assert error_of(body) == {
        "message": "Invalid type for 'input_reference': expected a file, but got a string instead.",
        "type": "invalid_request_error", "param": "input_reference", "code": "invalid_type",
    }


async def test_input_reference_file_type_checked(api: Api) -> None:
    form = aiohttp.FormData()
    form.add_field("prompt", "a cat")
    form.add_field("input_reference", io.BytesIO(b"GIF89a...."), filename="a.gif",
                   content_type="image/gif")
    status, body, _ = await api.post("/videos", data=form)
    assert status == 400 and error_of(body)["param"] == "input_reference"


@pytest.mark.parametrize(
    ("reference", "ok"),
    [
        ({"image_url": "https://example.com/first-frame.png"}, True),
        ({"file_id": "file-123"}, True),
        ({"image_url": "data:image/png;base64,iVBORw0KGgo="}, True),
        ({"image_url": "data:image/gif;base64,R0lGOD=="}, False),
        ({"image_url": "https://e.com/a.png", "file_id": "file-1"}, False),
        ({}, False),
        ({"url": "https://e.com/a.png"}, False),
        ("https://e.com/a.png", False),
    ],
)
async def test_json_input_reference(api: Api, reference: Any, ok: bool) -> None:
    status, body, _ = await api.post(
        "/videos", json={"prompt": "a cat", "input_reference": reference})
    assert (status == 200) is ok, body
    if not ok:
        assert error_of(body)["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("payload", "param", "code"),
    [
        ({}, "prompt", "missing_required_parameter"),
        ({"prompt": ""}, "prompt", "string_below_min_length"),
        ({"prompt": "x" * 32001}, "prompt", "string_above_max_length"),
        ({"prompt": 5}, "prompt", "invalid_type"),
        ({"prompt": "a", "size": "640x480"}, "size", "invalid_value"),
        ({"prompt": "a", "size": "big"}, "size", "invalid_value"),
        ({"prompt": "a", "seconds": "5"}, "seconds", "invalid_value"),
        ({"prompt": "a", "seconds": "-4"}, "seconds", "invalid_value"),
        ({"prompt": "a", "colour": "red"}, "colour", "unknown_parameter"),
        ({"prompt": "a", "model": 3}, "model", "invalid_type"),
    ],
)
async def test_create_validation(api: Api, payload: dict[str, Any], param: str, code: str) -> None:
    status, body, _ = await api.post("/videos", json=payload)
    assert status == 400
    err = error_of(body)
    assert (err["param"], err["code"], err["type"]) == (param, code, "invalid_request_error")
    assert set(err) == {"message", "type", "param", "code"}


async def test_integer_seconds_rejected_like_the_service(api: Api) -> None:
    status, body, _ = await api.post("/videos", json={"prompt": "a", "seconds": 8})
    assert status == 400
    assert error_of(body)["code"] == "invalid_type"
    assert error_of(body)["message"] == (
        "Invalid type for 'seconds': expected one of '4', '8', '12', '16', or '20', "
        "but got an integer instead."
    )


async def test_bad_json_and_content_type(api: Api) -> None:
    status, body, _ = await api.post(
        "/videos", data=b"{nope", headers={"Content-Type": "application/json"})
    assert status == 400 and "could not parse the JSON" in error_of(body)["message"]
    status, body, _ = await api.post(
        "/videos", data=b"hello", headers={"Content-Type": "text/plain"})
    assert status == 400 and error_of(body)["code"] == "unsupported_content_type"


async def test_unknown_model_accepts_any_well_formed_size(api: Api) -> None:
    body = await api.create("a cat", model="my-deployment", size="160x90", seconds="3")
    assert (body["model"], body["size"], body["seconds"]) == ("my-deployment", "160x90", "3")
    status, body, _ = await api.post(
        "/videos", json={"prompt": "a", "model": "my-deployment", "size": "huge"})
    assert status == 400


async def test_sora1_model_not_served_by_videos_api(api: Api) -> None:
    status, body, _ = await api.post("/videos", json={"prompt": "a", "model": "sora"})
    assert status == 400 and error_of(body)["code"] == "OperationNotSupported"


async def test_blocked_words_give_content_filter(api: Api) -> None:
    status, body, _ = await api.post("/videos", json={"prompt": "Some GORE please"})
    assert status == 400
    err = error_of(body)
    assert err["code"] == "content_filter" and err["param"] == "prompt"
    assert err["innererror"]["code"] == "ResponsibleAIPolicyViolation"
    assert err["innererror"]["content_filter_result"]["violence"]["filtered"] is True
    # a substring inside another word is not a match
    await api.create("a gorepine tree")


# -- status flow, retrieve ---------------------------------------------------------------


async def test_status_flow_on_manual_clock(api: Api, clock: ManualClock) -> None:
    video = await api.create("a cat")
    vid = video["id"]
    _status, body, headers = await api.get(f"/videos/{vid}")
    assert body["status"] == "queued" and body["progress"] == 0
    assert int(headers["openai-poll-after-ms"]) == int(QUEUE_SECONDS * 1000)
    clock.advance(QUEUE_SECONDS + JOB_SECONDS / 2)
    _, body, headers = await api.get(f"/videos/{vid}")
    assert body["status"] == "in_progress" and body["progress"] == 50
    assert 10 <= int(headers["openai-poll-after-ms"]) <= JOB_SECONDS * 250
    clock.advance(JOB_SECONDS / 2)
    _, body, headers = await api.get(f"/videos/{vid}")
    assert body["status"] == "completed" and body["progress"] == 100
    assert "openai-poll-after-ms" not in headers
    assert body["completed_at"] == video["created_at"] + int(QUEUE_SECONDS + JOB_SECONDS)
    assert body["expires_at"] == video["created_at"] + 86400
    assert body["error"] is None


async def test_poll_after_is_configurable(clock: ManualClock) -> None:
    async with (
        Emulator(clock=clock, renderer=PlaceholderRenderer(), poll_after_ms=1234) as emu,
        aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as s,
    ):
        async with s.post(f"{API}/videos", json={"prompt": "a"}) as resp:
            vid = (await resp.json())["id"]
        async with s.get(f"{API}/videos/{vid}") as resp:
            assert resp.headers["openai-poll-after-ms"] == "1234"


@pytest.mark.parametrize("poll_after_ms", [None, -1, 1.5, True, "sometimes"])
def test_poll_after_option_is_checked(poll_after_ms: Any) -> None:
    if poll_after_ms is None:
        Emulator(poll_after_ms=None)  # None is valid: no hint at all
        return
    with pytest.raises(ValueError, match="poll_after_ms"):
        Emulator(poll_after_ms=poll_after_ms)


async def test_hints_can_be_switched_off_or_fixed(clock: ManualClock) -> None:
    for option, expected in ((None, None), (1234, "1234"), ("auto", str(int(QUEUE_SECONDS * 1000)))):
        async with (
            Emulator(clock=clock, renderer=PlaceholderRenderer(), poll_after_ms=option,
                     queue_seconds=QUEUE_SECONDS) as emu,
            aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as s,
        ):
            async with s.post(f"{API}/videos", json={"prompt": "a"}) as resp:
                vid = (await resp.json())["id"]
                assert resp.headers.get("openai-poll-after-ms") == expected  # on create too
            async with s.get(f"{API}/videos/{vid}") as resp:
                assert resp.headers.get("openai-poll-after-ms") == expected


# -- progress curves ----------------------------------------------------------------------

MID_RUN_PROGRESS = {"s-curve": 50, "linear": 50, "stuck": 0, "accelerating": 12,
                    "decelerating": 70, "steps": 50}


@pytest.mark.parametrize(("curve", "expected"), MID_RUN_PROGRESS.items())
async def test_progress_follows_the_selected_curve(clock: ManualClock, curve: str,
                                                   expected: int) -> None:
    async with (
        Emulator(clock=clock, renderer=PlaceholderRenderer(), queue_seconds=0, job_seconds=100,
                 progress_curve=curve) as emu,
        aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as s,
    ):
        async with s.post(f"{API}/videos", json={"prompt": "a"}) as resp:
            vid = (await resp.json())["id"]
        seen = []
        for _ in range(10):
            clock.advance(10)
            async with s.get(f"{API}/videos/{vid}") as resp:
                body = await resp.json()
                seen.append((body["status"], body["progress"]))
    assert seen[4] == ("in_progress", expected)
    progress = [p for _, p in seen[:-1]]
    assert progress == sorted(progress) and all(0 <= p <= 99 for p in progress)
    assert seen[-1] == ("completed", 100)


def test_curves_are_shaped_as_named() -> None:
    from foundry_video.emulator import DEFAULT_PROGRESS_CURVE, PROGRESS_CURVES

    assert DEFAULT_PROGRESS_CURVE != "linear"  # a linear-tuned client is caught by default
    default = PROGRESS_CURVES[DEFAULT_PROGRESS_CURVE]
    assert default(0.2) < 0.2 and default(0.8) > 0.8  # slow start, slow end
    assert {round(PROGRESS_CURVES["steps"](x), 2) for x in (0.1, 0.3, 0.6, 0.9)} == {
        0, 0.25, 0.5, 0.75}
    for curve in PROGRESS_CURVES.values():
        assert curve(0.0) == 0.0 and 0.0 <= curve(0.999) <= 1.0


async def test_default_curve_and_per_job_curves(emu: Emulator, api: Api,
                                                clock: ManualClock) -> None:
    first = await api.create("first")
    second = await api.create("second")
    job = emu.videos.get(second["id"])
    assert job is not None and job.progress_curve == "s-curve"
    job.progress_curve = "stuck"
    clock.advance(QUEUE_SECONDS + JOB_SECONDS * 0.8)
    assert (await api.get(f"/videos/{first['id']}"))[1]["progress"] == 89  # smoothstep(0.8)
    assert (await api.get(f"/videos/{second['id']}"))[1]["progress"] == 0
    job.progress_curve = lambda elapsed: 0.42  # any function of the elapsed fraction
    assert (await api.get(f"/videos/{second['id']}"))[1]["progress"] == 42


def test_unknown_curve_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match=r"unknown progress curve 'bumpy'.*s-curve"):
        Emulator(progress_curve="bumpy")


async def test_retrieve_unknown_is_404(api: Api) -> None:
    status, body, _ = await api.get("/videos/video_" + "0" * 32)
    assert status == 404 and error_of(body)["code"] == "not_found"


async def test_openai_style_prefix_and_api_versions(api: Api) -> None:
    video = await api.create()
    for query in ("", "?api-version=v1", "?api-version=preview"):
        async with api.session.get(f"/v1/videos/{video['id']}{query}") as resp:
            assert resp.status == 200
    status, body, _ = await api.get(f"/videos/{video['id']}?api-version=2024-10-21")
    assert status == 400 and "API version" in error_of(body)["message"]


async def test_unknown_route_and_method(api: Api) -> None:
    status, _body, _ = await api.get("/nothing-here")
    assert status == 404
    async with api.session.put(f"{API}/videos") as resp:
        assert resp.status == 405


# -- list ----------------------------------------------------------------------------------


async def test_list_pagination(api: Api, clock: ManualClock) -> None:
    ids = []
    for i in range(5):
        ids.append((await api.create(f"video {i}"))["id"])
        clock.advance(1)
    _, page, _ = await api.get("/videos")
    assert [v["id"] for v in page["data"]] == ids[::-1]  # default: newest first
    assert page["has_more"] is False and page["object"] == "list"

    seen, after = [], None
    while True:
        query = "?limit=2&order=asc" + (f"&after={after}" if after else "")
        _, page, _ = await api.get("/videos" + query)
        seen += [v["id"] for v in page["data"]]
        assert page["first_id"] == page["data"][0]["id"]
        assert page["last_id"] == page["data"][-1]["id"]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == ids

    # a cursor whose video was deleted meanwhile still works
    clock.advance(60)
    status, _, _ = await api.delete(f"/videos/{ids[1]}")
    assert status == 200
    _, page, _ = await api.get(f"/videos?order=asc&after={ids[1]}")
    assert [v["id"] for v in page["data"]] == ids[2:]

    _, page, _ = await api.get("/videos?limit=0")
    assert page["data"] == [] and page["first_id"] is None and page["last_id"] is None


@pytest.mark.parametrize("query", ["limit=101", "limit=-1", "limit=x", "order=up",
                                   "after=video_unknown"])
async def test_list_validation(api: Api, query: str) -> None:
    status, body, _ = await api.get(f"/videos?{query}")
    assert status == 400 and error_of(body)["type"] == "invalid_request_error"


# -- delete --------------------------------------------------------------------------------


async def test_delete(api: Api, clock: ManualClock) -> None:
    video = await api.create()
    status, body, _ = await api.delete(f"/videos/{video['id']}")
    assert status == 400 and error_of(body)["code"] == "invalid_state"
    clock.advance(QUEUE_SECONDS + JOB_SECONDS)
    status, body, _ = await api.delete(f"/videos/{video['id']}")
    assert (status, body) == (200, {"id": video["id"], "object": "video.deleted", "deleted": True})
    status, _, _ = await api.get(f"/videos/{video['id']}")
    assert status == 404
    status, _, _ = await api.delete(f"/videos/{video['id']}")
    assert status == 404


# -- remix, edits, extensions, characters ----------------------------------------------------


async def test_remix(api: Api, clock: ManualClock) -> None:
    source = await api.create(size="1280x720", seconds="8")
    status, body, _ = await api.post(f"/videos/{source['id']}/remix", json={"prompt": "bow"})
    assert status == 400 and error_of(body)["code"] == "invalid_state"
    clock.advance(QUEUE_SECONDS + JOB_SECONDS)
    status, remix, _ = await api.post(f"/videos/{source['id']}/remix", json={"prompt": "bow"})
    assert status == 200
    assert set(remix) == VIDEO_FIELDS
    assert remix["id"] != source["id"] and remix["status"] == "queued"
    assert remix["remixed_from_video_id"] == source["id"]
    assert (remix["size"], remix["seconds"], remix["prompt"]) == ("1280x720", "8", "bow")
    status, remix2, _ = await api.post(f"/videos/{source['id']}/remix",
                                       data={"prompt": "multipart works too"})
    assert status == 200 and remix2["remixed_from_video_id"] == source["id"]
    status, body, _ = await api.post(f"/videos/{source['id']}/remix", json={})
    assert status == 400 and error_of(body)["param"] == "prompt"
    status, _, _ = await api.post("/videos/video_nope/remix", json={"prompt": "x"})
    assert status == 404


async def test_edits_and_extensions(api: Api, clock: ManualClock) -> None:
    source = await api.completed(size="1280x720", seconds="8")
    status, edit, _ = await api.post(
        "/videos/edits", json={"video": {"id": source["id"]}, "prompt": "make it blue"})
    assert status == 200, edit
    assert (edit["size"], edit["seconds"]) == ("1280x720", "8")
    status, ext, _ = await api.post(
        "/videos/extensions",
        data={"video[id]": source["id"], "prompt": "and then", "seconds": "4"})
    assert status == 200, ext
    assert ext["seconds"] == "12"  # the stitched total
    status, body, _ = await api.post(
        "/videos/extensions", json={"video": {"id": source["id"]}, "prompt": "x"})
    assert status == 400 and error_of(body)["param"] == "seconds"
    status, body, _ = await api.post(
        "/videos/edits", json={"video": {"id": edit["id"]}, "prompt": "x"})
    assert status == 400  # the edit itself has not completed yet
    form = aiohttp.FormData()
    form.add_field("prompt", "edit an upload")
    form.add_field("video", io.BytesIO(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32),
                   filename="in.mp4", content_type="video/mp4")
    status, body, _ = await api.post("/videos/edits", data=form)
    assert status == 200 and body["remixed_from_video_id"] is None


async def test_characters(api: Api, emu: Emulator) -> None:
    form = aiohttp.FormData()
    form.add_field("name", "Captain Cat")
    form.add_field("video", io.BytesIO(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32),
                   filename="cat.mp4", content_type="video/mp4")
    status, body, _ = await api.post("/videos/characters", data=form)
    assert status == 200, body
    assert set(body) == {"id", "name", "created_at"} and body["name"] == "Captain Cat"
    assert body["id"].startswith("char_")
    status, got, _ = await api.get(f"/videos/characters/{body['id']}")
    assert status == 200 and got == body
    status, _, _ = await api.get("/videos/characters/char_nope")
    assert status == 404
    status, err, _ = await api.post("/videos/characters", data={"name": "x"})
    assert status == 400 and error_of(err)["param"] == "video"


# -- content -------------------------------------------------------------------------------


async def test_content_variants(api: Api, clock: ManualClock) -> None:
    video = await api.create()
    status, body, _ = await api.get(f"/videos/{video['id']}/content")
    assert status == 400 and error_of(body)["code"] == "video_not_ready"
    clock.advance(QUEUE_SECONDS + JOB_SECONDS)
    expected = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}
    for variant, ctype in expected.items():
        async with api.session.get(
            f"{API}/videos/{video['id']}/content", params={"variant": variant}
        ) as resp:
            data = await resp.read()
            assert resp.status == 200 and resp.content_type == ctype
            assert resp.headers["Accept-Ranges"] == "bytes"
            assert int(resp.headers["Content-Length"]) == len(data) > 0
    status, body, _ = await api.get(f"/videos/{video['id']}/content?variant=poster")
    assert status == 400 and error_of(body)["param"] == "variant"
    async with api.session.head(f"{API}/videos/{video['id']}/content") as resp:
        assert resp.status == 200 and int(resp.headers["Content-Length"]) > 0


async def test_content_of_failed_and_expired_videos(api: Api, emu: Emulator,
                                                     clock: ManualClock) -> None:
    video = await api.completed()
    clock.advance(86400)
    _, body, _ = await api.get(f"/videos/{video['id']}")
    assert body["status"] == "completed" and body["expires_at"] <= clock.time()
    status, body, _ = await api.get(f"/videos/{video['id']}/content")
    assert status == 404 and error_of(body)["code"] == "video_expired"


async def test_ranges(api: Api) -> None:
    video = await api.completed()
    url = f"{API}/videos/{video['id']}/content"
    async with api.session.get(url) as resp:
        full = await resp.read()
    size = len(full)
    cases = {
        "bytes=0-9": (0, 9),
        "bytes=100-": (100, size - 1),
        "bytes=-50": (size - 50, size - 1),
        f"bytes=10-{size + 100}": (10, size - 1),
    }
    for header, (start, end) in cases.items():
        async with api.session.get(url, headers={"Range": header}) as resp:
            data = await resp.read()
            assert resp.status == 206, header
            assert resp.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
            assert int(resp.headers["Content-Length"]) == end - start + 1
            assert data == full[start:end + 1]
    async with api.session.get(url, headers={"Range": f"bytes={size}-"}) as resp:
        assert resp.status == 416 and resp.headers["Content-Range"] == f"bytes */{size}"
    for ignored in ("bytes=0-1,5-6", "items=0-5", "bytes=9-2"):
        async with api.session.get(url, headers={"Range": ignored}) as resp:
            assert resp.status == 200 and await resp.read() == full
    async with api.session.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'}) as r:
        assert r.status == 200


async def test_render_cache_and_thread(emu: Emulator, api: Api) -> None:
    renderer = emu.ctx.content.renderer
    assert isinstance(renderer, PlaceholderRenderer)
    a = await api.completed("same prompt")
    b = await api.completed("same prompt")
    for video in (a, b, a):
        status, _, _ = await api.get(f"/videos/{video['id']}/content")
        assert status == 200
    assert [c[0] for c in renderer.calls] == ["video"]


# -- auth ----------------------------------------------------------------------------------


async def test_auth(clock: ManualClock) -> None:
    async with (
        Emulator(clock=clock, renderer=PlaceholderRenderer(), api_keys={"good"},
                 token_validator=lambda token: token != "expired") as emu,
        aiohttp.ClientSession(emu.endpoint) as s,
    ):
        cases: list[tuple[dict[str, str], int]] = [
            ({}, 401),
            ({"api-key": ""}, 401),
            ({"api-key": "bad"}, 401),
            ({"api-key": "good"}, 200),
            ({"Authorization": "Bearer good"}, 200),
            ({"Authorization": "Bearer entra-token"}, 200),
            ({"Authorization": "Bearer expired"}, 401),
            ({"Authorization": "Basic good"}, 401),
        ]
        for headers, expected in cases:
            async with s.get(f"{API}/videos", headers=headers) as resp:
                assert resp.status == expected, headers
                if expected == 401:
                    assert await resp.json() == AUTH_BODY
                    assert resp.headers["apim-request-id"]
        recorded = [r.headers for r in emu.requests]
        assert all(h.get("api-key") in (None, "REDACTED") for h in recorded)
        assert {h.get("authorization") for h in recorded} >= {"Bearer REDACTED", "Basic REDACTED"}
        assert all("good" not in str(h) for h in recorded)


async def test_any_key_accepted_by_default(api: Api) -> None:
    async with api.session.get(f"{API}/videos", headers={"api-key": "anything"}) as resp:
        assert resp.status == 200


# -- rate limit, restart, misc -------------------------------------------------------------


async def test_create_rate_limit(clock: ManualClock) -> None:
    async with (
        Emulator(clock=clock, renderer=PlaceholderRenderer(), create_rate_limit=2,
                 queue_seconds=0, job_seconds=1) as emu,
        aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as s,
    ):
        for _ in range(2):
            async with s.post(f"{API}/videos", json={"prompt": "a"}) as resp:
                assert resp.status == 200
                vid = (await resp.json())["id"]
        clock.advance(15)
        async with s.post(f"{API}/videos/{vid}/remix", json={"prompt": "b"}) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "45"
            assert resp.headers["retry-after-ms"] == "45000"
            assert (await resp.json())["error"]["code"] == "429"
        for _ in range(5):  # other endpoints are never rate limited
            async with s.get(f"{API}/videos/{vid}") as resp:
                assert resp.status == 200
        clock.advance(45)
        async with s.post(f"{API}/videos", json={"prompt": "a"}) as resp:
            assert resp.status == 200


async def test_restart_keeps_or_drops_state(api: Api, emu: Emulator) -> None:
    video = await api.completed()
    port = emu.port
    await emu.restart()
    assert emu.port == port
    status, _body, _ = await api.get(f"/videos/{video['id']}/content")
    assert status == 200
    await emu.restart(keep_state=False)
    status, _, _ = await api.get(f"/videos/{video['id']}")
    assert status == 404 and emu.port == port


async def test_request_log(api: Api, emu: Emulator) -> None:
    await api.create()
    record = emu.requests[-1]
    assert (record.method, record.path, record.operation, record.status) == (
        "POST", f"{API}/videos", "create", 200)
    assert record.body_kind == "json" and record.headers["api-key"] == "REDACTED"


async def test_custom_capabilities_table(clock: ManualClock) -> None:
    table = default_capabilities().with_model("sora-2", "sora-2", sizes=frozenset({"640x360"}))
    async with (
        Emulator(clock=clock, renderer=PlaceholderRenderer(), capabilities=table) as emu,
        aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as s,
    ):
        async with s.post(f"{API}/videos", json={"prompt": "a", "size": "640x360"}) as r:
            assert r.status == 200
        async with s.post(f"{API}/videos", json={"prompt": "a", "size": "1280x720"}) as r:
            assert r.status == 400


async def test_real_renderer(clock: ManualClock) -> None:
    pytest.importorskip("av")
    from foundry_video.emulator import _render

    async with (
        Emulator(clock=clock, queue_seconds=0, job_seconds=1) as emu,
        aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as s,
    ):
        body = {"prompt": "a red fox", "model": "emu-tiny", "size": "160x96", "seconds": "1"}
        async with s.post(f"{API}/videos", json=body) as resp:
            vid = (await resp.json())["id"]
        clock.advance(1)
        async with s.get(f"{API}/videos/{vid}/content") as resp:
            assert resp.status == 200
            mp4 = await resp.read()
        async with s.get(f"{API}/videos/{vid}/content?variant=thumbnail") as resp:
            assert (await resp.read())[8:12] == b"WEBP"
    info = _render.probe(mp4)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (
        160, 96, "h264", "aac")
    assert abs(info.duration - 1.0) < 0.1


class _BrokenRenderer(PlaceholderRenderer):
    def render_video(self, prompt: str, width: int, height: int, seconds: float, *,
                     audio: bool, fps: int = 24, seed: int = 0) -> bytes:
        raise RuntimeError("PyAV is not installed")


async def test_render_failure_is_a_clear_500(clock: ManualClock,
                                             caplog: pytest.LogCaptureFixture) -> None:
    async with (
        Emulator(clock=clock, renderer=_BrokenRenderer(), queue_seconds=0, job_seconds=1) as emu,
        aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as s,
    ):
        async with s.post(f"{API}/videos", json={"prompt": "a"}) as resp:
            vid = (await resp.json())["id"]
        clock.advance(1)
        async with s.get(f"{API}/videos/{vid}/content") as resp:
            body = await resp.json()
            assert resp.status == 500 and body["error"]["code"] == "render_failed"
            assert "PyAV is not installed" in body["error"]["message"]
        async with s.get(f"{API}/videos/{vid}/content?variant=thumbnail") as resp:
            assert resp.status == 200


async def test_app_works_with_aiohttp_test_client(clock: ManualClock) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    emu = Emulator(clock=clock, renderer=PlaceholderRenderer())
    async with TestClient(TestServer(emu.app)) as client:
        resp = await client.post(f"{API}/videos", json={"prompt": "a"},
                                 headers={"api-key": "k"})
        assert resp.status == 200
        assert (await resp.json())["id"] in emu.videos
