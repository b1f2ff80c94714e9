"""Downloads verify what they are given: ranges, lengths, encodings, sizes, and the file.

Each test scripts the content responses exactly (MockTransport). The mutation run found
these checks unasserted: a 206 starting at the wrong offset, a body short of its length,
ranges that do not add up, a content that changed size, the fsync and the file mode.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import itertools
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from foundry_video import (
    APITimeoutError,
    AsyncByteStream,
    ContentExpiredError,
    DownloadError,
    ManualClock,
    OutputFileError,
    Request,
    Response,
    SystemClock,
    VideoClient,
)
from foundry_video._output import PartFile, content_key
from foundry_video.testing import MockTransport

from .conftest import AZURE, SECRET
from .fakes import fail_part_file_writes

CONTENT = bytes(range(256)) * 80  # 20 480 bytes, position-dependent
TOTAL = len(CONTENT)
Handler = Callable[[Request], Any]


def client_for(handler: Handler, clock: Any = None, **options: Any) -> VideoClient:
    from foundry_video import ApiKeyAuth

    return VideoClient(AZURE, auth=ApiKeyAuth(SECRET), clock=clock or ManualClock(),
                       transport=MockTransport(handler), **options)


def requests_of(client: VideoClient) -> list[Request]:
    transport = client._transport()
    assert isinstance(transport, MockTransport)
    return transport.requests


def in_turn(*handlers: Handler) -> Handler:
    """Answer with each handler in turn (the last one repeats)."""
    queue = list(handlers)

    def handle(request: Request) -> Any:
        return (queue.pop(0) if len(queue) > 1 else queue[0])(request)

    return handle


def cut_after(n: int, **headers: str) -> Handler:
    """A 200 announcing the whole content that stops after ``n`` bytes."""
    return lambda r: Response(200, content=[CONTENT[:n]],
                              headers={"Content-Length": str(TOTAL), **headers})


def ranged(content_range: str | None, body: bytes, **headers: str) -> Handler:
    """A 206 with ``content_range`` (``None``: no such header), streamed without a
    Content-Length unless ``headers`` has one: only the Content-Range describes it."""
    more = {} if content_range is None else {"Content-Range": content_range}
    return lambda r: Response(206, content=[body], headers={**more, **headers})


def rest_of(request: Request) -> Response:
    """A correct 206 for the request's Range."""
    start = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
    return Response(206, content=CONTENT[start:],
                    headers={"Content-Range": f"bytes {start}-{TOTAL - 1}/{TOTAL}"})


async def download(client: VideoClient, target: Path, **options: Any) -> Path:
    return await client.videos.download("video_1", target, **options)


# -- ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize("content_range", [
    f"bytes 5-{TOTAL - 1}/{TOTAL}",        # starts before the byte asked for
    f"bytes 12000-{TOTAL - 1}/{TOTAL}",    # starts after it
    "bytes 10000-9000/20480",              # ends before it starts
    f"bytes 10000-{TOTAL}/{TOTAL}",        # ends past the total
    f"bytes 10000-{TOTAL + 99}/{TOTAL}",
    "bytes 10000-20479",                   # no total
    "items 10000-20479/20480",
    "",
    None,
])
async def test_a_206_that_is_not_the_range_asked_for_is_refused(
        tmp_path: Path, content_range: str | None) -> None:
    # Once: nothing received can be trusted, so the download starts over without Range.
    whole = lambda r: Response(200, content=CONTENT)  # noqa: E731
    client = client_for(in_turn(cut_after(10_000), ranged(content_range, CONTENT[10_000:]),
                                whole))
    assert (await download(client, tmp_path / "v.mp4")).read_bytes() == CONTENT
    assert [r.headers.get("Range") for r in requests_of(client)] == [None, "bytes=10000-", None]
    # Every time: a typed error quoting what the server said, and nothing left on disk.
    liar = client_for(in_turn(cut_after(10_000), ranged(content_range, CONTENT[10_000:])),
                      download_resumes=1)
    with pytest.raises(DownloadError) as info:
        await download(liar, tmp_path / "w.mp4")
    assert str(info.value) == (f"download failed after 2 attempts (1 resumes): the server "
                               f"answered Range 10000- with Content-Range "
                               f"{content_range or ''!r}")
    assert requests_of(liar)[1].headers["Range"] == "bytes=10000-"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


