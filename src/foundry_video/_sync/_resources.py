"""Blocking resources: ``client.videos`` and ``client.generation_jobs`` of a SyncVideoClient.

Each method has the async method's parameters (``tests/test_sync_client.py`` compares the
signatures, so the two cannot drift) and runs it on the client's event-loop thread.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from typing_extensions import Unpack

from .._options import BodyRequestOptions, RequestOptions
from .._pagination import AsyncPager, CursorPage
from ._job import SyncGenerationJob, SyncVideoJob
from ._runtime import Emit, Runtime

if TYPE_CHECKING:
    from .._batch import BatchResult
    from .._files import FileInput
    from ..models import (
        CropBounds,
        GenerationJobStatus,
        ImageReference,
        InpaintItem,
        Video,
        VideoCharacter,
        VideoDeleted,
        VideoGeneration,
        VideoGenerationJob,
        VideoGenerationJobList,
        VideoList,
    )
    from ..resources.generation_jobs import GenerationJobs
    from ..resources.videos import VideoJob, Videos

__all__ = ["SyncGenerationJobs", "SyncPager", "SyncVideos"]

ItemT = TypeVar("ItemT")
PageT = TypeVar("PageT", bound="CursorPage[Any]")


class SyncPager(Generic[ItemT, PageT]):
    """Returned by the blocking ``list()`` methods: iterate it for every item.

    ``for video in client.videos.list(limit=20)`` walks every page, fetching each only
    when the previous one is used up; ``pager.pages()`` yields whole pages;
    ``pager.first_page()`` fetches one page (the blocking form of ``await pager``).
    """

    def __init__(self, runtime: Runtime, pager: AsyncPager[ItemT, PageT]) -> None:
        self._runtime = runtime
        self._pager = pager

    def first_page(self) -> PageT:
        """Fetch the first page only."""
        pager = self._pager

        async def first() -> PageT:
            return await pager

        return self._runtime.call(first)

    def pages(self) -> Iterator[PageT]:
        """Yield each page in turn (the next is requested when you ask for it)."""

        async def run(emit: Emit[PageT]) -> None:
            async for page in self._pager.pages():
                await emit(page)

        return self._runtime.stream(run)

    def __iter__(self) -> Iterator[ItemT]:
        async def run(emit: Emit[ItemT]) -> None:
            async for item in self._pager:
                await emit(item)

        return self._runtime.stream(run)


class SyncVideos:
    """``client.videos`` of a :class:`~foundry_video.SyncVideoClient`: Sora 2, blocking.

    The same methods and parameters as the async ``client.videos``; jobs come back as
    :class:`SyncJob`.
    """

    def __init__(self, runtime: Runtime, videos: Videos) -> None:
        self._runtime = runtime
        self._videos = videos

    def _job(self, job: VideoJob) -> SyncVideoJob:
        return SyncVideoJob(self._runtime, job)

    def job(self, video_id: str, *, video: Video | None = None) -> SyncVideoJob:
        """Re-attach to an existing video by id (e.g. after a restart). No request is sent."""
        return self._job(self._runtime.call_soon(self._videos.job, video_id, video=video))

    def create(
        self,
        *,
        prompt: str,
        model: str = "sora-2",
        size: str | None = None,
        seconds: int | str | None = None,
        input_reference: FileInput | ImageReference | Mapping[str, str] | None = None,
        **options: Unpack[BodyRequestOptions],
    ) -> SyncVideoJob:
        """Start a video job and return its :class:`SyncJob` (``.wait()``, ``.result(path)``).

        Parameters are checked against the model's limits before anything is sent; see
        the async ``client.videos.create``.
        """
        return self._job(self._runtime.call(
            self._videos.create, prompt=prompt, model=model, size=size, seconds=seconds,
            input_reference=input_reference, **options))

    def retrieve(self, video_id: str, **options: Unpack[RequestOptions]) -> Video:
        """Fetch a video's current state."""
        return self._runtime.call(self._videos.retrieve, video_id, **options)

    def list(self, *, limit: int | None = None, order: Literal["asc", "desc"] | None = None,
             after: str | None = None,
             **options: Unpack[RequestOptions]) -> SyncPager[Video, VideoList]:
        """List videos: iterate the result for all of them (pages are fetched as needed).

        ``limit`` is the page size (1 to 100); pages are followed with the ``after`` cursor.
        """
        pager = self._runtime.call_soon(self._videos.list, limit=limit, order=order, after=after,
                                        **options)
        return SyncPager(self._runtime, pager)

    def delete(self, video_id: str, **options: Unpack[RequestOptions]) -> VideoDeleted:
        """Delete a video and its assets."""
        return self._runtime.call(self._videos.delete, video_id, **options)

    def remix(self, video_id: str, *, prompt: str, **options: Unpack[BodyRequestOptions]) -> SyncVideoJob:
        """Start a remix of a completed video with a new prompt; returns the new job."""
        return self._job(self._runtime.call(self._videos.remix, video_id, prompt=prompt,
                                            **options))

    def edit(self, video_id: str | None = None, *, prompt: str,
             video_file: FileInput | None = None,
             **options: Unpack[BodyRequestOptions]) -> SyncVideoJob:
        """Start an edit of a completed video (by id) or of an uploaded clip; returns the new job."""
        return self._job(self._runtime.call(self._videos.edit, video_id, prompt=prompt,
                                            video_file=video_file, **options))

    def extend(self, video_id: str | None = None, *, prompt: str, seconds: int | str,
               video_file: FileInput | None = None,
               **options: Unpack[BodyRequestOptions]) -> SyncVideoJob:
        """Extend a completed video by ``seconds`` more; returns the new job."""
        return self._job(self._runtime.call(self._videos.extend, video_id, prompt=prompt,
                                            seconds=seconds, video_file=video_file, **options))

    def create_character(self, video_file: FileInput, *, name: str,
                         **options: Unpack[BodyRequestOptions]) -> VideoCharacter:
        """Create a reusable character (cameo) from an uploaded video clip."""
        return self._runtime.call(self._videos.create_character, video_file, name=name,
                                  **options)

    def retrieve_character(self, character_id: str,
                           **options: Unpack[RequestOptions]) -> VideoCharacter:
        """Fetch a character by id."""
        return self._runtime.call(self._videos.retrieve_character, character_id, **options)

    def create_many(
        self, requests: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        **options: Any,
    ) -> builtins.list[BatchResult[Mapping[str, Any]]]:
        """Create, wait for and optionally download many videos with bounded concurrency.

        As the async ``client.videos.create_many``. The batch runs on the client's
        event-loop thread: so do ``requests`` (read lazily) and an ``on_result`` callback.
        Each result's ``job`` is the async job handle; ``client.videos.job(result.job.id)``
        gives a blocking one.
        """
        return self._runtime.call(self._videos.create_many, requests, **options)

    def download(
        self,
        video_id: str,
        path: str | os.PathLike[str],
        *,
        variant: str = "video",
        timeout: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> Path:
        """Download a completed video's ``variant`` to ``path`` (atomic, resumable)."""
        return self._runtime.call(self._videos.download, video_id, path, variant=variant,
                                  timeout=timeout, extra_headers=extra_headers,
                                  extra_query=extra_query)


class SyncGenerationJobs:
    """``client.generation_jobs`` of a :class:`~foundry_video.SyncVideoClient`: Sora 1, blocking.

    The same methods and parameters as the async ``client.generation_jobs``; jobs come
    back as :class:`SyncGenerationJob`.
    """

    def __init__(self, runtime: Runtime, jobs: GenerationJobs) -> None:
        self._runtime = runtime
        self._jobs = jobs

    def job(self, job_id: str, *, latest: VideoGenerationJob | None = None) -> SyncGenerationJob:
        """Re-attach to an existing job by id (e.g. after a restart). No request is sent."""
        return SyncGenerationJob(self._runtime,
                                 self._runtime.call_soon(self._jobs.job, job_id, latest=latest))

    def create(
        self,
        *,
        prompt: str,
        model: str,
        size: str | None = None,
        width: int | None = None,
        height: int | None = None,
        seconds: int | str = 5,
        n_variants: int = 1,
        inpaint_items: Sequence[InpaintItem | Mapping[str, Any]] | None = None,
        files: Sequence[FileInput] | Mapping[str, FileInput] | None = None,
        image: FileInput | None = None,
        video: FileInput | None = None,
        crop_bounds: CropBounds | Mapping[str, float] | None = None,
        **options: Unpack[BodyRequestOptions],
    ) -> SyncGenerationJob:
        """Start a Sora 1 job and return its :class:`SyncGenerationJob`.

        ``model`` is the deployment name; see the async ``client.generation_jobs.create``
        for the media options. Parameters are checked before anything is sent.
        """
        job = self._runtime.call(
            self._jobs.create, prompt=prompt, model=model, size=size, width=width,
            height=height, seconds=seconds, n_variants=n_variants, inpaint_items=inpaint_items,
            files=files, image=image, video=video, crop_bounds=crop_bounds, **options)
        return SyncGenerationJob(self._runtime, job)

    def retrieve(self, job_id: str, **options: Unpack[RequestOptions]) -> VideoGenerationJob:
        """Fetch a job's current state."""
        return self._runtime.call(self._jobs.retrieve, job_id, **options)

    def list(
        self,
        *,
        limit: int = 10,
        before: str | None = None,
        after: str | None = None,
        statuses: Sequence[GenerationJobStatus | str] | GenerationJobStatus | str | None = None,
        **options: Unpack[RequestOptions],
    ) -> SyncPager[VideoGenerationJob, VideoGenerationJobList]:
        """List jobs: iterate the result for all of them (pages are fetched as needed)."""
        pager = self._runtime.call_soon(self._jobs.list, limit=limit, before=before, after=after,
                                        statuses=statuses, **options)
        return SyncPager(self._runtime, pager)

    def delete(self, job_id: str, **options: Unpack[RequestOptions]) -> None:
        """Delete a job and its generations."""
        self._runtime.call(self._jobs.delete, job_id, **options)

    def retrieve_generation(self, generation_id: str,
                            **options: Unpack[RequestOptions]) -> VideoGeneration:
        """Fetch one generation (an output video of a job) by id."""
        return self._runtime.call(self._jobs.retrieve_generation, generation_id, **options)

    def download(
        self,
        generation_id: str,
        path: str | os.PathLike[str],
        *,
        variant: str = "video",
        quality: Literal["high", "low"] | None = None,
        timeout: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> Path:
        """Download a generation's ``video`` (MP4) or ``thumbnail`` (JPEG) to ``path``."""
        return self._runtime.call(self._jobs.download, generation_id, path, variant=variant,
                                  quality=quality, timeout=timeout, extra_headers=extra_headers,
                                  extra_query=extra_query)
