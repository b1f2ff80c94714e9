"""Faults that lie (well-formed HTTP, wrong content), ``echo_key``, and the CLI fault syntax."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from foundry_video import ApiKeyAuth, DownloadError, VideoClient
from foundry_video._clock import ManualClock
from foundry_video.emulator import Emulator, Fault, parse_fault_spec

from .conftest import API, JOB_SECONDS, QUEUE_SECONDS, Api

KEY = "lie-test-KEY-0123456789abcdef"


async def _raw(emu: Emulator, path: str, headers: dict[str, str]) -> tuple[bytes, bytes]:
    """(head, body) of a GET, read off the socket: what the server *sent*, unchecked."""
    host, port = emu.host, emu.port
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\napi-key: k\r\nConnection: close\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request)
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def _header(head: bytes, name: str) -> str | None:
    for line in head.decode("latin-1").split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


async def _content(api: Api, emu: Emulator) -> tuple[str, bytes]:
    video = await api.completed()
    _, full, _ = await api.get(f"/videos/{video['id']}/content")
    return f"{API}/videos/{video['id']}/content", full


async def test_short_range_sends_less_than_its_content_range(api: Api, emu: Emulator) -> None:
    path, full = await _content(api, emu)
    emu.inject(Fault("short_range", after_bytes=10))
    head, body = await _raw(emu, path, {"Range": "bytes=100-"})
    assert head.startswith(b"HTTP/1.1 206")
    assert _header(head, "Content-Range") == f"bytes 100-{len(full) - 1}/{len(full)}"
    assert body == full[100:110] and _header(head, "Content-Length") == "10"


async def test_wrong_offset_is_a_consistent_206_for_another_range(api: Api, emu: Emulator) -> None:
    path, full = await _content(api, emu)
    emu.inject(Fault("wrong_offset", after_bytes=5))
    head, body = await _raw(emu, path, {"Range": "bytes=100-"})
    assert _header(head, "Content-Range") == f"bytes 105-{len(full) - 1}/{len(full)}"
    assert body == full[105:]


async def test_extra_bytes_are_counted_in_content_length(api: Api, emu: Emulator) -> None:
    path, full = await _content(api, emu)
    emu.inject(Fault("extra_bytes", after_bytes=7))
    head, body = await _raw(emu, path, {})
    assert _header(head, "Content-Length") == str(len(full) + 7)
    assert body[:len(full)] == full and len(body) == len(full) + 7


async def test_no_content_length_ends_cleanly_when_short(api: Api, emu: Emulator) -> None:
    path, full = await _content(api, emu)
    emu.inject(Fault("no_content_length", after_bytes=100))
    head, body = await _raw(emu, path, {})
    assert _header(head, "Content-Length") is None
    assert _header(head, "Transfer-Encoding") == "chunked"
    assert body.endswith(b"0\r\n\r\n")  # a proper last chunk: the body *looks* complete
    assert b"".join(_chunks(body)) == full[:100]


def _chunks(body: bytes) -> list[bytes]:
    out = []
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out.append(body[:size])
        body = body[size + 2:]
    return out


# -- the SDK against the lies ----------------------------------------------------------------


async def _content_of(emu: Emulator, video_id: str) -> tuple[str, bytes]:
    """The exact asset, fetched with plain aiohttp (not the SDK) and left out of the log."""
    seen = len(emu.requests)
    url = f"{emu.endpoint}/openai/v1/videos/{video_id}/content"
    async with aiohttp.ClientSession() as session, session.get(
            url, headers={"api-key": KEY}) as response:
        assert response.status == 200
        data = await response.read()
    del emu.requests[seen:]
    return url, data


@pytest.fixture
async def client(emu: Emulator, clock: ManualClock) -> AsyncIterator[VideoClient]:
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock,
                           download_resumes=2) as c:
        yield c


@pytest.mark.parametrize("cut", ["truncate_body", "drop_connection"])
@pytest.mark.parametrize("lie", ["short_range", "wrong_offset", "extra_bytes"])
async def test_a_lying_resume_is_never_trusted(client: VideoClient, emu: Emulator,
                                               clock: ManualClock, tmp_path: Path, cut: str,
                                               lie: str) -> None:
    """A resumed 206 that lies once: the SDK starts over without Range and saves the exact
    bytes; a server that lies every time ends in DownloadError, with nothing left behind."""
    job = await client.videos.create(prompt="a lie")
    clock.advance(QUEUE_SECONDS + JOB_SECONDS)
    _, full = await _content_of(emu, job.id)
    emu.inject(Fault(cut, after_bytes=1000))  # type: ignore[arg-type]  # the first response breaks off, so the SDK resumes with Range ...
    emu.inject(Fault(lie))  # type: ignore[arg-type]  # ... and the resumed 206 lies, once
    target = await client.videos.download(job.id, tmp_path / "v.mp4")
    assert target.read_bytes() == full
    lied = [r for r in emu.requests if r.operation == "content" and lie in r.faults]
    assert len(lied) == 1

    emu.inject(Fault(cut, after_bytes=1000))  # type: ignore[arg-type]
    emu.inject(Fault(lie, times=None))  # type: ignore[arg-type]  # every answer lies
    with pytest.raises(DownloadError):
        await client.videos.download(job.id, tmp_path / "again.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]  # no partial, no .part


async def test_a_short_body_without_content_length_is_not_saved_as_complete(
        client: VideoClient, emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    """A body of unknown length that ends early looks complete; the SDK asks for the rest
    (Range from where it ended) and only a 416 proves there is none."""
    job = await client.videos.create(prompt="short")
    clock.advance(QUEUE_SECONDS + JOB_SECONDS)
    _, full = await _content_of(emu, job.id)
    emu.inject(Fault("no_content_length", after_bytes=100))
    target = await client.videos.download(job.id, tmp_path / "v.mp4")
    assert target.read_bytes() == full
    ranges = [r.headers.get("range") for r in emu.requests if r.operation == "content"]
    assert ranges == [None, "bytes=100-"]


async def test_a_complete_body_without_content_length_costs_one_probe(
        client: VideoClient, emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    job = await client.videos.create(prompt="whole")
    clock.advance(QUEUE_SECONDS + JOB_SECONDS)
    _, full = await _content_of(emu, job.id)
    emu.inject(Fault("no_content_length", after_bytes=len(full)))
    target = await client.videos.download(job.id, tmp_path / "v.mp4")
    assert target.read_bytes() == full
    ranges = [r.headers.get("range") for r in emu.requests if r.operation == "content"]
    assert ranges == [None, f"bytes={len(full)}-"]  # answered 416: nothing more


# -- echo_key --------------------------------------------------------------------------------


async def test_echo_key_puts_the_request_key_in_error_bodies(api: Api, emu: Emulator) -> None:
    emu.inject(Fault("server_error", operation="list", echo_key=True))
    status, body, _ = await api.get("/videos")
    assert status == 500 and "test-key" in body["error"]["message"]
    emu.inject(Fault("job_failed", echo_key=True, message="GPU on fire"))
    video = await api.completed()
    _, got, _ = await api.get(f"/videos/{video['id']}")
    assert got["status"] == "failed"
    assert got["error"]["message"] == "GPU on fire (request credential: test-key)"


# -- the command-line form -------------------------------------------------------------------


def test_parse_fault_spec() -> None:
    fault = parse_fault_spec("server_error:status=503,operation=content,times=2")
    assert (fault.kind, fault.status, fault.operation, fault.times) == \
        ("server_error", 503, "content", 2)
    assert parse_fault_spec("rate_limit").times == 1
    assert parse_fault_spec("rate_limit:times=forever").times is None
    assert parse_fault_spec("job_failed:echo_key=true,message=a%2Cb").message == "a,b"
    for bad in ("nope", "rate_limit:times", "rate_limit:colour=red", "server_error:status=418",
                "slow_body:delay=nan", "truncate_body:after_bytes=-1"):
        with pytest.raises(ValueError):
            parse_fault_spec(bad)
