"""The written guarantees, tried as an attacker and as a careless user would.

One test per finding of the "nothing partial, nothing leaked, nothing untyped" review:
deadlines that cover every wait, cancellation that leaks nothing, part files reused after a
kill, redaction that neither misses nor mangles, and local failures that are typed, early
and carry the job id. Most use MockTransport, so each failure is exactly scripted.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import gc
import os
import pickle
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from foundry_video import (
    ApiKeyAuth,
    APIStatusError,
    DownloadError,
    JobFailedError,
    JobTimeoutError,
    ManualClock,
    OutputFileError,
    Request,
    Response,
    UnexpectedResponseError,
    UnknownStatusError,
    VideoClient,
)
from foundry_video._output import PartFile, content_key
from foundry_video.testing import MockTransport

from ..fakes import ThreadedEmulator, fail_part_file_writes, video

KEY = "guard-KEY-0b7f6c2e9d5a4e31"
AZURE = "https://res.openai.azure.com"
CONTENT = b"".join(bytes([i % 251]) * 1000 for i in range(64))  # 64 KB, position-dependent


@pytest.fixture(autouse=True)
def no_hang() -> None:
    """This module's cases bound themselves in real time (no emulator clock to guard)."""


def client_for(handler: Callable[[Request], Any], *, clock: Any = None,
               key: str = KEY, **options: Any) -> VideoClient:
    return VideoClient(AZURE, auth=ApiKeyAuth(key), clock=clock or ManualClock(),
                       transport=MockTransport(handler), **options)


def requests_of(client: VideoClient) -> list[Request]:
    transport = client._transport()
    assert isinstance(transport, MockTransport)
    return transport.requests


def content_response(request: Request, data: bytes = CONTENT) -> Response:
    """A Range-aware content answer."""
    header = request.headers.get("Range")
    start = int(header.removeprefix("bytes=").split("-")[0]) if header else 0
    if start >= len(data) and start:
        return Response(416, json={"error": {"message": "range not satisfiable"}},
                        headers={"Content-Range": f"bytes */{len(data)}"})
    headers = {"Content-Type": "video/mp4"}
    if start:
        headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
    return Response(206 if start else 200, content=data[start:], headers=headers)


def service(status: Callable[[], dict[str, Any]] | None = None,
            content: Callable[[Request], Any] = content_response) -> Callable[[Request], Any]:
    """Status requests answer ``status()`` (a completed video by default), content ``content``."""
    def handler(request: Request) -> Any:
        if request.url.path.endswith("/content"):
            return content(request)
        if request.method == "POST":
            return Response(200, json=video("video_1"))
        return Response(200, json=(status or (lambda: video("video_1", "completed")))())

    return handler