async def test_a_206_whose_length_disagrees_with_its_range_is_refused(tmp_path: Path) -> None:
    client = client_for(in_turn(cut_after(10_000), ranged(
        f"bytes 10000-{TOTAL - 1}/{TOTAL}", CONTENT[10_000:], **{"Content-Length": "99"})),
        download_resumes=1)
    with pytest.raises(DownloadError, match="answered Range 10000-"):
        await download(client, tmp_path / "v.mp4")


async def test_the_quoted_content_range_is_bounded(tmp_path: Path) -> None:
    long = "bytes " + "9" * 200
    client = client_for(in_turn(cut_after(10_000), ranged(long, b"x")), download_resumes=1)
    with pytest.raises(DownloadError) as info:
        await download(client, tmp_path / "v.mp4")
    assert str(info.value) == ("download failed after 2 attempts (1 resumes): the server "
                               f"answered Range 10000- with Content-Range {long[:80]!r}")


@pytest.mark.parametrize("content_range", [f"bytes 10000-{TOTAL - 1}/{TOTAL}",
                                           f"bytes 10000-{TOTAL - 1}/*"])
async def test_a_resume_with_a_known_or_unknown_total_completes(
        tmp_path: Path, content_range: str) -> None:
    client = client_for(in_turn(cut_after(10_000), ranged(content_range, CONTENT[10_000:])))
    saved = await download(client, tmp_path / "v.mp4")
    assert saved.read_bytes() == CONTENT


async def test_the_last_single_byte_is_resumed(tmp_path: Path) -> None:
    client = client_for(in_turn(cut_after(TOTAL - 1),
                                ranged(f"bytes {TOTAL - 1}-{TOTAL - 1}/{TOTAL}", CONTENT[-1:])))
    assert (await download(client, tmp_path / "v.mp4")).read_bytes() == CONTENT


async def test_content_that_changes_size_mid_download_is_refused(tmp_path: Path) -> None:
    client = client_for(in_turn(cut_after(10_000), ranged(
        f"bytes 10000-{TOTAL + 99}/{TOTAL + 100}", CONTENT[10_000:] + b"x" * 100)),
        download_resumes=1)
    with pytest.raises(DownloadError) as info:
        await download(client, tmp_path / "v.mp4")
    assert str(info.value) == ("download failed after 2 attempts (1 resumes): the content "
                               f"changed size mid-download ({TOTAL} -> {TOTAL + 100})")


def _leave_part_file(target: Path, data: bytes) -> None:
    key = content_key("/videos/video_1/content", {"variant": "video"})
    (target.parent / f".{target.name}.{key}.part").write_bytes(data)


async def test_a_resumed_part_file_takes_the_total_from_the_content_range(tmp_path: Path) -> None:
    # A killed download left 10 000 bytes; the 206 announces the total only in its
    # Content-Range, and its body (no Content-Length) stops short: resumed again.
    target = tmp_path / "v.mp4"
    _leave_part_file(target, CONTENT[:10_000])

    def short(request: Request) -> Response:
        return Response(206, content=[CONTENT[10_000:15_000]],
                        headers={"Content-Range": f"bytes 10000-{TOTAL - 1}/{TOTAL}"})

    client = client_for(in_turn(short, rest_of))
    assert (await download(client, target)).read_bytes() == CONTENT
    assert [r.headers["Range"] for r in requests_of(client)] == ["bytes=10000-",
                                                                 "bytes=15000-"]


async def test_if_range_falls_back_to_last_modified(tmp_path: Path) -> None:
    stamp = "Wed, 21 Oct 2026 07:28:00 GMT"
    client = client_for(in_turn(cut_after(10_000, **{"Last-Modified": stamp}), rest_of))
    await download(client, tmp_path / "v.mp4")
    assert requests_of(client)[1].headers["If-Range"] == stamp


# -- lengths -----------------------------------------------------------------------------


