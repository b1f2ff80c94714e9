"""create_many / gather_results: bounded concurrency, per-item errors, downloads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from foundry_video import ApiKeyAuth, JobFailedError, ManualClock, VideoClient
from foundry_video._batch import BatchResult, create_many, gather_results

from .conftest import SECRET
from .fakes import FakeService, video


class Jobs:
    """A fake Videos API on FakeService: jobs complete on their second status request."""

    def __init__(self, service: FakeService, *, fail_prompt: str = "bad",
                 slow: anyio.Event | None = None) -> None:
        self.service = service
        self.created = 0
        self.in_flight = 0
        self.peak = 0
        self.polls: dict[str, int] = {}
        self.fail_prompt = fail_prompt
        self.slow = slow
        self.waiting = 0
        self.four_waiting = anyio.Event()
        service.route("POST", "/openai/v1/videos")(self.create)
        for i in range(1, 50):
            service.route("GET", f"/openai/v1/videos/video_{i}")(self.retrieve)
            service.route("GET", f"/openai/v1/videos/video_{i}/content")(self.content)

    async def create(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        if body["prompt"] == "rejected":
            return web.json_response({"error": {"message": "nope", "type": "invalid_request_error",
                                                "code": "moderation_blocked"}}, status=400)
        self.created += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        video_id = f"video_{self.created}"
        self.polls[video_id] = 0
        if body["prompt"] == self.fail_prompt:
            self.polls[video_id] = -100  # never completes: fails instead
        return web.json_response(video(video_id, prompt=body["prompt"]))

    async def retrieve(self, request: web.Request) -> web.StreamResponse:
        video_id = request.path.rsplit("/", 1)[1]
        self.polls[video_id] += 1
        if self.slow is not None:
            self.waiting += 1
            if self.waiting == 4:
                self.four_waiting.set()
            await self.slow.wait()
        seen = self.polls[video_id]
        if seen < 0:
            self.in_flight -= 1
            return web.json_response(video(video_id, status="failed", error={
                "code": "generation_failed", "message": "it broke"}))
        if seen >= 2:
            self.in_flight -= 1
            return web.json_response(video(video_id, status="completed"))
        return web.json_response(video(video_id, status="in_progress", progress=50))

    async def content(self, request: web.Request) -> web.StreamResponse:
        video_id = request.path.split("/")[-2]
        return web.Response(body=f"mp4 of {video_id}".encode(), content_type="video/mp4")


@pytest.fixture
async def client(service: FakeService) -> AsyncIterator[VideoClient]:
    async with VideoClient(f"http://127.0.0.1:{service.port}", auth=ApiKeyAuth(SECRET),
                           clock=ManualClock()) as c:
        yield c


async def test_creates_waits_and_downloads_in_input_order(
        service: FakeService, client: VideoClient, tmp_path: Path) -> None:
    jobs = Jobs(service)
    requests = [{"prompt": f"cat {i}", "model": "sora-2"} for i in range(7)]
    results = await create_many(client, requests, concurrency=3, download_dir=tmp_path / "out")
    assert [r.index for r in results] == list(range(7))
    assert all(r.ok for r in results)
    assert [r.item for r in results] == requests
    assert jobs.created == 7
    for r in results:
        assert r.video is not None and r.video.status == "completed"
        assert r.job is not None and r.path == tmp_path / "out" / f"{r.job.id}.mp4"
        assert r.path.read_bytes() == f"mp4 of {r.job.id}".encode()
        assert r.unwrap() is r.video
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"video_{i}.mp4" for i in range(1, 8))


async def test_concurrency_is_bounded(service: FakeService, client: VideoClient) -> None:
    jobs = Jobs(service)
    results = await create_many(client.videos, ({"prompt": f"p{i}"} for i in range(20)),
                                concurrency=4)
    assert len(results) == 20 and all(r.ok for r in results)
    assert 1 <= jobs.peak <= 4


async def test_input_is_consumed_lazily(service: FakeService, client: VideoClient) -> None:
    Jobs(service)
    pulled = 0

    def requests() -> Iterator[dict[str, str]]:
        nonlocal pulled
        for i in range(10):
            pulled += 1
            yield {"prompt": f"p{i}"}

    ahead: list[int] = []

    def on_result(result: BatchResult[object]) -> None:
        # Items taken but not finished, besides this one: at most concurrency - 1.
        ahead.append(pulled - len(ahead) - 1)

    await create_many(client, requests(), concurrency=2, on_result=on_result)
    assert pulled == 10
    assert max(ahead) <= 1


async def test_per_item_errors_do_not_stop_the_batch(
        service: FakeService, client: VideoClient, tmp_path: Path) -> None:
    Jobs(service)
    requests = [{"prompt": "good 1"}, {"prompt": "bad"}, {"prompt": "rejected"},
                {"prompt": ""}, {"prompt": "good 2"}]
    results = await create_many(client, requests, concurrency=2, download_dir=tmp_path)
    assert [r.ok for r in results] == [True, False, False, False, True]
    failed = results[1].error
    assert isinstance(failed, JobFailedError) and failed.code == "generation_failed"
    assert results[1].job is not None and results[1].path is None
    assert results[2].job is None and getattr(results[2].error, "status_code", None) == 400
    assert isinstance(results[3].error, ValueError)  # empty prompt: rejected before sending
    with pytest.raises(JobFailedError):
        results[1].unwrap()
    assert len(list(tmp_path.iterdir())) == 2  # no partial files for the failures


async def test_async_iterable_input_and_async_callback(
        service: FakeService, client: VideoClient) -> None:
    Jobs(service)

    async def requests() -> AsyncIterator[dict[str, str]]:
        for i in range(5):
            await anyio.lowlevel.checkpoint()
            yield {"prompt": f"p{i}"}

    seen: list[int] = []

    async def on_result(result: BatchResult[object]) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(result.index)

    results = await create_many(client, requests(), concurrency=3, on_result=on_result)
    assert [r.index for r in results] == [0, 1, 2, 3, 4]
    assert sorted(seen) == [0, 1, 2, 3, 4]


async def test_shared_limiter_bounds_two_batches_together(
        service: FakeService, client: VideoClient) -> None:
    jobs = Jobs(service)
    limiter = anyio.CapacityLimiter(3)
    async with anyio.create_task_group() as group:
        for batch in range(2):
            group.start_soon(lambda b=batch: create_many(
                client, [{"prompt": f"b{b} {i}"} for i in range(6)], concurrency=3,
                limiter=limiter))
    assert jobs.created == 12
    assert jobs.peak <= 3


async def test_gather_results_for_existing_jobs(
        service: FakeService, client: VideoClient, tmp_path: Path) -> None:
    Jobs(service)
    created = [await client.videos.create(prompt=f"p{i}") for i in range(3)]
    reattached = [client.videos.job(job.id) for job in created]
    results = await gather_results(reattached, concurrency=2, download_dir=tmp_path,
                                   filename=lambda index, job_id: f"{index:02d}.mp4")
    assert [r.path for r in results] == [tmp_path / f"{i:02d}.mp4" for i in range(3)]
    assert all(r.job is r.item for r in results)
    assert all(r.video is not None and r.video.status == "completed" for r in results)


async def test_cancelling_the_batch_cancels_every_worker(
        service: FakeService, client: VideoClient) -> None:
    gate = anyio.Event()
    jobs = Jobs(service, slow=gate)
    finished = False

    async def batch() -> None:
        nonlocal finished
        await create_many(client, [{"prompt": f"p{i}"} for i in range(10)], concurrency=4)
        finished = True

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(batch)
            await jobs.four_waiting.wait()  # all four workers are stuck polling
            group.cancel_scope.cancel()
    gate.set()
    assert not finished
    assert jobs.created == 4  # the other six were never started


@pytest.mark.parametrize("concurrency", [0, -1, 1.5, True])
async def test_invalid_concurrency(client: VideoClient, concurrency: object) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        await create_many(client, [{"prompt": "x"}], concurrency=concurrency)  # type: ignore[arg-type]


async def test_empty_input(client: VideoClient) -> None:
    assert await create_many(client, [], concurrency=4) == []


async def test_create_many_is_available_on_client_videos(tmp_path: Path) -> None:
    from foundry_video import BatchResult as PublicBatchResult
    from foundry_video.emulator import Emulator, PlaceholderRenderer

    clock = ManualClock()
    async with Emulator(clock=clock, renderer=PlaceholderRenderer()) as emu, \
            VideoClient(emu.endpoint, auth=ApiKeyAuth("k"), clock=clock) as client:
        results = await client.videos.create_many(
            [{"prompt": "one"}, {"prompt": ""}, {"prompt": "three"}],
            concurrency=2, download_dir=tmp_path)
    assert PublicBatchResult is BatchResult
    assert all(isinstance(r, BatchResult) for r in results)
    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, ValueError)
    assert all(r.path is not None and r.path.stat().st_size > 0 for r in results if r.ok)
