from __future__ import annotations

import pytest

from foundry_video import Response, VideoClient

from .fakes import MockService, request_parts, video

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


async def test_edit_by_id_sends_video_reference(client: VideoClient,
                                                mock_service: MockService) -> None:
    mock_service.route("POST", "/videos/edits", Response(200, json=video("video_2")))
    job = await client.videos.edit("video_1", prompt="make it rain")
    assert job.id == "video_2"
    sent = mock_service.last("POST", "/videos/edits")
    assert sent.json() == {"video": {"id": "video_1"}, "prompt": "make it rain"}
    assert sent.headers["Content-Type"] == "application/json"


async def test_edit_with_uploaded_clip_is_multipart(client: VideoClient,
                                                    mock_service: MockService) -> None:
    mock_service.route("POST", "/videos/edits", Response(200, json=video("video_3")))
    await client.videos.edit(prompt="sepia", video_file=("clip.mp4", MP4))
    sent = mock_service.last("POST", "/videos/edits")
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = request_parts(sent)
    assert parts["prompt"][0][2] == b"sepia"
    assert parts["video"][0] == ("clip.mp4", "video/mp4", MP4)


async def test_extend_sends_seconds_as_string(client: VideoClient,
                                              mock_service: MockService) -> None:
    mock_service.route("POST", "/videos/extensions",
                       Response(200, json=video("video_4", seconds="16")))
    job = await client.videos.extend("video_1", prompt="keep going", seconds=8)
    assert job.latest is not None and job.latest.seconds == "16"
    assert mock_service.last("POST", "/videos/extensions").json() == {
        "video": {"id": "video_1"}, "prompt": "keep going", "seconds": "8"}


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda v: v.extend("video_1", prompt="x", seconds=7), "not supported"),
        (lambda v: v.extend(prompt="x", seconds=4), "exactly one"),
        (lambda v: v.edit("video_1", prompt=""), "prompt"),
        (lambda v: v.edit("video_1", prompt="x", video_file=b"abc"), "exactly one"),
        (lambda v: v.create_character(MP4, name=""), "name"),
    ],
)
async def test_edit_family_validates_before_sending(client: VideoClient,
                                                    mock_service: MockService,
                                                    call: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        await call(client.videos)  # type: ignore[operator]
    assert mock_service.requests == []


async def test_characters(client: VideoClient, mock_service: MockService) -> None:
    character = {"id": "char_1", "name": "Rex", "created_at": 1760627796}
    mock_service.route("POST", "/videos/characters", Response(200, json=character))
    mock_service.route("GET", "/videos/characters/char_1", Response(200, json=character))
    created = await client.videos.create_character(MP4, name="Rex")
    assert created.id == "char_1" and created.created_at is not None
    parts = request_parts(mock_service.last("POST", "/videos/characters"))
    assert parts["name"][0][2] == b"Rex" and parts["video"][0][2] == MP4
    fetched = await client.videos.retrieve_character("char_1")
    assert fetched.name == "Rex"
