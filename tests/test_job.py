from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from foundry_video import (
    ContentExpiredError,
    DownloadProgress,
    DownloadSaved,
    DownloadStarted,
    JobCompleted,
    JobFailed,
    JobFailedError,
    JobProgress,
    JobQueued,
    JobTimeoutError,
    ManualClock,
    Request,
    Response,
    UnknownStatusError,
    Video,
    VideoClient,
)

from .fakes import FakeService, MockService, reply, video

PATH = "/openai/v1/videos/video_1"
CONTENT = "/openai/v1/videos/video_1/content"
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 400


def serve_content(service: FakeService, data: bytes = MP4) -> None:
    @service.route("GET", CONTENT)
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=data, content_type="video/mp4")


async def test_await_job_polls_until_completed(live_client: VideoClient, service: FakeService,
                                               clock: ManualClock) -> None:
    service.json("GET", PATH, [video(status="queued"), video(status="in_progress", progress=40),
                               video(status="in_progress", progress=80),
                               video(status="completed")])
    job = live_client.videos.job("video_1")
    assert job.status is None
    done = await job
    assert isinstance(done, Video) and done.status == "completed"
    assert job.status == "completed" and job.progress == 100 and job.done
    assert len(service.requests) == 4
    assert len(clock.sleeps) == 3 and all(s > 0 for s in clock.sleeps)


async def test_result_downloads_after_completion(live_client: VideoClient, service: FakeService,
                                                 tmp_path: Path) -> None:
    service.json("GET", PATH, [video(status="in_progress", progress=50), video(status="completed")])
    serve_content(service)
    out = await live_client.videos.job("video_1").result(tmp_path / "out.mp4")
    assert out == tmp_path / "out.mp4"
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(MP4).digest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # no temp files left
    assert service.last("GET", CONTENT).query == {"variant": "video"}
    assert service.last("GET", CONTENT).headers["Accept"] == "application/binary"


