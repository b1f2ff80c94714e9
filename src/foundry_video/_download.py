"""Streaming downloads that are atomic, verified and resumable.

Bytes go to a hidden temporary file beside the target; when the length checks out the
file is fsynced and renamed over the target in one step, so the target name only ever
holds a complete file. A dropped or truncated transfer resumes with ``Range`` (or starts
over when the server ignores it). The temporary file is removed on every failure,
including cancellation. Memory use is one chunk, whatever the size.
"""

from __future__ import annotations

import functools
import glob
import logging
import os
import re
import tempfile
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from pathlib import Path
from typing import IO, Any, NamedTuple

import aiohttp
import anyio

from ._errors import APIConnectionError, APIStatusError, ContentExpiredError, DownloadError
from ._transport import Transport
from ._wire import request_id_from

logger = logging.getLogger("foundry_video")

CHUNK_SIZE = 4 << 20
PREALLOCATE_MIN = 8 << 20
WRITEBACK_EVERY = 32 << 20
MAX_RESUMES = 5
_TEMP_SUFFIX = ".part"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class Progress(NamedTuple):
    """One step of a download: bytes so far, announced total, and where this attempt began."""

    received: int
    total: int | None
    resumed_from: int
    attempt_started: bool


def _content_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _range_start_and_total(headers: Mapping[str, str]) -> tuple[int, int | None] | None:
    match = _CONTENT_RANGE.match(headers.get("Content-Range", ""))
    if match is None:
        return None
    total = None if match.group(3) == "*" else int(match.group(3))
    return int(match.group(1)), total


async def download_to_path(
    transport: Transport,
    api_path: str,
    target: str | os.PathLike[str],
    *,
    params: Mapping[str, Any] | None = None,
    deadline: float | None = None,
    job_id: str | None = None,
) -> Path:
    """Download ``api_path`` into ``target`` atomically and return the target path."""
    path = Path(target).expanduser()
    async with aclosing(stream_to_path(transport, api_path, path, params=params,
                                       deadline=deadline, job_id=job_id)) as steps:
        async for _ in steps:
            pass
    return path


async def stream_to_path(
    transport: Transport,
    api_path: str,
    target: Path,
    *,
    params: Mapping[str, Any] | None = None,
    deadline: float | None = None,
    job_id: str | None = None,
    max_resumes: int = MAX_RESUMES,
) -> AsyncGenerator[Progress, None]:
    """Download into ``target`` atomically, yielding :class:`Progress` as bytes arrive.

    When the generator finishes normally the file is in place. ``deadline`` is a
    ``transport.clock.monotonic()`` reading after which ``TimeoutError`` is raised.
    Close the generator (``contextlib.aclosing``) if you stop early: that removes the
    temporary file.
    """
    # mkstemp and fsync block (each ~0.5-4 ms on a real disk): they run in a worker
    # thread, so that many concurrent downloads do not queue behind one disk operation.
    # Shielded: a hop cancelled mid-way would still create the file, and then leak it.
    with anyio.CancelScope(shield=True):
        handle, temp = await anyio.to_thread.run_sync(_open_temp, target)
    saved = False
    try:
        with handle:
            async with aclosing(_fetch_into(transport, api_path, handle, params=params,
                                            deadline=deadline, job_id=job_id,
                                            max_resumes=max_resumes)) as steps:
                async for step in steps:
                    yield step
            await anyio.to_thread.run_sync(_commit, handle, temp, target)
        saved = True
        logger.debug("saved %s", target)
    finally:
        if not saved:  # after a successful replace the temp name no longer exists
            temp.unlink(missing_ok=True)


def _open_temp(target: Path) -> tuple[IO[bytes], Path]:
    """Create the hidden temporary file beside ``target`` (blocking: runs in a thread)."""
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a directory; give a file path")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                     suffix=_TEMP_SUFFIX)
    return os.fdopen(fd, "wb"), Path(temp_name)


def remove_partial_downloads(target: Path) -> int:
    """Delete temporary files that a killed process left beside ``target``; return how many.

    Only for a process that knows no other download to ``target`` is running (e.g. a
    retried task that owns the target): a SIGKILL skips the cleanup above.
    """
    removed = 0
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*{_TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)
        removed += 1
    return removed


def _commit(handle: IO[bytes], temp: Path, target: Path) -> None:
    """Flush, fsync and rename the complete file over ``target`` (blocking: in a thread)."""
    handle.flush()
    os.fchmod(handle.fileno(), _new_file_mode())
    os.fsync(handle.fileno())
    handle.close()
    os.replace(temp, target)
    _fsync_directory(target.parent)