async def test_a_body_always_short_of_its_length_is_never_saved(tmp_path: Path) -> None:
    client = client_for(cut_after(2_000), download_resumes=2)
    target = tmp_path / "v.mp4"
    with pytest.raises(DownloadError) as info:
        await download(client, target)
    assert str(info.value) == (
        f"download failed after 3 attempts (2 resumes): received 2000 of {TOTAL} bytes")
    assert len(requests_of(client)) == 3 and list(tmp_path.iterdir()) == []


async def test_an_18_digit_length_is_still_a_length(tmp_path: Path) -> None:
    huge = "1" + "0" * 17
    client = client_for(lambda r: Response(200, content=[b"x" * 10],
                                           headers={"Content-Length": huge}),
                        download_resumes=0)
    with pytest.raises(DownloadError, match=f"received 10 of {huge} bytes"):
        await download(client, tmp_path / "v.mp4")


@pytest.mark.parametrize("size", [999, 1000])
async def test_content_up_to_max_download_bytes_is_saved(tmp_path: Path, size: int) -> None:
    client = client_for(lambda r: Response(200, content=b"x" * size), max_download_bytes=1000)
    assert (await download(client, tmp_path / "v.mp4")).stat().st_size == size


async def test_an_announced_size_over_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    read: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        read.append(1)
        yield b"x" * 1001

    client = client_for(lambda r: Response(200, content=body(),
                                           headers={"Content-Length": "1001"}),
                        max_download_bytes=1000)
    with pytest.raises(DownloadError) as info:
        await download(client, tmp_path / "v.mp4")
    assert str(info.value) == "the content is 1001 bytes, over max_download_bytes=1000"
    assert read == []


# -- what the content is -----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["", "identity", " Identity "])
async def test_identity_encoding_in_any_spelling_is_accepted(tmp_path: Path,
                                                             encoding: str) -> None:
    client = client_for(lambda r: Response(200, content=CONTENT,
                                           headers={"Content-Encoding": encoding}))
    assert (await download(client, tmp_path / "v.mp4")).read_bytes() == CONTENT


async def test_a_compressed_body_is_refused_with_the_encoding_named(tmp_path: Path) -> None:
    encoding = "br" * 30
    client = client_for(lambda r: Response(200, content=CONTENT,
                                           headers={"Content-Encoding": encoding}))
    with pytest.raises(DownloadError) as info:
        await download(client, tmp_path / "v.mp4")
    assert str(info.value) == (f"the server sent the content with Content-Encoding "
                               f"{encoding[:40]!r} although identity was requested")


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8; q=1", "Application/JSON",
                                          "application/problem+json; charset=utf-8"])
async def test_an_error_page_with_a_2xx_is_refused(tmp_path: Path, content_type: str) -> None:
    client = client_for(lambda r: Response(200, text="<html>sign in</html>",
                                           headers={"Content-Type": content_type}))
    with pytest.raises(DownloadError) as info:
        await download(client, tmp_path / "v.mp4")
    kind = content_type.split(";")[0].lower()
    assert str(info.value) == f"the server answered 200 with {kind}, not the content"


async def test_an_expired_asset_is_a_content_expired_error_with_the_id(tmp_path: Path) -> None:
    for status in (404, 410):
        client = client_for(lambda r, s=status: Response(  # type: ignore[misc]
            s, json={"error": {"code": "video_expired", "message": "gone"}}))
        with pytest.raises(ContentExpiredError) as info:
            await download(client, tmp_path / "v.mp4")
        assert info.value.job_id == "video_1"
        assert str(info.value) == "the content has expired: gone"


# -- options and deadline ----------------------------------------------------------------


