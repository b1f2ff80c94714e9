from __future__ import annotations

import json

import aiohttp
import pytest
from aioresponses import aioresponses

from foundry_video import VideoClient

from .conftest import BASE
from .fakes import FakeService, multipart_parts, video

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


def last_json(mock: aioresponses, url: str) -> object:
    return json.loads(mock.requests[("POST", aiohttp.client.URL(url))][-1].kwargs["data"])


async def test_edit_by_id_sends_video_reference(client: VideoClient, mock: aioresponses) -> None:
    mock.post(BASE + "/videos/edits", payload=video("video_2"))
    job = await client.videos.edit("video_1", prompt="make it rain")
    assert job.id == "video_2"
    assert last_json(mock, BASE + "/videos/edits") == {"video": {"id": "video_1"},
                                                        "prompt": "make it rain"}


async def test_edit_with_uploaded_clip_is_multipart(live_client: VideoClient,
                                                    service: FakeService) -> None:
    service.json("POST", "/openai/v1/videos/edits", video("video_3"))
    await live_client.videos.edit(prompt="sepia", video_file=("clip.mp4", MP4))
    parts = multipart_parts(service.requests[-1])
    assert parts["prompt"][0][2] == b"sepia"
    assert parts["video"][0] == ("clip.mp4", "video/mp4", MP4)


async def test_extend_sends_seconds_as_string(client: VideoClient, mock: aioresponses) -> None:
    mock.post(BASE + "/videos/extensions", payload=video("video_4", seconds="16"))
    job = await client.videos.extend("video_1", prompt="keep going", seconds=8)
    assert job.latest is not None and job.latest.seconds == "16"
    assert last_json(mock, BASE + "/videos/extensions") == {
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
async def test_edit_family_validates_before_sending(client: VideoClient, mock: aioresponses,
                                                    call: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        await call(client.videos)  # type: ignore[operator]
    assert mock.requests == {}


async def test_characters(live_client: VideoClient, service: FakeService) -> None:
    service.json("POST", "/openai/v1/videos/characters",
                 {"id": "char_1", "name": "Rex", "created_at": 1760627796})
    service.json("GET", "/openai/v1/videos/characters/char_1",
                 {"id": "char_1", "name": "Rex", "created_at": 1760627796})
    created = await live_client.videos.create_character(MP4, name="Rex")
    assert created.id == "char_1" and created.created_at is not None
    parts = multipart_parts(service.requests[-1])
    assert parts["name"][0][2] == b"Rex" and parts["video"][0][2] == MP4
    fetched = await live_client.videos.retrieve_character("char_1")
    assert fetched.name == "Rex"