@functools.cache
def _new_file_mode() -> int:
    """The mode ``open()`` would give a new file (mkstemp's 0600 is too strict for a video)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_directory(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


async def _fetch_into(
    transport: Transport,
    api_path: str,
    handle: IO[bytes],
    *,
    params: Mapping[str, Any] | None,
    deadline: float | None,
    job_id: str | None,
    max_resumes: int,
) -> AsyncGenerator[Progress, None]:
    received = 0
    total: int | None = None
    resumes = 0
    validator: str | None = None
    while True:
        headers: dict[str, str] = {}
        if received:
            headers["Range"] = f"bytes={received}-"
            if validator:
                headers["If-Range"] = validator
        if deadline is not None and deadline <= transport.clock.monotonic():
            raise TimeoutError("download deadline passed")
        request_id: str | None = None
        start = received
        try:
            async with transport.stream(api_path, params=params, headers=headers) as response:
                request_id = request_id_from(response.headers)
                if response.status == 206 and received:
                    span = _range_start_and_total(response.headers)
                    if span is None or span[0] != received:
                        raise DownloadError(f"server answered Range {received}- with "
                                            f"{response.headers.get('Content-Range')!r}",
                                            job_id=job_id, request_id=request_id)
                    total = span[1] if span[1] is not None else total
                else:
                    if received:
                        logger.info("server ignored Range; restarting download from byte 0")
                        handle.seek(0)
                        handle.truncate()
                        received = 0
                    total = _content_length(response.headers)
                    if total is not None and total >= PREALLOCATE_MIN:
                        _preallocate(handle, total)
                validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
                start = written_back = received
                yield Progress(received, total, start, True)
                # Report about every 1/200th of the file (at least one chunk).
                step = max(CHUNK_SIZE, (total or 0) // 200)
                next_report = received + step
                while chunk := await _read_chunk(response, deadline, transport):
                    handle.write(chunk)
                    received += len(chunk)
                    if received - written_back >= WRITEBACK_EVERY:
                        written_back = _start_writeback(handle, written_back, received)
                    if total is not None and received > total:
                        raise DownloadError(f"server sent more than the {total} bytes announced",
                                            job_id=job_id, request_id=request_id)
                    if received >= next_report:
                        next_report = received + step
                        yield Progress(received, total, start, False)
        except (APIConnectionError, aiohttp.ClientPayloadError, aiohttp.ClientConnectionError,
                TimeoutError) as exc:
            if isinstance(exc, TimeoutError) and deadline is not None \
                    and transport.clock.monotonic() >= deadline:
                raise
            resumes += 1
            if resumes > max_resumes:
                raise DownloadError(f"download failed after {max_resumes} resumes: {exc}",
                                    job_id=job_id, request_id=request_id) from None
            logger.info("download interrupted at %d bytes (%s); resuming", received,
                        type(exc).__name__)
            await transport.clock.sleep(transport.retry.delay(resumes - 1) or 0.0)
            continue
        except APIStatusError as exc:
            if exc.status_code in (404, 410) and "expired" in (exc.code or "").lower():
                # The assets expired between the status check and the download (the
                # service says 404 video_expired): the same typed error as an expires_at
                # already in the past, instead of a bare NotFoundError.
                raise ContentExpiredError(f"the content has expired: {exc.message}",
                                          job_id=job_id or exc.job_id,
                                          request_id=exc.request_id) from exc
            if job_id is not None and exc.job_id is None:
                exc.job_id = job_id
            raise
        if total is not None and received != total:
            resumes += 1
            if resumes > max_resumes:
                raise DownloadError(f"received {received} of {total} bytes",
                                    job_id=job_id, request_id=request_id)
            continue
        if received == 0:
            raise DownloadError("the service returned no content to download",
                                job_id=job_id, request_id=request_id)
        yield Progress(received, total, start, False)
        return


def _preallocate(handle: IO[bytes], size: int) -> None:
    """Reserve the file's blocks up front (one extent instead of many small allocations)."""
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is not None:
        try:
            fallocate(handle.fileno(), 0, size)
        except OSError:
            pass  # unsupported here (some network filesystems): just write


def _start_writeback(handle: IO[bytes], begin: int, end: int) -> int:
    """Start writing ``[begin, end)`` to disk now, without waiting; return ``end``.

    Linux's ``POSIX_FADV_DONTNEED`` starts asynchronous writeback of the dirty range (and
    drops pages already clean), so the final ``fsync`` finds little left to write and a
    large download does not fill the page cache.
    """
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        try:
            handle.flush()
            advise(handle.fileno(), begin, end - begin, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass
    return end


async def _read_chunk(response: aiohttp.ClientResponse, deadline: float | None,
                      transport: Transport) -> bytes:
    if deadline is None:
        return await response.content.read(CHUNK_SIZE)
    remaining = deadline - transport.clock.monotonic()
    if remaining <= 0:
        raise TimeoutError("download deadline passed")
    with anyio.fail_after(remaining):
        return await response.content.read(CHUNK_SIZE)
