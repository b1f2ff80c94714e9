"""The SDK end to end against the emulator: jobs, downloads and fault recovery."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from foundry_video import (
    ApiKeyAuth,
    ContentPolicyError,
    DownloadSaved,
    JobFailedError,
    ManualClock,
    RateLimitError,
    VideoClient,
)
from foundry_video.emulator import Emulator, Fault, PlaceholderRenderer

KEY = "e2e-key"


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[Emulator]:
    async with Emulator(clock=clock, renderer=PlaceholderRenderer(), api_keys={KEY},
                        queue_seconds=5, job_seconds=90) as emulator:
        yield emulator


@pytest.fixture
async def sdk(emu: Emulator, clock: ManualClock) -> AsyncIterator[VideoClient]:
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock) as client:
        yield client


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def reference_bytes(sdk: VideoClient, video_id: str, tmp_path: Path) -> str:
    return sha(await sdk.videos.download(video_id, tmp_path / "reference.bin"))


async def test_create_wait_download_on_a_virtual_clock(sdk: VideoClient, emu: Emulator,
                                                       clock: ManualClock,
                                                       tmp_path: Path) -> None:
    job = await sdk.videos.create(prompt="A neon city", size="1280x720", seconds=8)
    events = [e async for e in job.events(tmp_path / "city.mp4")]
    assert job.status == "completed" and job.progress == 100
    saved = events[-1]
    assert isinstance(saved, DownloadSaved) and saved.path.stat().st_size == saved.size
    polls = [r for r in emu.requests if r.method == "GET" and r.path.endswith(job.id)]
    # 95 s of virtual time: adaptive polling needs far fewer requests than a 1 s loop.
    assert 3 <= len(polls) <= 20
    assert clock.monotonic() < 95 + 5


async def test_exact_bytes_after_drops_429s_and_5xx(sdk: VideoClient, emu: Emulator,
                                                    tmp_path: Path) -> None:
    emu.inject(Fault("rate_limit", operation="create", retry_after=3))
    emu.inject(Fault("server_error", operation="retrieve", status=503, times=2))
    emu.inject(Fault("drop_connection", operation="content", after_bytes=100))
    job = await sdk.videos.create(prompt="A faulty night")
    out = await job.result(tmp_path / "out.mp4")
    emu.clear_faults()
    assert sha(out) == await reference_bytes(sdk, job.id, tmp_path)
    creates = [r for r in emu.requests if r.method == "POST"]
    assert len(creates) == 2  # the 429 was retried once; one job exists
    assert len(emu.videos) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "reference.bin"]


async def test_truncated_body_is_resumed_to_exact_bytes(sdk: VideoClient, emu: Emulator,
                                                        tmp_path: Path) -> None:
    job = await sdk.videos.create(prompt="truncate me")
    await job
    emu.inject(Fault("truncate_body", operation="content", after_bytes=50))
    out = await job.result(tmp_path / "t.mp4")
    emu.clear_faults()
    assert sha(out) == await reference_bytes(sdk, job.id, tmp_path)


async def test_server_ignoring_range_still_gives_exact_bytes(sdk: VideoClient, emu: Emulator,
                                                             tmp_path: Path) -> None:
    job = await sdk.videos.create(prompt="no ranges here")
    await job
    emu.inject(Fault("drop_connection", operation="content", after_bytes=64))
    emu.inject(Fault("ignore_range", operation="content", times=None))
    out = await job.result(tmp_path / "r.mp4")
    emu.clear_faults()
    assert sha(out) == await reference_bytes(sdk, job.id, tmp_path)


async def test_failed_job_and_content_policy(sdk: VideoClient, emu: Emulator,
                                             tmp_path: Path) -> None:
    with pytest.raises(ContentPolicyError) as blocked:
        await sdk.videos.create(prompt="some gore please")
    assert blocked.value.request_id and blocked.value.status_code == 400

    emu.inject(Fault("content_policy", stage="completion"))
    job = await sdk.videos.create(prompt="fine at first")
    with pytest.raises(JobFailedError) as failed:
        await job.result(tmp_path / "x.mp4")
    assert failed.value.job_id == job.id and failed.value.is_content_policy
    assert list(tmp_path.iterdir()) == []


async def test_rate_limit_exhaustion_is_typed(emu: Emulator, clock: ManualClock) -> None:
    emu.inject(Fault("rate_limit", operation="create", times=None, retry_after=1))
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock,
                           max_retries=1) as client:
        with pytest.raises(RateLimitError) as info:
            await client.videos.create(prompt="too many")
    assert info.value.retry_after == 1 and info.value.request_id
    assert len(emu.videos) == 0


async def test_remix_edit_extend_and_list(sdk: VideoClient, emu: Emulator,
                                          tmp_path: Path) -> None:
    source = await (await sdk.videos.create(prompt="a cat", seconds=4))
    remix = await (await sdk.videos.remix(source.id, prompt="at night"))
    assert remix.remixed_from_video_id == source.id and remix.seconds == source.seconds
    edited = await (await sdk.videos.edit(source.id, prompt="in sepia"))
    extended = await (await sdk.videos.extend(source.id, prompt="and more", seconds=8))
    assert extended.seconds == "12"
    ids = [v.id async for v in sdk.videos.list(limit=2)]
    assert sorted(ids) == sorted([source.id, remix.id, edited.id, extended.id])
    thumb = await sdk.videos.download(remix.id, tmp_path / "t.webp", variant="thumbnail")
    assert thumb.read_bytes()[:4] == b"RIFF"
    assert (await sdk.videos.delete(source.id)).deleted


async def test_resume_by_id_in_a_new_client(emu: Emulator, clock: ManualClock,
                                            tmp_path: Path) -> None:
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock) as first:
        job_id = (await first.videos.create(prompt="survives restarts")).id
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock) as second:
        out = await second.videos.job(job_id).result(tmp_path / "resumed.mp4")
    assert out.stat().st_size > 0
