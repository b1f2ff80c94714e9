from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from foundry_video import (
    CapabilityTable,
    ImageReference,
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
