"""Many jobs at once, with bounded concurrency: :func:`create_many` and :func:`gather_results`.

Both run a fixed pool of ``concurrency`` worker tasks that pull requests from the input
one at a time, so a batch of a million prompts holds at most ``concurrency`` jobs in
flight and never creates a task per item. Each item's failure is caught and reported in
its :class:`BatchResult`; the rest of the batch goes on. Cancelling the caller cancels
every worker (and, through :class:`~foundry_video.Job`, removes temporary files).

```python
from foundry_video._batch import create_many

results = await create_many(client, [{"prompt": p} for p in prompts], concurrency=8,
                            download_dir="out/")
for r in results:
    print(r.index, r.path if r.ok else r.error)
```
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio

from ._output import as_output_error, check_target

if TYPE_CHECKING:
    from ._client import VideoClient
    from .models import Video
    from .resources.videos import VideoJob, Videos

__all__ = ["BatchResult", "create_many", "gather_results"]

ItemT = TypeVar("ItemT")
OnResult = Callable[["BatchResult[ItemT]"], "Awaitable[None] | None"]
FileNamer = Callable[[int, str], "str | os.PathLike[str]"]

_EXTENSIONS = {"video": ".mp4", "thumbnail": ".webp", "spritesheet": ".jpg"}


@dataclass
class BatchResult(Generic[ItemT]):
    """The outcome of one item of a batch.

    Attributes:
        index: the item's position in the input.
        item: what was given for it (the ``create`` keyword arguments, or the job).
        job: the job, once created (``None`` if ``create`` itself failed).
        video: the final :class:`~foundry_video.Video` of a job that completed.
        path: where its result was saved (only with ``download_dir``).
        error: the exception this item ended with, or ``None``.
    """

    index: int
    item: ItemT
    job: VideoJob | None = None
    video: Video | None = None
    path: Path | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True when the item completed (and was downloaded, if asked) without error."""
        return self.error is None

    def unwrap(self) -> Video:
        """Return the completed video, or raise the item's error."""
        if self.error is not None:
            raise self.error
        assert self.video is not None
        return self.video


def _default_name(variant: str) -> FileNamer:
    extension = _EXTENSIONS.get(variant, "")

    def name(index: int, job_id: str) -> str:
        return f"{job_id}{extension}"

    return name


def _videos(target: VideoClient | Videos) -> Videos:
    videos = getattr(target, "videos", None)
    return videos if videos is not None else target  # type: ignore[return-value]


class _Source(Generic[ItemT]):
    """Hands out ``(index, item)`` pairs from a sync or async iterable, one at a time.

    A sync iterable is advanced directly (no await happens between two ``next`` calls on
    one event loop thread, so no lock and no extra scheduling round per item); an async
    one behind a lock, since its ``__anext__`` may suspend while another worker asks.
    """

    def __init__(self, items: Iterable[ItemT] | AsyncIterable[ItemT]) -> None:
        self._index = 0
        self._sync: Iterator[ItemT] | None = None
        self._async: AsyncIterator[ItemT] | None = None
        if isinstance(items, AsyncIterable):
            self._async = aiter(items)
            self._lock = anyio.Lock()
        else:
            self._sync = iter(items)

    async def next(self) -> tuple[int, ItemT] | None:
        """The next pair, or ``None`` when the input is exhausted."""
        if self._sync is not None:
            try:
                item = next(self._sync)
            except StopIteration:
                return None
        else:
            assert self._async is not None
            async with self._lock:
                try:
                    item = await anext(self._async)
                except StopAsyncIteration:
                    return None
        index, self._index = self._index, self._index + 1
        return index, item

    async def aclose(self) -> None:
        """Close an async generator input early (e.g. when the batch is cancelled)."""
        close = getattr(self._async, "aclose", None)
        if close is not None:
            await close()


async def _run_pool(
    items: Iterable[ItemT] | AsyncIterable[ItemT],
    work: Callable[[BatchResult[ItemT]], Awaitable[None]],
    *,
    concurrency: int,
    limiter: anyio.CapacityLimiter | None,
    on_result: OnResult[ItemT] | None,
) -> list[BatchResult[ItemT]]:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError("concurrency must be a positive integer")
    results: list[BatchResult[ItemT]] = []
    source = _Source(items)

    async def next_item() -> BatchResult[ItemT] | None:
        pair = await source.next()
        if pair is None:
            return None
        result = BatchResult(pair[0], pair[1])
        results.append(result)
        return result

    async def worker() -> None:
        while (result := await next_item()) is not None:
            try:
                if limiter is None:
                    await work(result)
                else:
                    async with limiter:
                        await work(result)
            except Exception as exc:  # one item's failure must not stop the batch
                result.error = exc
            if on_result is not None:  # its own exceptions do stop the batch
                outcome = on_result(result)
                if outcome is not None:
                    await outcome

    try:
        async with anyio.create_task_group() as group:
            for _ in range(concurrency):
                group.start_soon(worker)
    finally:
        await source.aclose()
    results.sort(key=lambda r: r.index)
    return results