def debris(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


# -- deadlines ------------------------------------------------------------------------------


async def test_the_job_deadline_covers_a_slow_content_response_start(tmp_path: Path) -> None:
    async def slow_headers(request: Request) -> Response:
        await asyncio.sleep(5)
        return content_response(request)

    client = client_for(service(content=slow_headers), clock=_system_clock())
    job = client.videos.job("video_1")
    started = time.monotonic()
    with pytest.raises(JobTimeoutError) as info:
        await job.result(tmp_path / "v.mp4", timeout=0.5)
    assert time.monotonic() - started < 2.0
    assert info.value.job_id == "video_1"
    assert list(tmp_path.iterdir()) == []


async def test_the_job_deadline_covers_a_stalled_status_request() -> None:
    async def stalled(request: Request) -> Response:
        await asyncio.sleep(5)
        return Response(200, json=video("video_1", "in_progress", 10))

    client = client_for(stalled, clock=_system_clock())
    started = time.monotonic()
    with pytest.raises(JobTimeoutError):
        await client.videos.job("video_1").wait(timeout=0.5)
    assert time.monotonic() - started < 2.0


def _system_clock() -> Any:
    from foundry_video import SystemClock

    return SystemClock()


# -- cancellation during thread hops ---------------------------------------------------------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("how", ["task.cancel", "wait_for"])
async def test_asyncio_cancellation_during_the_part_file_hop_leaks_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    original = PartFile.open

    def slow_open(target: Path, key: str) -> PartFile:
        time.sleep(0.2)  # the thread is mid-hop when the task is cancelled
        return original(target, key)

    monkeypatch.setattr(PartFile, "open", staticmethod(slow_open))
    client = client_for(service())
    fds = _open_fds()
    download = client.videos.download("video_1", tmp_path / "v.mp4")
    if how == "task.cancel":
        task = asyncio.ensure_future(download)
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(download, 0.05)
    await asyncio.sleep(0.4)  # the abandoned thread finishes; its file is removed
    assert list(tmp_path.iterdir()) == []
    assert _open_fds() == fds


async def test_cancellation_during_the_commit_hop_leaves_a_complete_file_or_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = PartFile.commit
    committing = threading.Event()

    def slow_commit(self: PartFile) -> None:
        committing.set()
        time.sleep(0.2)
        original(self)

    monkeypatch.setattr(PartFile, "commit", slow_commit)
    client = client_for(service())
    task = asyncio.ensure_future(client.videos.download("video_1", tmp_path / "v.mp4"))
    assert await asyncio.to_thread(committing.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.4)
    assert debris(tmp_path) == []
    assert (tmp_path / "v.mp4").read_bytes() == CONTENT  # the commit finished by itself


async def test_many_random_cancellations_leak_no_part_file(tmp_path: Path) -> None:
    async def slowly(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            for i in range(0, len(CONTENT), 8192):
                await asyncio.sleep(0.001)
                yield CONTENT[i:i + 8192]

        return Response(200, content=body(), headers={"Content-Length": str(len(CONTENT))})

    client = client_for(service(content=slowly))
    fds = _open_fds()
    for round_ in range(60):
        task = asyncio.ensure_future(client.videos.download("video_1", tmp_path / f"{round_}.mp4"))
        await asyncio.sleep((round_ % 12) * 0.002)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
    await asyncio.sleep(0.3)
    assert debris(tmp_path) == []
    assert _open_fds() == fds


# -- part files left by a killed process -----------------------------------------------------


def _part_path(target: Path) -> Path:
    key = content_key("/videos/video_1/content", {"variant": "video"})
    return target.parent / f".{target.name}.{key}.part"


async def test_a_part_file_left_by_a_killed_download_is_resumed(tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    _part_path(target).write_bytes(CONTENT[:40_000])  # what the killed process had written
    client = client_for(service())
    await client.videos.download("video_1", target)
    assert target.read_bytes() == CONTENT
    assert [r.headers.get("Range") for r in requests_of(client)] == ["bytes=40000-"]
    assert debris(tmp_path) == []


async def test_a_part_file_longer_than_the_content_starts_over(tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    _part_path(target).write_bytes(b"\0" * (len(CONTENT) + 10))
    client = client_for(service())
    await client.videos.download("video_1", target)
    assert target.read_bytes() == CONTENT
    assert [r.headers.get("Range") for r in requests_of(client)] == [
        f"bytes={len(CONTENT) + 10}-", None]


async def test_a_stale_part_with_a_wrong_prefix_is_replaced_when_range_is_ignored(
        tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    _part_path(target).write_bytes(b"garbage" * 100)

    def no_ranges(request: Request) -> Response:
        return Response(200, content=CONTENT, headers={"Content-Type": "video/mp4"})

    client = client_for(service(content=no_ranges))
    await client.videos.download("video_1", target)
    assert target.read_bytes() == CONTENT


async def test_abandoned_part_files_are_swept_but_live_ones_are_kept(tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    abandoned = tmp_path / ".v.mp4.0123456789abcdef.part"
    abandoned.write_bytes(b"old")
    live = tmp_path / ".v.mp4.fedcba9876543210.part"
    live.write_bytes(b"in use")
    recent = tmp_path / ".other.mp4.0123456789abcdef.part"
    recent.write_bytes(b"just created by a download that has not locked it yet")
    an_hour_ago = time.time() - 3600
    for path in (abandoned, live):
        os.utime(path, (an_hour_ago, an_hour_ago))
    holder = os.open(live, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another download is writing it
    try:
        await client_for(service()).videos.download("video_1", target)
        assert not abandoned.exists()
        assert live.exists() and recent.exists()
    finally:
        os.close(holder)


async def test_two_downloads_of_the_same_content_to_one_target_do_not_share_a_part_file(
        tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    client = client_for(service())
    await asyncio.gather(client.videos.download("video_1", target),
                         client.videos.download("video_1", target))
    assert target.read_bytes() == CONTENT
    assert debris(tmp_path) == []


async def test_a_download_finishing_first_does_not_sweep_the_part_file_of_another(
        tmp_path: Path) -> None:
    # The deterministic form of the race above: A holds the keyed part file, so B writes a
    # part file of its own; A finishes (and sweeps part files nobody holds) while B is
    # mid-body. B's part file is held, so it must survive and B must finish too.
    target = tmp_path / "v.mp4"
    started = [asyncio.Event(), asyncio.Event()]
    release = [asyncio.Event(), asyncio.Event()]
    served = 0

    def gated(request: Request) -> Response:
        nonlocal served
        index, served = served, served + 1

        async def body() -> AsyncIterator[bytes]:
            yield CONTENT[:1000]
            started[index].set()
            await release[index].wait()
            yield CONTENT[1000:]

        return Response(200, content=body(), headers={"Content-Length": str(len(CONTENT))})

    client = client_for(service(content=gated))
    first = asyncio.ensure_future(client.videos.download("video_1", target))
    await asyncio.wait_for(started[0].wait(), 5)
    second = asyncio.ensure_future(client.videos.download("video_1", target))
    await asyncio.wait_for(started[1].wait(), 5)
    assert len(debris(tmp_path)) == 2
    release[0].set()
    await asyncio.wait_for(first, 5)
    assert len(debris(tmp_path)) == 1  # B's part file, still being written
    release[1].set()
    await asyncio.wait_for(second, 5)
    assert target.read_bytes() == CONTENT
    assert debris(tmp_path) == []


# -- secrets --------------------------------------------------------------------------------


def assert_clean(error: BaseException, secret: str = KEY) -> None:
    """The secret appears nowhere in the error: text, args, attributes, chain, pickle."""
    texts = [str(error), repr(error), repr(error.args), repr(vars(error))]
    chained = error.__cause__ or error.__context__
    while chained is not None:
        texts += [str(chained), repr(chained)]
        chained = chained.__cause__ or chained.__context__
    for text in texts:
        assert secret not in text, text
    assert secret.encode() not in pickle.dumps(error)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and secret not in str(copy)


async def test_an_unexpected_response_echoing_the_key_is_redacted() -> None:
    def echo(request: Request) -> Response:
        return Response(200, json={"id": "video_1", "object": "video", "status": 7,
                                   "note": f"your key {KEY}"},
                        headers={"x-echo": KEY, "x-request-id": "req-1"})

    client = client_for(echo)
    with pytest.raises(UnexpectedResponseError) as info:
        await client.videos.retrieve("video_1")
    assert info.value.request_id == "req-1"
    assert_clean(info.value)


async def test_a_job_failure_quoting_the_key_is_redacted() -> None:
    failed = video("video_1", "failed", error={"code": f"bad_{KEY}",
                                                "message": f"key {KEY} was rejected"})
    client = client_for(service(status=lambda: failed))
    with pytest.raises(JobFailedError) as info:
        await client.videos.job("video_1")
    assert info.value.job_id == "video_1"
    assert_clean(info.value)
    assert info.value.job is None or KEY not in info.value.job.model_dump_json()


async def test_an_unknown_status_quoting_the_key_is_redacted() -> None:
    client = client_for(service(status=lambda: video("video_1", f"weird-{KEY}")))
    with pytest.raises(UnknownStatusError) as info:
        await client.videos.job("video_1")
    assert_clean(info.value)


async def test_a_content_range_quoting_the_key_is_redacted(tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    _part_path(target).write_bytes(CONTENT[:1000])

    def lying(request: Request) -> Response:
        return Response(206, content=CONTENT[1000:], headers={"Content-Range": f"bytes {KEY}"})

    with pytest.raises(DownloadError) as info:
        await client_for(service(content=lying)).videos.download("video_1", target)
    assert_clean(info.value)


async def test_a_short_key_is_redacted_as_a_token_but_words_are_left_alone() -> None:
    def echo(request: Request) -> Response:
        return Response(400, json={"error": {"message": "video_latest_test: key test rejected "
                                                        "(contest 'test')"}})

    client = client_for(echo, key="test")
    with pytest.raises(APIStatusError) as info:
        await client.videos.retrieve("video_latest_test")
    assert info.value.message == ("video_latest_test: key <redacted> rejected "
                                  "(contest '<redacted>')")


# -- untyped failures -----------------------------------------------------------------------


@pytest.mark.parametrize("depth", [500, 980, 5000])
async def test_an_error_body_nested_very_deep_is_a_typed_error(depth: int) -> None:
    body = '{"error": ' + "[" * depth + '"x"' + "]" * depth + "}"

    def deep(request: Request) -> Response:
        return Response(400, content=body.encode(), headers={"Content-Type": "application/json"})

    with pytest.raises(APIStatusError) as info:
        await client_for(deep).videos.retrieve("video_1")
    pickle.loads(pickle.dumps(info.value))
    repr(info.value.body)


@pytest.mark.parametrize("bad_id", [".", ".."])
async def test_dot_ids_are_refused_before_anything_is_sent(bad_id: str, tmp_path: Path) -> None:
    client = client_for(service())
    for call in (lambda: client.videos.retrieve(bad_id), lambda: client.videos.delete(bad_id),
                 lambda: client.videos.download(bad_id, tmp_path / "x.mp4"),
                 lambda: client.videos.remix(bad_id, prompt="again"),
                 lambda: client.generation_jobs.retrieve(bad_id),
                 lambda: client.generation_jobs.delete(bad_id)):
        with pytest.raises(ValueError, match="not a valid id"):
            await call()
    with pytest.raises(ValueError):
        client.videos.job(bad_id)
    assert requests_of(client) == []


async def test_a_directory_target_fails_before_polling(tmp_path: Path) -> None:
    client = client_for(service(status=lambda: video("video_1", "in_progress", 5)))
    with pytest.raises(OutputFileError) as info:
        await client.videos.job("video_1").result(tmp_path)
    assert (info.value.errno, info.value.job_id) == (errno.EISDIR, "video_1")
    assert requests_of(client) == []


async def test_a_file_in_the_way_of_the_parent_fails_before_polling(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("x")
    client = client_for(service())
    with pytest.raises(OutputFileError) as info:
        await client.videos.job("video_1").result(tmp_path / "not-a-dir" / "v.mp4")
    assert info.value.errno == errno.ENOTDIR
    assert requests_of(client) == []


async def test_a_full_volume_fails_before_polling(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.statvfs

    class Full:
        def __init__(self, path: Any) -> None:
            stats = real(path)
            self.f_flag, self.f_frsize, self.f_bavail = stats.f_flag, stats.f_frsize, 0

    monkeypatch.setattr(os, "statvfs", Full)
    client = client_for(service())
    with pytest.raises(OutputFileError) as info:
        await client.videos.job("video_1").result(tmp_path / "v.mp4")
    assert info.value.errno == errno.ENOSPC and requests_of(client) == []


async def test_a_disk_that_fills_mid_download_is_a_typed_error_with_the_job_id(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written = 0

    def filling_up(handle: Any, data: bytes) -> int:
        nonlocal written
        written += len(data)
        if written > 20_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(handle.write(data))

    fail_part_file_writes(monkeypatch, filling_up)
    client = client_for(service())
    with pytest.raises(OutputFileError) as info:
        await client.videos.job("video_1").result(tmp_path / "v.mp4")
    assert (info.value.errno, info.value.job_id) == (errno.ENOSPC, "video_1")
    assert isinstance(info.value, OSError)
    assert list(tmp_path.iterdir()) == []
    contents = [r for r in requests_of(client) if r.url.path.endswith("/content")]
    assert len(contents) == 1  # a full disk is not retried over the network


# -- one client, several event loops ---------------------------------------------------------


def test_a_client_is_usable_in_a_second_asyncio_run() -> None:
    with ThreadedEmulator(api_keys={KEY}, job_seconds=0.2, queue_seconds=0.0) as emu:
        client = VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            job = asyncio.run(client.videos.create(prompt="a cat"))
            again = asyncio.run(client.videos.retrieve(job.id))
            asyncio.run(client.close())
            gc.collect()
        assert again.id == job.id
        assert not [w for w in caught if "Unclosed" in str(w.message)]


def test_closing_before_first_use_opens_nothing_and_stays_closed() -> None:
    client = VideoClient(AZURE, auth=ApiKeyAuth(KEY))
    asyncio.run(client.close())
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(client.videos.retrieve("video_1"))
