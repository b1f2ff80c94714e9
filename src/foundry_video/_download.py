"""Streaming downloads that are atomic, verified and resumable.

Bytes go to a hidden part file beside the target (see :mod:`._output`); when the length
checks out the file is fsynced and renamed over the target in one step, so the target name
only ever holds a complete file. A dropped or truncated transfer resumes with ``Range`` (or
starts over when the server ignores it), and so does a download killed mid-way, from its
part file, the next time the same content is downloaded. The part file is removed on every
failure, including cancellation. Memory use is one chunk, whatever the size.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple

from ._deadline import Deadline
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ContentExpiredError,
    DownloadError,
    FoundryVideoError,
    OutputFileError,
)
from ._output import PartFile, as_output_error, content_key, in_thread, reserve
from ._pipeline import NETWORK_ERRORS
from ._retry import Attempts
from ._timeouts import time_limit
from ._transports.base import Request, Response

if TYPE_CHECKING:
    from ._pipeline import Pipeline

logger = logging.getLogger("foundry_video")

CHUNK_SIZE = 4 << 20
PREALLOCATE_MIN = 8 << 20
PREALLOCATE_MAX = 4 << 30
"""Never reserve more disk than this up front, whatever Content-Length claims."""
WRITEBACK_EVERY = 32 << 20
_CONTENT_RANGE = re.compile(r"bytes (\d{1,18})-(\d{1,18})/(\d{1,18}|\*)")
_NOT_CONTENT_TYPES = ("text/html", "application/json", "application/problem+json")
"""A 2xx with one of these is an error page or an error envelope, not a video."""


class Progress(NamedTuple):
    """One step of a download: bytes so far, announced total, and where this attempt began."""

    received: int
    total: int | None
    resumed_from: int
    attempt_started: bool


def _content_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("Content-Length", "")
    return int(value) if value.isdigit() and len(value) <= 18 else None


def _range_span(headers: Mapping[str, str]) -> tuple[int, int, int | None] | None:
    """``(first, last, total)`` of a ``Content-Range``, or ``None`` when malformed."""
    match = _CONTENT_RANGE.fullmatch(headers.get("Content-Range", "").strip())
    if match is None:
        return None
    first, last = int(match.group(1)), int(match.group(2))
    total = None if match.group(3) == "*" else int(match.group(3))
    if last < first or (total is not None and last >= total):
        return None
    return first, last, total


async def download_to_path(
    pipeline: Pipeline,
    api_path: str,
    target: str | os.PathLike[str],
    *,
    deadline: Deadline,
    params: Mapping[str, object] | None = None,
    job_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Path:
    """Download ``api_path`` into ``target`` atomically and return the target path.

    A ``deadline`` that passes raises :class:`~foundry_video.APITimeoutError`.
    """
    path = Path(target).expanduser()
    try:
        async with aclosing(stream_to_path(pipeline, api_path, path, params=params,
                                           deadline=deadline, job_id=job_id,
                                           headers=headers)) as steps:
            async for _ in steps:
                pass
    except TimeoutError:
        error = APITimeoutError(f"the download did not finish within {deadline.timeout}s")
        error.job_id = job_id
        raise error from None
    except FoundryVideoError as exc:
        # The exit of a download outside a job (a job's errors exit through Job.events):
        # whatever service data the error or its suppressed context quotes is redacted.
        pipeline.redacted(exc)
        raise
    return path


async def stream_to_path(
    pipeline: Pipeline,
    api_path: str,
    target: Path,
    *,
    deadline: Deadline,
    params: Mapping[str, object] | None = None,
    job_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> AsyncGenerator[Progress, None]:
    """Download into ``target`` atomically, yielding :class:`Progress` as bytes arrive.

    When the generator finishes normally the file is in place. ``deadline`` bounds the
    whole download (``TimeoutError`` when it passes). Close the generator
    (``contextlib.aclosing``) if you stop early: that removes the part file. A local file
    failure raises :class:`~foundry_video.OutputFileError` carrying ``job_id``.
    """
    # Opening and committing block (mkstemp, fsync: ~0.5-4 ms each on a real disk): they
    # run in worker threads, and a part file created by a thread whose caller was
    # cancelled meanwhile is removed by in_thread's on_abandon, not leaked.
    try:
        part = await in_thread(functools.partial(PartFile.open, target,
                                                 content_key(api_path, params)),
                               on_abandon=PartFile.discard)
    except (OutputFileError, TimeoutError):  # TimeoutError is an OSError too
        raise
    except OSError as exc:
        raise as_output_error(exc, target, job_id) from None
    committing = False
    try:
        fetch = _Fetch(pipeline, api_path, part, params=params, deadline=deadline,
                       job_id=job_id, headers=headers)
        async with aclosing(fetch.run()) as steps:
            async for step in steps:
                yield step
        committing = True  # from here the commit thread owns the part file (success or not)
        await in_thread(part.commit)
        logger.debug("saved %s", target)
    except (OutputFileError, TimeoutError):
        raise
    except OSError as exc:
        raise as_output_error(exc, target, job_id) from None
    finally:
        if not committing:
            part.discard()  # quick (close + unlink): done here even when cancelled


class _Incomplete(Exception):
    """The body ended short of the announced length (resumable)."""


class _Inconsistent(Exception):
    """The server contradicted itself (a 206 for another range, more bytes than announced):
    nothing received so far can be trusted, so the download starts over without Range."""


class _Fetch:
    """The bytes of one download, resumed with ``Range`` within one retry budget.

    Every attempt, whether it failed opening (429, 5xx, reset) or mid-body (reset,
    truncation, stall), counts against ``download_resumes``; the waits follow the one
    retry policy (its back-off and the service's hints).
    """

    def __init__(self, pipeline: Pipeline, api_path: str, part: PartFile, *,
                 params: Mapping[str, object] | None, deadline: Deadline, job_id: str | None,
                 headers: Mapping[str, str] | None) -> None:
        self.pipeline = pipeline
        self.api_path = api_path
        self.part = part
        self.handle = part.handle
        self.params = params
        self.deadline = deadline
        self.job_id = job_id
        self.extra_headers = dict(headers or {})
        self.attempts = Attempts(pipeline.retry.download_resumes)
        self.received = part.resumed
        self.total: int | None = None
        self.validator: str | None = None
        self.request_id: str | None = None
        self.last_request: Request | None = None
        """The request of the latest attempt (for ``retry`` hooks of a resumption)."""
        self.probing = False
        """Set once a body of unknown length ended: the next request checks for more."""

    def _fail(self, message: str) -> DownloadError:
        # Messages quote the service's headers (Content-Range, Content-Type): redacted.
        return self.pipeline.redacted(DownloadError(message, job_id=self.job_id,
                                                    request_id=self.request_id))

    async def run(self) -> AsyncGenerator[Progress, None]:
        while True:
            try:
                async with aclosing(self._attempt()) as steps:
                    async for step in steps:
                        yield step
                if self.received == 0:
                    raise self._fail("the service returned no content to download")
                if self.total is None and not self.probing:
                    # No length was announced: a body cut short looks complete. Ask for the
                    # rest; "416 Range Not Satisfiable" is the proof there is none.
                    self.probing = True
                    continue
                yield Progress(self.received, self.total, self.received, False)
                return
            except OutputFileError:
                raise  # the local disk: retrying the network would not help
            except APIStatusError as exc:
                if exc.status_code == 416 and self.probing and self.total is None:
                    yield Progress(self.received, self.received, self.received, False)
                    return
                if exc.status_code == 416 and self.received and self.attempts.left:
                    # The part file left by an interrupted download is not a prefix of this
                    # content (longer than it): start over.
                    logger.info("the server refused Range %d-; restarting", self.received)
                    self._restart()
                    continue
                mapped = self._status_error(exc)
                if mapped is exc:
                    raise
                raise mapped from exc
            except (_Incomplete, _Inconsistent, APIConnectionError, *NETWORK_ERRORS) as exc:
                if isinstance(exc, APIConnectionError):
                    error = exc
                elif isinstance(exc, (_Incomplete, _Inconsistent)):
                    error = APIConnectionError(self.pipeline.redact(str(exc)),
                                               request_id=self.request_id)
                else:
                    error = self.pipeline.connection_error(exc, request_id=self.request_id)
                if isinstance(exc, _Inconsistent):
                    logger.info("download of %s: %s; starting over", self.api_path, error.message)
                    self._restart()
                if isinstance(exc, TimeoutError):
                    self.deadline.remaining()  # the job's deadline passed: TimeoutError
                delay, _ = await self.pipeline.retry_delay(error, self.attempts,
                                                             reached_server=True)
                if delay is None:
                    made = self.attempts.made
                    raise self._fail(f"download failed after {made} attempts ({made - 1} resumes): "
                                     f"{error.message}") from None
                logger.info("download interrupted at %d bytes (%s)", self.received, error.message)
                await self.pipeline.before_retry(self.last_request, self.attempts, delay, "resume",
                                                 error,
                                                 what=f"download {self.api_path}",
                                                 deadline=self.deadline)

    def _restart(self) -> None:
        """Drop the bytes received; the length announced so far stays the expectation (a
        video's size does not change, so a different one later is a lie)."""
        self.handle.seek(0)
        self.handle.truncate()
        self.received = 0  # so no Range or If-Range goes out until a response says anew

    def _write(self, chunk: bytes) -> None:
        try:
            self.handle.write(chunk)
        except OSError as exc:
            raise as_output_error(exc, self.part.target, self.job_id) from None

    def _status_error(self, exc: APIStatusError) -> FoundryVideoError:
        if exc.status_code in (404, 410) and exc.code and "expired" in exc.code.lower():
            # The assets expired between the status check and the download (the service
            # says 404 video_expired): the same typed error as an expires_at in the past.
            return ContentExpiredError(f"the content has expired: {exc.message}",
                                       job_id=self.job_id or exc.job_id, request_id=exc.request_id)
        exc.job_id = exc.job_id or self.job_id
        return exc

    async def _attempt(self) -> AsyncGenerator[Progress, None]:
        headers = dict(self.extra_headers)
        if self.received:
            headers["Range"] = f"bytes={self.received}-"
            if self.validator:
                headers["If-Range"] = self.validator
        async with self.pipeline.stream(self.api_path, params=self.params, headers=headers,
                                        attempts=self.attempts,
                                        deadline=self.deadline) as response:
            self.request_id = response.request_id
            self.last_request = response.request
            self._accept(response)
            start = written_back = self.received
            yield Progress(self.received, self.total, start, True)
            # Report about every 1/200th of the file (at least one chunk).
            step = max(CHUNK_SIZE, (self.total or 0) // 200)
            next_report = self.received + step
            cap = self.pipeline.max_download_bytes
            read = response.stream.read
            bound = self.deadline.timeout is not None or self.pipeline.reads_need_bounding
            while True:
                if bound:
                    async with time_limit(self.deadline.bound(self.pipeline.timeout)):
                        chunk = await read(CHUNK_SIZE)
                else:  # the transport bounds every read by the timeout itself
                    chunk = await read(CHUNK_SIZE)
                if not chunk:
                    break
                self._write(chunk)
                self.received += len(chunk)
                if self.received - written_back >= WRITEBACK_EVERY:
                    written_back = _start_writeback(self.handle, written_back, self.received)
                if self.total is not None and self.received > self.total:
                    raise _Inconsistent(f"the server sent more than the {self.total} bytes "
                                        "announced")
                if cap is not None and self.received > cap:
                    raise self._fail(f"the download exceeds max_download_bytes={cap}")
                if self.received >= next_report:
                    next_report = self.received + step
                    yield Progress(self.received, self.total, start, False)
        if self.total is not None and self.received != self.total:
            raise _Incomplete(f"received {self.received} of {self.total} bytes")

    def _accept(self, response: Response) -> None:
        """Check the response fits the download so far; set the expected total."""
        headers = response.headers
        encoding = headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise self._fail(f"the server sent the content with Content-Encoding {encoding[:40]!r} "
                             "although identity was requested")
        content_type = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type in _NOT_CONTENT_TYPES:
            raise self._fail(f"the server answered {response.status_code} with {content_type}, "
                             "not the content")
        length = _content_length(headers)
        if response.status_code == 206:
            span = _range_span(headers)
            if span is None or span[0] != self.received or (
                    length is not None and length != span[1] - span[0] + 1):
                asked = f"Range {self.received}-" if self.received else "the whole content"
                raise _Inconsistent(f"the server answered {asked} with "
                                    f"Content-Range {headers.get('Content-Range', '')[:80]!r}")
            total = span[2] if span[2] is not None else self.total
            if self.total is not None and total != self.total:
                raise _Inconsistent(f"the content changed size mid-download "
                                    f"({self.total} -> {total})")
            self.total = total
        else:
            if self.received:
                logger.info("server ignored Range; restarting download from byte 0")
                self._restart()
            if self.total is not None and length is not None and length != self.total:
                raise _Inconsistent(f"the content changed size mid-download "
                                    f"({self.total} -> {length})")
            self.total = length if length is not None else self.total
        cap = self.pipeline.max_download_bytes
        if cap is not None and self.total is not None and self.total > cap:
            raise self._fail(f"the content is {self.total} bytes, over max_download_bytes={cap}")
        if self.total is not None and PREALLOCATE_MIN <= self.total <= PREALLOCATE_MAX:
            reserve(self.handle, self.received, self.total - self.received)
        self.validator = headers.get("ETag") or headers.get("Last-Modified")


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