async def test_download_options_reach_the_wire_and_its_timeout_bounds_it(tmp_path: Path) -> None:
    client = client_for(lambda r: Response(200, content=CONTENT))
    await download(client, tmp_path / "v.mp4", extra_headers={"X-Trace": "1"},
                   extra_query={"sig": "abc"})
    sent = requests_of(client)[0]
    assert sent.headers["X-Trace"] == "1" and sent.url.query["sig"] == "abc"

    async def stalled(request: Request) -> Response:
        await asyncio.sleep(3600)
        raise AssertionError

    slow = client_for(stalled, clock=SystemClock(), timeout=600)
    with pytest.raises(APITimeoutError) as info:
        await asyncio.wait_for(download(slow, tmp_path / "w.mp4", timeout=0.2), 5)
    assert str(info.value) == "the download did not finish within 0.2s"
    assert info.value.job_id == "video_1"  # type: ignore[attr-defined]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


# -- the file ------------------------------------------------------------------------------


async def test_a_saved_file_is_synced_before_its_rename_and_gets_the_usual_mode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, int | str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        events.append(("fsync dir" if stat.S_ISDIR(info.st_mode) else "fsync file", info.st_ino))
        real_fsync(fd)

    def replace(source: Any, destination: Any) -> None:
        events.append(("replace", str(destination)))
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "v.mp4"
    await download(client_for(lambda r: Response(200, content=CONTENT)), target)
    inode, directory = target.stat().st_ino, tmp_path.stat().st_ino
    assert events == [("fsync file", inode), ("replace", str(target)), ("fsync dir", directory)]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # not the part file's 0600