async def create_many(
    client: VideoClient | Videos,
    requests: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
    *,
    concurrency: int = 8,
    download_dir: str | os.PathLike[str] | None = None,
    variant: str = "video",
    filename: FileNamer | None = None,
    timeout: float | None = None,
    limiter: anyio.CapacityLimiter | None = None,
    on_result: OnResult[Mapping[str, Any]] | None = None,
) -> list[BatchResult[Mapping[str, Any]]]:
    """Create one video job per request, wait for each, optionally download each result.

    Args:
        client: a :class:`~foundry_video.VideoClient` (or its ``client.videos``).
        requests: keyword arguments for ``client.videos.create`` (e.g. ``{"prompt": ...}``),
            one mapping per video; a sync or async iterable, consumed lazily.
        concurrency: how many jobs are in flight at once (a fixed pool of this many
            worker tasks; the input is never read ahead of them).
        download_dir: save each result here (atomically); ``None`` only waits.
        variant: what to download: ``"video"``, ``"thumbnail"`` or ``"spritesheet"``.
        filename: ``filename(index, job_id)`` → file name inside ``download_dir``;
            default ``"<job id>.mp4"`` (``.webp``/``.jpg`` for the other variants).
        timeout: seconds allowed for each job's polling plus download.
        limiter: an ``anyio.CapacityLimiter`` shared with other batches, to bound the
            total across them (each item holds one token while it runs).
        on_result: called (sync or async) with each :class:`BatchResult` as it finishes,
            in completion order: for progress reporting or streaming results onward.

    Returns:
        One :class:`BatchResult` per request, in input order. Items that failed carry
        their exception in ``error``; nothing is raised for them. Invalid arguments
        (``ValueError`` from ``create``) are per-item errors too.
    """
    videos = _videos(client)
    directory = _output_directory(download_dir)
    name = filename or _default_name(variant)

    async def work(result: BatchResult[Mapping[str, Any]]) -> None:
        job = await videos.create(**result.item)
        result.job = job
        await _finish(result, job, directory, name, variant, timeout)

    return await _run_pool(requests, work, concurrency=concurrency, limiter=limiter,
                           on_result=on_result)


async def gather_results(
    jobs: Iterable[VideoJob] | AsyncIterable[VideoJob],
    *,
    concurrency: int = 8,
    download_dir: str | os.PathLike[str] | None = None,
    variant: str = "video",
    filename: FileNamer | None = None,
    timeout: float | None = None,
    limiter: anyio.CapacityLimiter | None = None,
    on_result: OnResult[VideoJob] | None = None,
) -> list[BatchResult[VideoJob]]:
    """Wait for existing jobs (e.g. re-attached with ``client.videos.job(id)``) and download them.

    The same as :func:`create_many` without the create step; ``item`` and ``job`` of each
    result are the given job.
    """
    directory = _output_directory(download_dir)
    name = filename or _default_name(variant)

    async def work(result: BatchResult[VideoJob]) -> None:
        result.job = result.item
        await _finish(result, result.item, directory, name, variant, timeout)

    return await _run_pool(jobs, work, concurrency=concurrency, limiter=limiter,
                           on_result=on_result)


def _output_directory(download_dir: str | os.PathLike[str] | None) -> Path | None:
    """Create and check ``download_dir`` before any job is created (raises OutputFileError)."""
    if download_dir is None:
        return None
    directory = Path(download_dir).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise as_output_error(exc, directory, None) from None
    check_target(directory / "result.mp4")
    return directory


async def _finish(result: BatchResult[Any], job: VideoJob, directory: Path | None,
                  name: FileNamer, variant: str, timeout: float | None) -> None:
    if directory is None:
        result.video = await job.wait(timeout)
        return
    result.path = await job.result(directory / name(result.index, job.id), variant=variant,
                                   timeout=timeout)
    result.video = job.latest