async def test_result_thumbnail_variant(live_client: VideoClient, service: FakeService,
                                        tmp_path: Path) -> None:
    service.json("GET", PATH, video(status="completed"))
    serve_content(service, b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    out = await live_client.videos.job("video_1").result(tmp_path / "t.webp", variant="thumbnail")
    assert out.read_bytes().startswith(b"RIFF")
    assert service.last("GET", CONTENT).query == {"variant": "thumbnail"}
    with pytest.raises(ValueError, match="variant"):
        await live_client.videos.job("video_1").result(tmp_path / "x", variant="poster")


async def test_events_stream_the_whole_lifecycle(live_client: VideoClient, service: FakeService,
                                                 tmp_path: Path) -> None:
    service.json("GET", PATH, [video(status="queued"), video(status="in_progress", progress=10),
                               video(status="in_progress", progress=10),
                               video(status="in_progress", progress=60),
                               video(status="completed")])
    serve_content(service)
    job = live_client.videos.job("video_1")
    kinds = [type(e).__name__ async for e in job.events(tmp_path / "o.mp4")]
    assert kinds == ["JobQueued", "JobProgress", "JobProgress", "JobCompleted",
                     "DownloadStarted", "DownloadProgress", "DownloadSaved"]


async def test_on_progress_receives_typed_events(live_client: VideoClient, service: FakeService,
                                                 tmp_path: Path) -> None:
    service.json("GET", PATH, [video(status="in_progress", progress=30), video(status="completed")])
    serve_content(service)
    seen: list[object] = []

    async def on_progress(event: object) -> None:
        seen.append(event)

    await live_client.videos.job("video_1").result(tmp_path / "o.mp4", on_progress=on_progress)
    progress = [e for e in seen if isinstance(e, JobProgress)]
    assert progress[0].progress == 30
    started = next(e for e in seen if isinstance(e, DownloadStarted))
    assert started.total == len(MP4) and started.resumed_from == 0
    last = [e for e in seen if isinstance(e, DownloadProgress)][-1]
    assert last.received == len(MP4) and last.fraction == 1.0
    saved = seen[-1]
    assert isinstance(saved, DownloadSaved) and saved.size == len(MP4)
    assert any(isinstance(e, JobCompleted) for e in seen)
    assert not any(isinstance(e, (JobQueued, JobFailed)) for e in seen)


async def test_failed_job_raises_with_service_code(live_client: VideoClient,
                                                   service: FakeService, tmp_path: Path) -> None:
    service.json("GET", PATH, [video(status="in_progress", progress=5),
                               video(status="failed", error={"code": "moderation_blocked",
                                                             "message": "Blocked by policy"})])
    job = live_client.videos.job("video_1")
    with pytest.raises(JobFailedError) as info:
        await job.result(tmp_path / "o.mp4")
    err = info.value
    assert (err.job_id, err.code, err.message) == ("video_1", "moderation_blocked",
                                                   "Blocked by policy")
    assert err.is_content_policy
    assert list(tmp_path.iterdir()) == []


async def test_unknown_status_raises_instead_of_spinning(live_client: VideoClient,
                                                         service: FakeService) -> None:
    service.json("GET", PATH, video(status="cancelled"))
    with pytest.raises(UnknownStatusError) as info:
        await live_client.videos.job("video_1")
    assert info.value.status == "cancelled" and info.value.job_id == "video_1"
    assert len(service.requests) == 1


async def test_expired_content_raises_typed_error(live_client: VideoClient, service: FakeService,
                                                  clock: ManualClock, tmp_path: Path) -> None:
    service.json("GET", PATH, video(status="completed", expires_at=int(clock.time()) - 3600))
    with pytest.raises(ContentExpiredError) as info:
        await live_client.videos.job("video_1").result(tmp_path / "o.mp4")
    assert info.value.job_id == "video_1"
    assert list(tmp_path.iterdir()) == []
    assert not any(r.path == CONTENT for r in service.requests)


async def test_expiry_within_clock_skew_is_left_to_the_service(
        live_client: VideoClient, service: FakeService, clock: ManualClock,
        tmp_path: Path) -> None:
    # Our clock may run ahead of the service's: a video "expired" 10 s ago by our clock is
    # still asked for, and the service's own expired answer becomes the typed error.
    service.json("GET", PATH, video(status="completed", expires_at=int(clock.time()) - 10))
    service.json("GET", CONTENT, {"error": {"message": "expired", "code": "video_expired"}},
                 status=404, headers={"x-request-id": "req-exp"})
    with pytest.raises(ContentExpiredError) as info:
        await live_client.videos.job("video_1").result(tmp_path / "o.mp4")
    assert info.value.request_id == "req-exp"
    assert list(tmp_path.iterdir()) == []


async def test_completed_with_empty_content_is_an_error(live_client: VideoClient,
                                                        service: FakeService,
                                                        tmp_path: Path) -> None:
    from foundry_video import DownloadError

    service.json("GET", PATH, video(status="completed"))
    serve_content(service, b"")
    with pytest.raises(DownloadError, match="no content"):
        await live_client.videos.job("video_1").result(tmp_path / "o.mp4")
    assert list(tmp_path.iterdir()) == []


async def test_timeout_carries_the_job_id(live_client: VideoClient, service: FakeService,
                                          clock: ManualClock) -> None:
    service.json("GET", PATH, video(status="in_progress", progress=1))
    start = clock.monotonic()
    with pytest.raises(JobTimeoutError) as info:
        await live_client.videos.job("video_1").wait(timeout=120)
    assert info.value.job_id == "video_1" and info.value.last_status == "in_progress"
    assert "client.videos.job('video_1')" in str(info.value)
    assert 120 <= clock.monotonic() - start < 121
    assert isinstance(info.value, TimeoutError)


@pytest.mark.parametrize("hint_ms", ["4000", "700"])
async def test_poll_hint_is_the_interval(live_client: VideoClient, service: FakeService,
                                         clock: ManualClock, hint_ms: str) -> None:
    # The service's cadence, whether longer or shorter than the SDK's own schedule.
    service.json("GET", PATH, [video(status="queued"), video(status="in_progress", progress=3),
                               video(status="completed")],
                 headers={"openai-poll-after-ms": hint_ms})
    await live_client.videos.job("video_1")
    assert clock.sleeps == [int(hint_ms) / 1000] * 2


async def test_fixed_poll_interval(service: FakeService, clock: ManualClock) -> None:
    from foundry_video import ApiKeyAuth

    service.json("GET", PATH, [video(status="queued"), video(status="queued"),
                               video(status="completed")])
    async with VideoClient(f"http://127.0.0.1:{service.port}", auth=ApiKeyAuth("k"),
                           clock=clock, poll_interval=5) as client:
        await client.videos.job("video_1")
    assert clock.sleeps == [5, 5]


async def test_transient_poll_errors_are_survived(live_client: VideoClient, service: FakeService
                                                  ) -> None:
    answers = iter([503, 503, 503, 200])

    @service.route("GET", PATH)
    async def handler(request: web.Request) -> web.StreamResponse:
        if next(answers) == 503:
            return web.json_response({"error": {"message": "busy"}}, status=503)
        return web.json_response(video(status="completed"))

    assert (await live_client.videos.job("video_1")).status == "completed"


async def test_cancelling_stops_polling_and_keeps_the_remote_job(
        live_client: VideoClient, service: FakeService, tmp_path: Path) -> None:
    polled = anyio.Event()

    @service.route("GET", PATH)
    async def handler(request: web.Request) -> web.StreamResponse:
        polled.set()
        return web.json_response(video(status="in_progress", progress=3))

    clock = live_client.clock
    assert isinstance(clock, ManualClock)
    clock.auto_advance = False
    job = live_client.videos.job("video_1")
    async with anyio.create_task_group() as tg:
        tg.start_soon(job.result, tmp_path / "o.mp4")
        await polled.wait()
        tg.cancel_scope.cancel()
    assert [r.method for r in service.requests] == ["GET"]
    assert list(tmp_path.iterdir()) == []


async def test_cancel_remote_deletes_the_job(live_client: VideoClient,
                                             service: FakeService) -> None:
    service.json("GET", PATH, video(status="in_progress", progress=3))
    service.json("DELETE", PATH, {"id": "video_1", "object": "video.deleted", "deleted": True})
    clock = live_client.clock
    assert isinstance(clock, ManualClock)
    clock.auto_advance = False
    job = live_client.videos.job("video_1")
    with anyio.move_on_after(0.2):
        await job.wait(cancel_remote=True)
    assert [r.method for r in service.requests] == ["GET", "DELETE"]


def test_job_requires_an_id(client: VideoClient) -> None:
    with pytest.raises(ValueError):
        client.videos.job("")


# -- found by the mutation run ---------------------------------------------------------


def test_a_job_shows_its_id_status_and_progress(client: VideoClient) -> None:
    job = client.videos.job("video_1", video=Video.model_validate(video(status="in_progress",
                                                                        progress=40)))
    assert repr(job) == "VideoJob(id='video_1', status='in_progress', progress=40)"
    assert repr(client.generation_jobs.job("task_1")) == (
        "GenerationJob(id='task_1', status=None, progress=None)")


async def test_refresh_keeps_what_it_fetched(client: VideoClient,
                                             mock_service: MockService) -> None:
    mock_service.route("GET", "/videos/video_1", reply(json=video(status="in_progress",
                                                                  progress=55)))
    job = client.videos.job("video_1")
    got = await job.refresh()
    assert job.latest is got and (job.status, job.progress, job.done) == ("in_progress", 55, False)
    assert len(mock_service.requests) == 1  # no waiting


@pytest.mark.parametrize("how", ["await", "wait", "result"])
async def test_cancelling_a_wait_leaves_the_remote_job_unless_asked(
        mock_service: MockService, tmp_path: Path, how: str) -> None:
    mock_service.route("GET", "/videos/video_1", reply(json=video(status="in_progress")))
    mock_service.route("DELETE", "/videos/video_1",
                       reply(json={"id": "video_1", "object": "video.deleted", "deleted": True}))
    clock = ManualClock(auto_advance=False)
    async with mock_service.client(clock=clock) as client:
        job = client.videos.job("video_1")
        waiting = {"await": lambda: job.wait(), "wait": lambda: job.wait(timeout=600),
                   "result": lambda: job.result(tmp_path / "v.mp4")}[how]
        with anyio.move_on_after(0.2):
            await waiting()
    assert [r.method for r in mock_service.requests] == ["GET"]


async def test_cancelling_a_download_deletes_the_job_when_asked(
        mock_service: MockService, tmp_path: Path) -> None:
    started = anyio.Event()

    async def stalled(request: Request) -> Response:
        started.set()
        await anyio.sleep(3600)
        raise AssertionError

    mock_service.route("GET", "/videos/video_1", reply(json=video(status="completed")))
    mock_service.route("GET", "/videos/video_1/content", stalled, query={"variant": "video"})
    mock_service.route("DELETE", "/videos/video_1",
                       reply(json={"id": "video_1", "object": "video.deleted", "deleted": True}))
    async with mock_service.client(timeout=600) as client, anyio.create_task_group() as tg:
        tg.start_soon(lambda: client.videos.job("video_1").result(tmp_path / "v.mp4",
                                                                  cancel_remote=True))
        await started.wait()
        tg.cancel_scope.cancel()
    assert [r.method for r in mock_service.requests][-1] == "DELETE"
    assert list(tmp_path.iterdir()) == []


async def test_a_timeout_error_carries_the_timeout_given(client: VideoClient,
                                                         mock_service: MockService) -> None:
    mock_service.route("GET", "/videos/video_1", reply(json=video(status="queued")))
    with pytest.raises(JobTimeoutError) as info:
        await client.videos.job("video_1").wait(timeout=90)
    assert info.value.timeout == 90
    assert str(info.value) == (
        "Job video_1 did not finish within 90s (last status: queued); it continues on the "
        "service: resume with client.videos.job('video_1')")


@pytest.mark.parametrize(("age", "asks"), [(300, False), (299, True)])
async def test_content_expired_by_more_than_the_clock_skew_is_not_asked_for(
        client: VideoClient, mock_service: MockService, clock: ManualClock, tmp_path: Path,
        age: int, asks: bool) -> None:
    mock_service.route("GET", "/videos/video_1", reply(json=video(
        status="completed", expires_at=int(clock.time()) - age)))
    mock_service.route("GET", "/videos/video_1/content", reply(404, json={"error": {
        "code": "video_expired", "message": "gone"}}), query={"variant": "video"})
    with pytest.raises(ContentExpiredError) as info:
        await client.videos.job("video_1").result(tmp_path / "v.mp4")
    assert bool(mock_service.calls("GET", "/videos/video_1/content")) is asks
    if not asks:
        assert str(info.value).startswith("the assets of video video_1 expired at 2025-10-09T")


async def test_download_events_describe_the_download(client: VideoClient,
                                                     mock_service: MockService,
                                                     tmp_path: Path) -> None:
    thumbnail = b"RIFF\x00\x00\x00\x00WEBPVP8 " * 10
    mock_service.route("GET", "/videos/video_1", reply(json=video(status="completed")))
    mock_service.route("GET", "/videos/video_1/content", reply(content=thumbnail),
                       query={"variant": "thumbnail"})
    events: list[object] = []
    target = tmp_path / "t.webp"
    await client.videos.job("video_1").result(target, variant="thumbnail",
                                              on_progress=events.append)
    downloads = [e for e in events if type(e).__name__.startswith("Download")]
    assert downloads == [
        DownloadStarted("video_1", "thumbnail", target, len(thumbnail), 0),
        DownloadProgress("video_1", "thumbnail", len(thumbnail), len(thumbnail)),
        DownloadSaved("video_1", "thumbnail", target, len(thumbnail))]
    with pytest.raises(ValueError, match=r"^a Sora 2 video has a single output; index must be 0$"):
        await client.videos.job("video_1").result(target, index=1)


async def test_job_events_carry_the_job_and_its_state(client: VideoClient,
                                                      mock_service: MockService) -> None:
    failed = video(status="failed", error={"code": "moderation_blocked", "message": "no"})
    mock_service.route("GET", "/videos/video_1", Response(200, json=video(status="queued")),
                       Response(200, json=video(status="in_progress", progress=30)),
                       reply(json=failed))
    events: list[object] = []
    with pytest.raises(JobFailedError):
        await client.videos.job("video_1").wait(on_progress=events.append)
    assert events == [JobQueued("video_1", "queued"), JobProgress("video_1", "in_progress", 30),
                      JobFailed("video_1", "moderation_blocked", "no", "failed")]
    mock_service.route("GET", "/videos/video_2", reply(json=video("video_2", status="completed")))
    done: list[object] = []
    model = await client.videos.job("video_2").wait(on_progress=done.append)
    assert done == [JobCompleted("video_2", model)]