async def test_a_local_write_failure_names_the_file_and_the_video(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(handle: Any, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    fail_part_file_writes(monkeypatch, full)
    target = tmp_path / "v.mp4"
    with pytest.raises(OutputFileError) as info:
        await download(client_for(lambda r: Response(200, content=CONTENT)), target)
    error = info.value
    assert (error.job_id, error.path, error.errno) == ("video_1", str(target), errno.ENOSPC)
    assert str(error) == f"could not save {target}: No space left on device"
    assert list(tmp_path.iterdir()) == []


async def test_a_large_download_is_saved_intact(tmp_path: Path) -> None:
    # Past 8 MiB blocks are reserved up front; past 32 MiB written data is handed to the
    # kernel as it arrives. Neither may change a byte of the file or its size.
    data = os.urandom(1 << 20) * 34 + b"tail"
    client = client_for(lambda r: Response(200, content=[data[i:i + (4 << 20)]
                                                         for i in range(0, len(data), 4 << 20)],
                                           headers={"Content-Length": str(len(data))}))
    target = await download(client, tmp_path / "v.mp4")
    assert target.stat().st_size == len(data)
    assert target.read_bytes() == data


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here")
async def test_a_large_download_hands_written_ranges_to_the_kernel_as_it_goes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every 32 MiB each written range is flushed and then advised DONTNEED (writeback starts
    # now, and the page cache does not fill with a video nobody reads), range after range.
    advised: list[tuple[int, int, int]] = []
    real_advise = os.posix_fadvise

    def spy(fd: int, offset: int, length: int, advice: int) -> None:
        advised.append((offset, length, advice))
        assert os.fstat(fd).st_size >= offset + length  # flushed before advising
        real_advise(fd, offset, length, advice)

    import foundry_video._download as download_module

    monkeypatch.setattr(os, "posix_fadvise", spy)
    monkeypatch.setattr(download_module, "WRITEBACK_EVERY", 1 << 20)  # 32 MiB in production
    data = bytes(6 << 20)  # in small pieces, which the file object buffers
    client = client_for(lambda r: Response(200, content=[data[i:i + 4096]
                                                         for i in range(0, len(data), 4096)],
                                           headers={"Content-Length": str(len(data))}))
    await download(client, tmp_path / "v.mp4")
    assert advised and {advice for _, _, advice in advised} == {os.POSIX_FADV_DONTNEED}
    assert advised[0][0] == 0 and len(advised) >= 5
    for (offset, length, _), (following, _, _) in itertools.pairwise(advised):
        assert length > 0 and offset + length == following  # contiguous, nothing skipped
    assert advised[-1][0] + advised[-1][1] <= len(data)


# -- the target, checked before anything is sent ------------------------------------------


def _job_client() -> VideoClient:
    def handler(request: Request) -> Response:
        if request.url.path.endswith("/content"):
            return Response(200, content=CONTENT)
        return Response(200, json={"id": "video_1", "object": "video", "status": "completed",
                                   "model": "sora-2", "progress": 100})

    return client_for(handler)


class _Volume:
    """``os.statvfs`` of a volume with ``free`` bytes and the given flags."""

    def __init__(self, free: int, flags: int = 0) -> None:
        self.free, self.flags = free, flags

    def __call__(self, path: Any) -> Any:
        volume = self

        class Stats:
            f_flag, f_frsize, f_bavail = volume.flags, 1024, volume.free // 1024

        return Stats()


@pytest.mark.parametrize("case", ["directory", "file in the way", "read-only", "no permission",
                                  "full"])
async def test_an_unwritable_target_is_explained_before_any_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    target = tmp_path / "v.mp4"
    if case == "directory":
        target.mkdir()
        message = f"{target} is a directory; give a file path such as {target / 'out.mp4'}"
        code = errno.EISDIR
    elif case == "file in the way":
        (tmp_path / "file").write_bytes(b"")
        target = tmp_path / "file" / "sub" / "v.mp4"
        message = f"cannot create {target.parent}: {tmp_path / 'file'} is a file, not a directory"
        code = errno.ENOTDIR
    elif case == "read-only":
        monkeypatch.setattr(os, "statvfs", _Volume(1 << 30, flags=os.ST_RDONLY))
        message = f"cannot write {target}: {tmp_path} is on a read-only volume"
        code = errno.EROFS
    elif case == "no permission":  # (the suite may run as root: the probe file is refused)
        def refused(*args: Any, **kwargs: Any) -> Any:
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr("foundry_video._output.tempfile.mkstemp", refused)
        message = f"cannot write {target}: Permission denied in {tmp_path}"
        code = errno.EACCES
    else:
        monkeypatch.setattr(os, "statvfs", _Volume((1 << 20) - 1024))
        message = f"cannot write {target}: the volume of {tmp_path} is full"
        code = errno.ENOSPC
    client = _job_client()
    with pytest.raises(OutputFileError) as info:
        await client.videos.job("video_1").result(target)
    error = info.value
    assert (str(error), error.errno, error.path, error.job_id) == (
        message, code, str(target), "video_1")
    assert requests_of(client) == []


@pytest.mark.parametrize("volume", ["exactly 1 MiB free", "no statvfs"])
async def test_a_volume_with_a_mebibyte_free_or_unknown_space_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, volume: str) -> None:
    if volume == "no statvfs":
        def unsupported(path: Any) -> Any:
            raise OSError(errno.ENOSYS, "not supported")

        monkeypatch.setattr(os, "statvfs", unsupported)
    else:
        monkeypatch.setattr(os, "statvfs", _Volume(1 << 20))
    saved = await _job_client().videos.job("video_1").result(tmp_path / "v.mp4")
    assert saved.read_bytes() == CONTENT


async def test_another_variant_does_not_resume_from_a_videos_part_file(tmp_path: Path) -> None:
    target = tmp_path / "v.out"
    _leave_part_file(target, CONTENT[:10_000])  # left by a killed download of the video
    client = client_for(lambda r: Response(200, content=b"thumbnail"))
    await client.videos.download("video_1", target, variant="thumbnail")
    assert target.read_bytes() == b"thumbnail"
    assert "Range" not in requests_of(client)[0].headers


async def test_a_part_file_that_fails_to_open_after_its_caller_left_leaves_no_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import time

    def slow_failure(target: Path, key: str) -> PartFile:
        time.sleep(0.2)
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(PartFile, "open", staticmethod(slow_failure))
    client = client_for(lambda r: Response(200, content=CONTENT))
    task = asyncio.ensure_future(download(client, tmp_path / "v.mp4"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.4)  # the thread fails after its caller left
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert list(tmp_path.iterdir()) == []


async def test_a_part_file_removed_by_someone_else_does_not_hide_the_failure(
        tmp_path: Path) -> None:
    def vanishing(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield CONTENT[:1000]
            for part in tmp_path.glob(".*.part"):
                part.unlink()  # a cleanup job removed it mid-download
            raise ConnectionResetError("reset")

        return Response(200, content=body(), headers={"Content-Length": str(TOTAL)})

    client = client_for(vanishing, download_resumes=0)
    with pytest.raises(DownloadError, match="download failed after 1 attempts"):
        await download(client, tmp_path / "v.mp4")
    assert list(tmp_path.iterdir()) == []


async def test_the_sweep_goes_past_part_files_it_cannot_open(tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    an_hour_ago = time.time() - 3600
    for n in range(10):
        (tmp_path / f".v.mp4.dangling{n}.part").symlink_to(tmp_path / f"gone{n}")
        abandoned = tmp_path / f".v.mp4.abandoned{n}.part"
        abandoned.write_bytes(b"old")
        os.utime(abandoned, (an_hour_ago, an_hour_ago))
    await download(client_for(lambda r: Response(200, content=CONTENT)), target)
    left = sorted(p.name for p in tmp_path.iterdir() if not p.is_symlink())
    assert left == ["v.mp4"]  # every abandoned part file went, whatever the order


async def test_a_local_failure_without_an_errno_keeps_its_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def gone(handle: Any, data: bytes) -> int:
        raise OSError("the device went away")

    fail_part_file_writes(monkeypatch, gone)
    target = tmp_path / "v.mp4"
    with pytest.raises(OutputFileError) as info:
        await download(client_for(lambda r: Response(200, content=CONTENT)), target)
    assert str(info.value) == f"could not save {target}: the device went away"
    assert info.value.errno is None


async def test_a_resumed_download_says_where_it_resumed_from(tmp_path: Path) -> None:
    from foundry_video import DownloadStarted

    target = tmp_path / "v.mp4"
    _leave_part_file(target, CONTENT[:10_000])

    def handler(request: Request) -> Response:
        if request.url.path.endswith("/content"):
            return rest_of(request)
        return Response(200, json={"id": "video_1", "object": "video", "status": "completed",
                                   "model": "sora-2", "progress": 100})

    events: list[object] = []
    await client_for(handler).videos.job("video_1").result(target, on_progress=events.append)
    started = [e for e in events if isinstance(e, DownloadStarted)]
    assert started == [DownloadStarted("video_1", "video", target, TOTAL, 10_000)]
    assert target.read_bytes() == CONTENT


# -- more from the mutation run --------------------------------------------------------------


async def test_progress_is_reported_per_chunk_with_the_attempts_details(tmp_path: Path) -> None:
    from foundry_video import DownloadProgress, DownloadStarted

    mib = 1 << 20
    data = os.urandom(mib) * 12  # three 4 MiB chunks: a report at each chunk boundary

    def handler(request: Request) -> Response:
        if request.url.path.endswith("/content"):
            return Response(200, content=[data[i:i + 4 * mib] for i in range(0, len(data),
                                                                             4 * mib)],
                            headers={"Content-Length": str(len(data))})
        return Response(200, json={"id": "video_1", "object": "video", "status": "completed",
                                   "model": "sora-2", "progress": 100})

    events: list[object] = []
    target = tmp_path / "v.mp4"
    await client_for(handler).videos.job("video_1").result(target, on_progress=events.append)
    downloads = [e for e in events if isinstance(e, (DownloadStarted, DownloadProgress))]
    total = len(data)
    assert downloads == [DownloadStarted("video_1", "video", target, total, 0),
                         *(DownloadProgress("video_1", "video", n * 4 * mib, total)
                           for n in (1, 2, 3)),
                         DownloadProgress("video_1", "video", total, total)]


async def test_an_empty_content_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as info:
        await download(client_for(lambda r: Response(200, content=b"")), tmp_path / "v.mp4")
    assert str(info.value) == "the service returned no content to download"


async def test_a_download_that_never_connects_reports_the_network_failure(
        tmp_path: Path) -> None:
    events: list[Any] = []

    def reset(request: Request) -> Response:
        raise ConnectionResetError("reset by peer")

    client = client_for(reset, download_resumes=2, event_hooks={"retry": [events.append]})
    with pytest.raises(DownloadError) as info:
        await download(client, tmp_path / "v.mp4")
    assert str(info.value) == ("download failed after 3 attempts (2 resumes): Connection error: "
                               "ConnectionResetError: reset by peer")
    assert info.value.request_id is None  # no response, so no request id


async def test_a_resume_tells_the_hooks_the_request_id_of_the_attempt_cut(tmp_path: Path) -> None:
    events: list[Any] = []
    client = client_for(in_turn(cut_after(1000, **{"x-request-id": "r-cut"}), rest_of),
                        event_hooks={"retry": [events.append]})
    await download(client, tmp_path / "v.mp4")
    (event,) = events
    assert (event.cause, event.error.request_id) == ("resume", "r-cut")


async def test_the_back_off_between_resumes_is_bounded_by_the_deadline(tmp_path: Path) -> None:
    clock = ManualClock()
    client = client_for(cut_after(1000), clock=clock, download_resumes=5)
    with pytest.raises(APITimeoutError):
        await download(client, tmp_path / "v.mp4", timeout=0.001)
    assert sum(clock.sleeps) <= 0.001 + 1e-9
    assert list(tmp_path.iterdir()) == []


async def test_a_parent_that_cannot_be_created_is_a_typed_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    target = tmp_path / "file" / "sub" / "v.mp4"
    with pytest.raises(OutputFileError) as info:
        await download(client_for(lambda r: Response(200, content=CONTENT)), target)
    error = info.value
    assert (error.path, error.job_id, error.errno) == (str(target), "video_1", errno.ENOTDIR)
    assert str(error) == f"could not save {target}: Not a directory"


async def test_a_failed_commit_is_a_typed_error_and_leaves_no_part_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def cross_device(source: Any, destination: Any) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "replace", cross_device)
    target = tmp_path / "v.mp4"
    with pytest.raises(OutputFileError) as info:
        await download(client_for(lambda r: Response(200, content=CONTENT)), target)
    error = info.value
    assert (error.path, error.job_id, error.errno) == (str(target), "video_1", errno.EXDEV)
    assert str(error) == f"could not save {target}: Invalid cross-device link"
    assert list(tmp_path.iterdir()) == []


async def test_part_files_are_hidden_private_and_named_after_their_target(
        tmp_path: Path) -> None:
    target = tmp_path / "v.mp4"
    started = [asyncio.Event(), asyncio.Event()]
    release = asyncio.Event()
    served = 0

    def gated(request: Request) -> Response:
        nonlocal served
        index, served = served, served + 1

        async def body() -> AsyncIterator[bytes]:
            yield CONTENT[:1000]
            started[index].set()
            await release.wait()
            yield CONTENT[1000:]

        return Response(200, content=body(), headers={"Content-Length": str(TOTAL)})

    client = client_for(gated)
    downloads = [asyncio.ensure_future(download(client, target))]
    await asyncio.wait_for(started[0].wait(), 5)
    downloads.append(asyncio.ensure_future(download(client, target)))  # the fallback name
    await asyncio.wait_for(started[1].wait(), 5)
    parts = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    assert len(parts) == 2
    for part in parts:
        assert part.name.startswith(".v.mp4.")
        assert stat.S_IMODE(part.stat().st_mode) == 0o600
    release.set()
    await asyncio.wait_for(asyncio.gather(*downloads), 5)
    assert target.read_bytes() == CONTENT


async def test_a_target_name_too_long_for_a_keyed_part_file_uses_a_shorter_one(
        tmp_path: Path) -> None:
    target = tmp_path / ("v" * 231 + ".mp4")  # 235 chars: ".NAME.<key>.part" would be 258
    saved = await download(client_for(lambda r: Response(200, content=CONTENT)), target)
    assert saved.read_bytes() == CONTENT


@pytest.mark.parametrize("kind", ["keyed", "fallback"])
async def test_a_part_file_swept_between_its_open_and_its_lock_is_replaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    import fcntl

    target = tmp_path / "v.mp4"
    holder = None
    if kind == "fallback":  # another download holds the keyed part file
        key = content_key("/videos/video_1/content", {"variant": "video"})
        holder = os.open(tmp_path / f".v.mp4.{key}.part", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    real_flock, swept = fcntl.flock, []

    def sweep_first(fd: int, operation: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        if not swept and path.endswith(".part") and fd != holder:
            swept.append(path)
            os.unlink(path)  # another download's sweep got there first
        real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", sweep_first)
    fds = len(os.listdir("/proc/self/fd"))
    try:
        saved = await download(client_for(lambda r: Response(200, content=CONTENT)), target)
    finally:
        if holder is not None:
            os.close(holder)
    assert saved.read_bytes() == CONTENT and swept
    assert len(os.listdir("/proc/self/fd")) == fds - (holder is not None)


async def test_a_busy_default_executor_does_not_hold_up_the_file_steps(tmp_path: Path) -> None:
    # Applications fill the loop's default executor with their own blocking work; the part
    # file steps have threads of their own, so a download still finishes meanwhile.
    loop = asyncio.get_running_loop()
    busy = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(busy)
    release = threading.Event()
    blocked = loop.run_in_executor(None, release.wait)
    try:
        client = client_for(lambda r: Response(200, content=CONTENT))
        saved = await asyncio.wait_for(download(client, tmp_path / "v.mp4"), 5)
        assert saved.read_bytes() == CONTENT
    finally:
        release.set()
        await blocked
        busy.shutdown()


@pytest.mark.skipif(sys.platform != "linux", reason="fallocate(FALLOC_FL_KEEP_SIZE) is Linux's")
async def test_a_large_download_reserves_its_blocks_but_keeps_the_received_size(
        tmp_path: Path) -> None:
    # One extent reserved up front (no fragmentation, an early ENOSPC), while the part
    # file's size still says how many bytes arrived (what a resume starts from).
    size, first = 9 << 20, 1 << 20
    started, release = asyncio.Event(), asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield bytes(first)
        started.set()
        await release.wait()
        yield bytes(size - first)

    client = client_for(lambda r: Response(200, headers={"Content-Length": str(size)},
                                           stream=AsyncByteStream(body())))
    task = asyncio.ensure_future(download(client, tmp_path / "v.mp4"))
    await asyncio.wait_for(started.wait(), 5)
    for _ in range(500):  # until the first chunk is on disk (written from a worker thread)
        parts = list(tmp_path.glob(".v.mp4.*.part"))
        if parts and (info := parts[0].stat()).st_size == first:
            break
        await asyncio.sleep(0.01)
    release.set()
    assert (await task).stat().st_size == size
    assert info.st_size == first
    assert info.st_blocks * 512 >= size


def _download_in_new_loop(target: Path) -> None:
    client = client_for(lambda r: Response(200, content=CONTENT))
    asyncio.run(download(client, target))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_a_forked_child_can_still_download(tmp_path: Path) -> None:
    # The parent's file-step threads do not survive a fork (multiprocessing's "fork",
    # gunicorn --preload, forked workers), though its pool still counts them as idle: the
    # child must get threads of its own instead of queueing work nobody will run.
    _download_in_new_loop(tmp_path / "parent.mp4")
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if its download completes within 10 s
        code = 1
        try:
            signal.alarm(10)
            _download_in_new_loop(tmp_path / "child.mp4")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert (tmp_path / "child.mp4").read_bytes() == CONTENT


def test_the_sweep_removes_only_abandoned_part_files(tmp_path: Path) -> None:
    # Hidden ``.part`` files nobody holds and nobody touched for a minute go; a fresh one,
    # and files that are not ours (not hidden, or not ``.part``), stay, however old.
    old = time.time() - 3600
    stale = [tmp_path / f".v{i}.mp4.{i}abc.part" for i in range(3)]
    kept = [tmp_path / ".fresh.mp4.abc.part", tmp_path / "notes.part", tmp_path / ".hidden",
            tmp_path / "clip.mp4"]
    for path in stale + kept:
        path.write_bytes(b"x")
        if path.name != ".fresh.mp4.abc.part":
            os.utime(path, (old, old))
    client = client_for(lambda r: Response(200, content=CONTENT))
    asyncio.run(download(client, tmp_path / "v.mp4"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in kept] + ["v.mp4"])
