from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest
from aiohttp import web

from foundry_video import DownloadError, NotFoundError, OutputFileError, VideoClient

from .fakes import FakeService

CONTENT = "/openai/v1/videos/video_1/content"
DATA = os.urandom(3 * (1 << 20) + 12345)  # a few chunks, not chunk-aligned


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ranged(data: bytes, *, drop_first_after: int | None = None, honour_range: bool = True,
           truncate_first_after: int | None = None):  # type: ignore[no-untyped-def]
    """A content handler: optional first-response fault, then Range-aware answers."""
    calls = {"n": 0}

    async def handler(request: web.Request) -> web.StreamResponse:
        calls["n"] += 1
        first = calls["n"] == 1
        start = 0
        header = request.headers.get("Range")
        if header and honour_range:
            start = int(header.removeprefix("bytes=").split("-")[0])
        body = data[start:]
        status = 206 if start else 200
        response = web.StreamResponse(status=status)
        response.content_length = len(body)
        response.content_type = "video/mp4"
        response.headers["Accept-Ranges"] = "bytes"
        response.headers["ETag"] = '"v1"'
        if start:
            response.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        await response.prepare(request)
        cut = drop_first_after if first else None
        cut = truncate_first_after if first and truncate_first_after is not None else cut
        if cut is not None:
            await response.write(body[:cut])
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write(body)
        await response.write_eof()
        return response

    return handler, calls


async def test_download_resumes_with_range_after_a_drop(live_client: VideoClient,
                                                        service: FakeService,
                                                        tmp_path: Path) -> None:
    handler, calls = ranged(DATA, drop_first_after=1_500_000)
    service.route("GET", CONTENT)(handler)
    out = await live_client.videos.download("video_1", tmp_path / "v.mp4")
    assert digest(out.read_bytes()) == digest(DATA)
    assert calls["n"] == 2
    second = service.requests[-1].headers
    assert second["Range"].startswith("bytes=") and second["Range"] != "bytes=0-"
    assert second["If-Range"] == '"v1"'
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


async def test_download_restarts_when_server_ignores_range(live_client: VideoClient,
                                                           service: FakeService,
                                                           tmp_path: Path) -> None:
    handler, calls = ranged(DATA, drop_first_after=2_000_000, honour_range=False)
    service.route("GET", CONTENT)(handler)
    out = await live_client.videos.download("video_1", tmp_path / "v.mp4")
    assert digest(out.read_bytes()) == digest(DATA)
    assert calls["n"] == 2


async def test_truncated_body_with_correct_length_is_resumed(live_client: VideoClient,
                                                             service: FakeService,
                                                             tmp_path: Path) -> None:
    handler, calls = ranged(DATA, truncate_first_after=777)
    service.route("GET", CONTENT)(handler)
    out = await live_client.videos.download("video_1", tmp_path / "v.mp4")
    assert out.read_bytes() == DATA and calls["n"] == 2


async def test_persistent_drops_end_in_download_error_and_no_file(
        live_client: VideoClient, service: FakeService, tmp_path: Path) -> None:
    async def always_drop(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = len(DATA)
        await response.prepare(request)
        await response.write(DATA[:1000])
        assert request.transport is not None
        request.transport.close()
        return response

    service.route("GET", CONTENT)(always_drop)
    target = tmp_path / "v.mp4"
    target.write_bytes(b"previous good file")
    with pytest.raises(DownloadError) as info:
        await live_client.videos.download("video_1", target)
    assert info.value.job_id == "video_1"
    assert target.read_bytes() == b"previous good file"  # never clobbered by a partial file
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


async def test_http_error_during_download_leaves_nothing(live_client: VideoClient,
                                                         service: FakeService,
                                                         tmp_path: Path) -> None:
    service.json("GET", CONTENT, {"error": {"message": "Video is not ready", "code": "not_ready"}},
                 status=404)
    with pytest.raises(NotFoundError) as info:
        await live_client.videos.download("video_1", tmp_path / "v.mp4")
    assert info.value.job_id == "video_1"
    assert list(tmp_path.iterdir()) == []


async def test_download_creates_parent_directories_and_rejects_a_directory_target(
        live_client: VideoClient, service: FakeService, tmp_path: Path) -> None:
    handler, _ = ranged(b"x" * 10)
    service.route("GET", CONTENT)(handler)
    out = await live_client.videos.download("video_1", tmp_path / "a" / "b" / "v.mp4")
    assert out.read_bytes() == b"x" * 10
    before = len(service.requests)
    with pytest.raises(OutputFileError) as info:
        await live_client.videos.download("video_1", tmp_path)
    assert info.value.errno == errno.EISDIR and info.value.job_id == "video_1"
    assert isinstance(info.value, OSError)
    assert len(service.requests) == before  # refused before any request
