from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from foundry_video import (
    CapabilityTable,
    ImageReference,
    ModelCapabilities,
    Response,
    Video,
    VideoClient,
    VideoStatus,
    default_capabilities,
)

from .fakes import MockService, reply, request_parts, video


def png(width: int, height: int) -> bytes:
    """A valid (tiny-bodied) PNG header of the given size."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + b"\x00" * 16)


async def test_create_sends_json_with_seconds_as_string(client: VideoClient,
                                                        mock_service: MockService) -> None:
    mock_service.route("POST", "/videos", Response(200, json=video(size="1280x720", seconds="8")))
    job = await client.videos.create(prompt="A cat", model="sora-2", size="1280x720", seconds=8)
    sent = mock_service.last("POST", "/videos")
    assert sent.json() == {"model": "sora-2", "prompt": "A cat", "size": "1280x720",
                           "seconds": "8"}
    assert sent.headers["Content-Type"] == "application/json"
    assert job.id == "video_1" and job.status == "queued" and job.progress == 0
    assert isinstance(job.latest, Video)


async def test_create_with_image_url_reference_sends_json(client: VideoClient,
                                                          mock_service: MockService) -> None:
    mock_service.route("POST", "/videos", reply(json=video()))
    await client.videos.create(prompt="A cat", input_reference={"image_url": "https://x/y.png"})
    assert mock_service.last("POST", "/videos").json() == {
        "model": "sora-2", "prompt": "A cat", "input_reference": {"image_url": "https://x/y.png"}}
    await client.videos.create(prompt="A cat", input_reference=ImageReference(file_id="file-1"))
    body = mock_service.last("POST", "/videos").json()
    assert body["input_reference"] == {"file_id": "file-1"}  # type: ignore[index]
    assert len(mock_service.requests) == 2


@pytest.mark.parametrize("reference_kind", ["path", "bytes", "file", "tuple"])
async def test_create_with_file_sends_multipart(client: VideoClient, mock_service: MockService,
                                                tmp_path: Path, reference_kind: str) -> None:
    image = png(1280, 720)
    path = tmp_path / "first.png"
    path.write_bytes(image)
    reference = {"path": path, "bytes": image, "file": io.BytesIO(image),
                 "tuple": ("first.png", image, "image/png")}[reference_kind]
    mock_service.route("POST", "/videos", Response(200, json=video()))
    await client.videos.create(prompt="A cat", size="1280x720", seconds="4",
                               input_reference=reference)
    sent = mock_service.last("POST", "/videos")
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = request_parts(sent)
    assert parts["prompt"][0][2] == b"A cat"
    assert parts["model"][0][2] == b"sora-2"
    assert parts["seconds"][0][2] == b"4"
    assert parts["size"][0][2] == b"1280x720"
    filename, content_type, data = parts["input_reference"][0]
    assert data == image and content_type == "image/png"
    assert filename is not None and filename.endswith(".png")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * 32001}, "limit"),
        ({"prompt": "a", "size": "1792x1024"}, "not supported"),
        ({"prompt": "a", "size": "big"}, "width x height"),
        ({"prompt": "a", "seconds": 5}, "not supported"),
        ({"prompt": "a", "seconds": "eight"}, "whole number"),
        ({"prompt": "a", "seconds": 0}, "positive"),
        ({"prompt": "a", "input_reference": {"image_url": "u", "file_id": "f"}}, "exactly one"),
    ],
)
async def test_invalid_parameters_fail_before_any_request(
        client: VideoClient, mock_service: MockService, kwargs: dict[str, object],
        match: str) -> None:
    with pytest.raises((ValueError, ValidationError), match=match):
        await client.videos.create(**kwargs)  # type: ignore[arg-type]
    assert mock_service.requests == []


async def test_input_reference_must_match_size(client: VideoClient,
                                               mock_service: MockService) -> None:
    with pytest.raises(ValueError, match="must match"):
        await client.videos.create(prompt="a", size="1280x720", input_reference=png(720, 1280))
    with pytest.raises(ValueError, match="image/jpeg"):
        await client.videos.create(prompt="a", input_reference=b"GIF89a-not-allowed")
    with pytest.raises(TypeError, match="binary mode"):
        await client.videos.create(prompt="a", input_reference=io.StringIO("text"))  # type: ignore[arg-type]
    assert mock_service.requests == []


async def test_pro_model_and_snapshots_use_their_family_limits(client: VideoClient,
                                                               mock_service: MockService) -> None:
    mock_service.route("POST", "/videos", reply(json=video()))
    await client.videos.create(prompt="a", model="sora-2-pro", size="1792x1024")
    await client.videos.create(prompt="a", model="sora-2-pro-2025-10-06", size="1920x1080")
    with pytest.raises(ValueError):
        await client.videos.create(prompt="a", model="sora-2-2025-12-08", size="1792x1024")
    assert [r.json()["model"] for r in mock_service.requests] == [  # type: ignore[index]
        "sora-2-pro", "sora-2-pro-2025-10-06"]


async def test_unknown_deployment_names_skip_model_limits(client: VideoClient,
                                                          mock_service: MockService) -> None:
    mock_service.route("POST", "/videos", Response(200, json=video()))
    await client.videos.create(prompt="a", model="my-sora-deployment", size="640x360", seconds=6)
    assert mock_service.last("POST", "/videos").json() == {
        "model": "my-sora-deployment", "prompt": "a", "size": "640x360", "seconds": "6"}


async def test_capabilities_can_be_overridden_or_disabled(mock_service: MockService) -> None:
    table = default_capabilities().with_model("my-deploy", "sora-2", seconds=frozenset({4}))
    async with mock_service.client("https://r.openai.azure.com", capabilities=table) as client:
        with pytest.raises(ValueError, match="allowed: 4"):
            await client.videos.create(prompt="a", model="my-deploy", seconds=8)
    assert mock_service.requests == []
    mock_service.route("POST", "/videos", Response(200, json=video()))
    async with mock_service.client("https://r.openai.azure.com", validate=False) as client:
        await client.videos.create(prompt="a", model="sora-2", size="1792x1024", seconds=5)
    sent = mock_service.last("POST", "/videos")
    assert sent.url.host == "r.openai.azure.com"
    assert sent.json() == {"model": "sora-2", "prompt": "a", "size": "1792x1024", "seconds": "5"}


def test_capability_table_round_trips_through_json(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    table = default_capabilities()
    path = tmp_path / "caps.json"
    path.write_text(json.dumps(table.with_model("x", "sora-2").to_dict()))
    loaded = CapabilityTable.from_file(path)
    assert loaded["x"] == table["sora-2"]
    monkeypatch.setenv("FOUNDRY_VIDEO_CAPABILITIES", str(path))
    assert "x" in default_capabilities()


async def test_retrieve_parses_every_field(client: VideoClient,
                                           mock_service: MockService) -> None:
    body = video(status="completed", remixed_from_video_id="video_0", quality="standard")
    mock_service.route("GET", "/videos/video_1", Response(200, json=body))
    got = await client.videos.retrieve("video_1")
    assert got.known_status is VideoStatus.COMPLETED
    assert got.created_at is not None and got.created_at.year == 2025
    assert got.completed_at is not None and got.expires_at is not None
    assert (got.width, got.height, got.duration) == (1280, 720, 8.0)
    assert got.remixed_from_video_id == "video_0"
    assert got.model_extra == {"quality": "standard"}  # unknown fields are kept


async def test_list_auto_paginates_with_after(client: VideoClient,
                                              mock_service: MockService) -> None:
    page1 = {"object": "list", "data": [video("v1"), video("v2")], "first_id": "v1",
             "last_id": "v2", "has_more": True}
    page2 = {"object": "list", "data": [video("v3")], "first_id": "v3", "last_id": "v3",
             "has_more": False}
    mock_service.route("GET", "/videos", Response(200, json=page1),
                       query={"limit": "2", "order": "asc"})
    mock_service.route("GET", "/videos", Response(200, json=page2),
                       query={"limit": "2", "order": "asc", "after": "v2"})
    ids = [v.id async for v in client.videos.list(limit=2, order="asc")]
    assert ids == ["v1", "v2", "v3"]
    assert len(mock_service.requests) == 2


async def test_list_await_gives_one_page(client: VideoClient, mock_service: MockService) -> None:
    mock_service.route("GET", "/videos", Response(200, json={
        "object": "list", "data": [video("v1")], "first_id": "v1", "last_id": "v1",
        "has_more": True}), query={"limit": "1"})
    page = await client.videos.list(limit=1)
    assert [v.id for v in page.data] == ["v1"] and page.has_more
    with pytest.raises(ValueError):
        client.videos.list(limit=0)
    assert len(mock_service.requests) == 1  # one page asked for, no more


async def test_delete_and_remix(client: VideoClient, mock_service: MockService) -> None:
    mock_service.route("DELETE", "/videos/video_1", Response(200, json={
        "id": "video_1", "object": "video.deleted", "deleted": True}))
    deleted = await client.videos.delete("video_1")
    assert deleted.deleted and deleted.id == "video_1"
    mock_service.route("POST", "/videos/video_1/remix", Response(
        200, json=video("video_2", remixed_from_video_id="video_1")))
    job = await client.videos.remix("video_1", prompt="make it night")
    assert job.id == "video_2"
    assert job.latest is not None and job.latest.remixed_from_video_id == "video_1"
    assert mock_service.last("POST", "/videos/video_1/remix").json() == {
        "prompt": "make it night"}
    with pytest.raises(ValueError):
        await client.videos.remix("video_1", prompt="")
    assert [r.method for r in mock_service.requests] == ["DELETE", "POST"]


async def test_ids_are_escaped_in_paths(client: VideoClient, mock_service: MockService) -> None:
    mock_service.route("GET", "/videos/..%2Fsecrets", Response(200, json=video("../secrets")))
    assert (await client.videos.retrieve("../secrets")).id == "../secrets"
    assert mock_service.last("GET", "/videos/..%2Fsecrets").url.raw_path == \
        "/openai/v1/videos/..%2Fsecrets"


# -- found by the mutation run ---------------------------------------------------------

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


async def test_uploads_without_a_name_get_one_for_their_kind(client: VideoClient,
                                                             mock_service: MockService) -> None:
    mock_service.route("POST", "/videos/characters",
                       reply(json={"id": "char_1", "object": "video.character", "name": "Kit"}))
    mock_service.route("POST", "/videos/edits", reply(json=video("video_2")))
    await client.videos.create_character(MP4, name="Kit")
    await client.videos.edit(prompt="sepia", video_file=MP4)
    character = request_parts(mock_service.last("POST", "/videos/characters"))["video"][0]
    edit = request_parts(mock_service.last("POST", "/videos/edits"))["video"][0]
    assert (character[0], edit[0]) == ("character.mp4", "video.mp4")


@pytest.mark.parametrize(("name", "accepted"), [("K", True), ("K" * 80, True), ("", False),
                                                ("  ", False), ("K" * 81, False)])
async def test_character_names_are_1_to_80_characters(
        client: VideoClient, mock_service: MockService, name: str, accepted: bool) -> None:
    mock_service.route("POST", "/videos/characters",
                       reply(json={"id": "char_1", "object": "video.character", "name": name}))
    if accepted:
        await client.videos.create_character(MP4, name=name)
        assert len(mock_service.requests) == 1
    else:
        with pytest.raises(ValueError, match=r"^name must be 1 to 80 characters$"):
            await client.videos.create_character(MP4, name=name)
        assert mock_service.requests == []


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda v: v.remix("video_1", prompt=7), TypeError, "prompt must be a string"),
    (lambda v: v.edit(prompt="x"), ValueError, "give exactly one of video_id and video_file"),
    (lambda v: v.extend("video_1", prompt="x", seconds="long"), ValueError,
     "seconds must be a whole number, got 'long'"),
    (lambda v: v.extend("video_1", prompt="x", seconds=6), ValueError,
     "extension seconds=6 is not supported; allowed: 4, 8, 12, 16, 20"),
    (lambda v: v.list(limit=101), ValueError, "limit must be between 1 and 100"),
    (lambda v: v.list(limit=0), ValueError, "limit must be between 1 and 100"),
    (lambda v: v.list(order="newest"), ValueError, "order must be 'asc' or 'desc'"),
])
async def test_bad_arguments_are_explained(client: VideoClient, mock_service: MockService,
                                           call: Any, error: type[Exception],
                                           message: str) -> None:
    with pytest.raises(error) as info:
        result = call(client.videos)
        if hasattr(result, "__await__"):
            await result
    assert str(info.value) == message
    assert mock_service.requests == []


async def test_extension_lengths_follow_the_table(mock_service: MockService) -> None:
    mock_service.route("POST", "/videos/extensions", reply(json=video("video_2")))
    table = CapabilityTable({"sora-2": ModelCapabilities()})
    async with mock_service.client(capabilities=table) as client:  # no extension limits
        await client.videos.extend("video_1", prompt="on", seconds=1)
        with pytest.raises(ValueError, match=r"^extension seconds=0 is not supported"):
            await client.videos.extend("video_1", prompt="on", seconds=0)
    assert len(mock_service.requests) == 1


async def test_list_bounds_order_and_cursor(client: VideoClient,
                                            mock_service: MockService) -> None:
    mock_service.route("GET", "/videos", reply(json={"object": "list", "data": [],
                                                     "has_more": False}), query=None)
    await client.videos.list(limit=100, order="desc", after="video_0")
    assert dict(mock_service.last("GET", "/videos").url.query) == {
        "limit": "100", "order": "desc", "after": "video_0"}


async def test_reference_images_are_explained(client: VideoClient,
                                              mock_service: MockService) -> None:
    with pytest.raises(ValueError) as info:
        await client.videos.create(prompt="a", size="1280x720", input_reference=png(720, 1280))
    assert str(info.value) == ("input_reference is 720x1280 but the video size is 1280x720; "
                               "the image must match the size exactly")
    with pytest.raises(ValueError) as kind:
        await client.videos.create(prompt="a", input_reference=b"GIF89a-not-allowed")
    assert str(kind.value) == ("input_reference must be one of image/jpeg, image/png, "
                               "image/webp for 'sora-2'; got image/gif")
    assert mock_service.requests == []


async def test_a_models_own_variants_limit_what_its_jobs_download(
        mock_service: MockService, tmp_path: Path) -> None:
    mock_service.route("GET", "/videos/video_1", reply(json=video(status="completed")))
    table = default_capabilities().with_model("sora-2", "sora-2", variants=frozenset({"video"}))
    async with mock_service.client(capabilities=table) as client:
        with pytest.raises(ValueError) as info:
            await client.videos.job("video_1").result(tmp_path / "t.webp", variant="thumbnail")
    assert str(info.value) == ("variant 'thumbnail' is not available for 'sora-2'; "
                               "allowed: video")
    assert mock_service.calls("GET", "/videos/video_1/content") == []


async def test_a_failure_without_details_and_an_unknown_status(client: VideoClient,
                                                               mock_service: MockService) -> None:
    from foundry_video import JobFailedError, UnknownStatusError

    mock_service.route("GET", "/videos/video_1", reply(json=video(status="failed")))
    with pytest.raises(JobFailedError) as failed:
        await client.videos.job("video_1")
    assert (failed.value.code, failed.value.message) == (None, None)
    mock_service.route("GET", "/videos/video_2", reply(json=video("video_2", status="paused")))
    with pytest.raises(UnknownStatusError) as unknown:
        await client.videos.job("video_2")
    assert str(unknown.value) == "Job video_2 has unknown status 'paused'; refusing to guess"


@pytest.mark.parametrize(("seconds", "message"), [
    (True, "seconds must be an int or a numeric string"),
    (4.0, "seconds must be an int or a numeric string, got float"),
])
async def test_seconds_of_the_wrong_type_are_explained(client: VideoClient,
                                                       mock_service: MockService, seconds: Any,
                                                       message: str) -> None:
    with pytest.raises(TypeError) as info:
        await client.videos.create(prompt="a", seconds=seconds)
    assert str(info.value) == message and mock_service.requests == []


async def test_a_malformed_answer_keeps_what_the_service_sent(client: VideoClient,
                                                              mock_service: MockService) -> None:
    from foundry_video import UnexpectedResponseError

    body = {"id": "video_1", "object": "video", "status": ["not", "a", "string"]}
    mock_service.route("GET", "/videos/video_1", reply(json=body, headers={"x-request-id": "r-9"}))
    with pytest.raises(UnexpectedResponseError) as info:
        await client.videos.retrieve("video_1")
    error = info.value
    assert error.message == ("unexpected Video from the service: status: Input should be a "
                             "valid string")
    assert (error.status_code, error.request_id, error.body) == (200, "r-9", body)
    assert error.headers["x-request-id"] == "r-9"


async def test_create_errors_name_the_model_and_uploads_get_a_name(
        client: VideoClient, mock_service: MockService) -> None:
    with pytest.raises(ValueError) as size:
        await client.videos.create(prompt="a", model="sora-2", size="1920x1080")
    assert str(size.value) == ("size '1920x1080' is not supported by model 'sora-2'; allowed: "
                               "720x1280, 1280x720")
    with pytest.raises(ValueError) as seconds:
        await client.videos.create(prompt="a", model="sora-2", seconds=5)
    assert str(seconds.value) == ("seconds=5 is not supported by model 'sora-2'; allowed: "
                                  "4, 8, 12, 16, 20")
    with pytest.raises(TypeError, match=r"^prompt must be a string$"):
        await client.videos.create(prompt=None)  # type: ignore[arg-type]
    assert mock_service.requests == []
    mock_service.route("POST", "/videos", reply(json=video()))
    await client.videos.create(prompt="a", size="1280x720", input_reference=png(1280, 720))
    reference = request_parts(mock_service.last("POST", "/videos"))["input_reference"][0]
    assert reference[0] == "input_reference.png"
