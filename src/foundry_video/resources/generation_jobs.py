"""Sora 1: the Azure OpenAI preview video generation jobs API (``/video/generations``).

Every request carries ``api-version=preview``. A job produces ``n_variants`` generations;
each generation has its own id and content URLs. :class:`GenerationJob` is the shared
:class:`~foundry_video.Job` (polling, timeouts, cancellation, atomic downloads) taught
the Sora 1 status values by :class:`_GenerationJobBackend`, plus :meth:`GenerationJob.result_all`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from typing_extensions import Unpack

from .._deadline import Deadline
from .._download import download_to_path
from .._errors import DownloadError, JobTimeoutError, UnknownStatusError
from .._events import JobCompleted, JobEvent
from .._files import FileInput
from .._job import Content, Job, Phase, ProgressHandler, ensure_not_expired
from .._observe import traced_create
from .._options import BodyRequestOptions, RequestOptions
from .._output import check_target
from .._pagination import AsyncPager
from ..capabilities import ModelCapabilities
from ..models import (
    GENERATION_VARIANT_SUFFIX,
    CropBounds,
    GenerationJobStatus,
    InpaintItem,
    VideoGeneration,
    VideoGenerationJob,
    VideoGenerationJobList,
)
from ._base import Resource, as_int, multipart, path_segment
from ._generation_inputs import check_limits, check_media, media, resolution

__all__ = ["GenerationJob", "GenerationJobs"]

API_VERSION = {"api-version": "preview"}
_JOBS = "/video/generations/jobs"
_VARIANTS = tuple(GENERATION_VARIANT_SUFFIX)
_QUALITIES = ("high", "low")

_PHASES: dict[str, Phase] = {
    GenerationJobStatus.PREPROCESSING: "queued",
    GenerationJobStatus.QUEUED: "queued",
    GenerationJobStatus.RUNNING: "running",
    GenerationJobStatus.PROCESSING: "running",
    GenerationJobStatus.SUCCEEDED: "succeeded",
    GenerationJobStatus.FAILED: "failed",
    GenerationJobStatus.CANCELLED: "failed",
}
_REASONS = {
    "input_moderation": "the input was blocked by content moderation",
    "output_moderation": "the output was blocked by content moderation",
    "internal_error": "the service failed with an internal error",
}


def _job_path(job_id: str) -> str:
    return f"{_JOBS}/{path_segment(job_id, 'job_id')}"


def _generation_path(generation_id: str, suffix: str = "") -> str:
    return f"/video/generations/{path_segment(generation_id, 'generation_id')}{suffix}"


def _check_variant(variant: str) -> None:
    if variant not in _VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(_VARIANTS)}; got {variant!r}")


class _GenerationJobBackend:
    """Teaches :class:`Job` the Sora 1 status values, failure reasons and content URLs."""

    def __init__(self, jobs: GenerationJobs) -> None:
        self._jobs = jobs

    async def fetch(self, job_id: str, *, deadline: Deadline | None = None,
                    polling: bool = False) -> tuple[VideoGenerationJob, Mapping[str, str]]:
        pipeline = self._jobs._pipeline
        attempts = self._jobs._status_attempts(polling)
        response = await pipeline.request("GET", _job_path(job_id), params=API_VERSION,
                                          attempts=attempts, deadline=deadline)
        return self._jobs._parse(VideoGenerationJob, response), response.headers

    def phase(self, model: VideoGenerationJob) -> Phase:
        phase = _PHASES.get(model.status)
        if phase is None:
            raise UnknownStatusError(model.id, model.status)
        return phase

    def status(self, model: VideoGenerationJob) -> str:
        return model.status

    def progress(self, model: VideoGenerationJob) -> int | None:
        return None  # Sora 1 reports no progress percentage.

    def failure(self, model: VideoGenerationJob) -> tuple[str | None, str | None]:
        reason = model.failure_reason
        if reason:
            return reason, _REASONS.get(reason, reason)
        if model.status == GenerationJobStatus.CANCELLED:
            return None, "the job was cancelled"
        return None, None

    def content(self, model: VideoGenerationJob, variant: str, index: int) -> Content:
        _check_variant(variant)
        if index < 0:
            raise ValueError(f"index must be >= 0, got {index}")
        count = len(model.generations)
        if index >= count:
            detail = ("has no generations" if count == 0
                      else f"has {count} generation(s); index {index} is out of range")
            raise DownloadError(f"job succeeded but {detail} to download", job_id=model.id)
        ensure_not_expired(model.id, model.expires_at, self._jobs._pipeline.clock,
                           "generations of job")
        generation = model.generations[index]
        return Content(_generation_path(generation.id, f"/content/{variant}"), API_VERSION)

    async def delete(self, job_id: str) -> None:
        await self._jobs.delete(job_id)


class GenerationJob(Job[VideoGenerationJob]):
    """A Sora 1 job: ``await job`` gives the succeeded :class:`VideoGenerationJob`.

    ``await job.result(path)`` downloads generation 0 (``index=`` picks another);
    :meth:`result_all` downloads every generation. Resume with
    ``client.generation_jobs.job(job_id)``.
    """

    resume_with = "client.generation_jobs.job"

    @property
    def generations(self) -> list[VideoGeneration]:
        """The generations of the last seen job object (empty until it succeeded)."""
        return [] if self.latest is None else list(self.latest.generations)

    async def result_all(
        self,
        directory: str | os.PathLike[str],
        *,
        variant: str = "video",
        prefix: str | None = None,
        on_progress: ProgressHandler | None = None,
        timeout: float | None = None,
        cancel_remote: bool = False,
    ) -> list[Path]:
        """Wait for the job, then download every generation into ``directory``.

        Files are named ``<prefix>_1.mp4``, ``<prefix>_2.mp4``, ... (``.jpg`` for
        thumbnails) in generation order; ``prefix`` defaults to the job id. ``timeout`` is
        one deadline for polling and all downloads. Returns the saved paths. Raises
        :class:`DownloadError` when the job succeeded without generations.
        """
        _check_variant(variant)
        folder = Path(directory).expanduser()
        deadline = Deadline(self._pipeline.clock, timeout)
        stem = prefix if prefix is not None else self.id
        if not stem or "/" in stem or os.sep in stem:
            raise ValueError("prefix must be a non-empty file name without a directory")
        check_target(folder / f"{stem}_1{GENERATION_VARIANT_SUFFIX[variant]}", job_id=self.id)
        try:
            await self.wait(timeout=timeout, on_progress=on_progress, cancel_remote=cancel_remote)
            assert self.latest is not None
            # Only one JobCompleted reaches the handler; each download re-reports it.
            handler = _without_completed(on_progress)
            saved: list[Path] = []
            for index in range(max(1, len(self.latest.generations))):
                remaining = deadline.remaining()
                target = folder / f"{stem}_{index + 1}{GENERATION_VARIANT_SUFFIX[variant]}"
                saved.append(await self.result(target, variant=variant, index=index,
                                               on_progress=handler, timeout=remaining,
                                               cancel_remote=cancel_remote))
            return saved
        except JobTimeoutError as exc:
            raise JobTimeoutError(self.id, timeout or 0.0, last_status=exc.last_status,
                                  resume_with=self.resume_with) from None


def _without_completed(handler: ProgressHandler | None) -> ProgressHandler | None:
    if handler is None:
        return None

    def forward(event: JobEvent) -> Any:
        return None if isinstance(event, JobCompleted) else handler(event)

    return forward


class GenerationJobs(Resource):
    """``client.generation_jobs``: create, inspect and download Sora 1 generation jobs."""

    @property
    def _backend(self) -> _GenerationJobBackend:
        return _GenerationJobBackend(self)

    def _caps(self, model: str) -> ModelCapabilities | None:
        caps = self._client._capabilities_for(model)
        if caps is not None and caps.api != "generation_jobs":
            raise ValueError(
                f"model {model!r} is a Videos API (Sora 2) model: use client.videos.create(); "
                "for a Sora 1 deployment with this name pass "
                "capabilities=default_capabilities().with_model(name, 'sora')")
        return caps

    def job(self, job_id: str, *, latest: VideoGenerationJob | None = None) -> GenerationJob:
        """Re-attach to an existing job by id (e.g. after a restart). No request is sent."""
        _job_path(job_id)
        return GenerationJob(self._pipeline, self._backend, job_id, latest,
                             poll_interval=self._client.poll_interval,
                             max_poll_interval=self._client.max_poll_interval)

    @traced_create
    async def create(
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
    ) -> GenerationJob:
        """Start a Sora 1 job and return its :class:`GenerationJob`.

        ``model`` is the deployment name. Give the resolution as ``size="1280x720"`` or as
        ``width``/``height`` (default 480x480). ``image=`` or ``video=`` (a path, bytes or
        binary file) starts the output from that media at frame 0, optionally cropped by
        ``crop_bounds``; for full control pass ``inpaint_items`` with the matching
        ``files`` (a list, or a ``{file_name: file}`` mapping). With media the request is
        multipart/form-data, otherwise JSON. Parameters are checked against the model's
        limits before anything is sent. ``options``: ``timeout``, ``extra_headers``,
        ``extra_query``, ``extra_body`` (:class:`~foundry_video.BodyRequestOptions`).
        """
        if not isinstance(prompt, str):
            raise TypeError("prompt must be a string")
        if not isinstance(model, str) or not model.strip():
            raise ValueError("model must be the deployment name")
        w, h = resolution(size, width, height)
        n_seconds = as_int("seconds", seconds)
        variants = as_int("n_variants", n_variants)
        caps = self._caps(model)
        if self._client.validate:
            check_limits(model, caps, prompt, f"{w}x{h}", n_seconds, variants)
        items, uploads = await media(inpaint_items, files, image, video, crop_bounds)
        if items and self._client.validate:
            check_media(model, caps, items, uploads)
        fields: dict[str, Any] = {"prompt": prompt, "width": w, "height": h,
                                  "n_seconds": n_seconds, "n_variants": variants, "model": model}
        if not items:
            response = await self._pipeline.request("POST", _JOBS, params=API_VERSION,
                                                    json=fields, idempotent=False, options=options)
        else:
            fields["inpaint_items"] = json.dumps(
                [item.model_dump(mode="json", exclude_none=True) for item in items])
            response = await self._pipeline.request(
                "POST", _JOBS, params=API_VERSION, form=multipart(fields, {"files": uploads}),
                idempotent=False, options=options)
        created = self._parse(VideoGenerationJob, response)
        return self.job(created.id, latest=created)

    async def retrieve(self, job_id: str, **options: Unpack[RequestOptions]) -> VideoGenerationJob:
        """Fetch a job's current state."""
        response = await self._pipeline.request("GET", _job_path(job_id), params=API_VERSION,
                                                options=options)
        return self._parse(VideoGenerationJob, response)

    def list(
        self,
        *,
        limit: int = 10,
        before: str | None = None,
        after: str | None = None,
        statuses: Sequence[GenerationJobStatus | str] | GenerationJobStatus | str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[VideoGenerationJob, VideoGenerationJobList]:
        """List jobs: ``await`` it for one page, or ``async for`` over all of them.

        ``limit`` is the page size; ``statuses`` filters (e.g. ``["queued", "running"]``,
        sent comma-separated). Pages are followed with the ``after`` cursor.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError("limit must be a positive int")
        wanted = [statuses] if isinstance(statuses, str) else list(statuses or ())
        if self._client.validate:
            known = {s.value for s in GenerationJobStatus}
            unknown = [str(s) for s in wanted if str(s) not in known]
            if unknown:
                raise ValueError(f"unknown status {unknown[0]!r}; use one of {', '.join(sorted(known))}")
        status_filter = ",".join(str(s) for s in wanted) or None
        pipeline = self._pipeline

        async def fetch(cursor: str | None) -> VideoGenerationJobList:
            response = await pipeline.request(
                "GET", _JOBS, params={**API_VERSION, "limit": limit, "before": before,
                                      "after": cursor, "statuses": status_filter},
                options=options)
            return self._parse(VideoGenerationJobList, response)

        return AsyncPager(fetch, after)

    async def delete(self, job_id: str, **options: Unpack[RequestOptions]) -> None:
        """Delete a job and its generations (the service answers 204 No Content)."""
        await self._pipeline.request("DELETE", _job_path(job_id), params=API_VERSION,
                                     options=options)

    async def retrieve_generation(self, generation_id: str,
                                  **options: Unpack[RequestOptions]) -> VideoGeneration:
        """Fetch one generation (an output video of a job) by id."""
        response = await self._pipeline.request("GET", _generation_path(generation_id),
                                                params=API_VERSION, options=options)
        return self._parse(VideoGeneration, response)

    async def download(
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
        """Download a generation's ``video`` (MP4) or ``thumbnail`` (JPEG) to ``path``.

        ``quality`` (``"high"``, the service default, or ``"low"``) applies to the video
        only. The download is atomic and resumable; returns the saved path. ``timeout``
        bounds the whole download (``APITimeoutError`` when it passes).
        """
        _check_variant(variant)
        params = dict(API_VERSION)
        if quality is not None:
            if quality not in _QUALITIES:
                raise ValueError(f"quality must be 'high' or 'low'; got {quality!r}")
            if variant != "video":
                raise ValueError("quality applies only to variant='video'")
            params["quality"] = quality
        params.update(extra_query or {})
        return await download_to_path(
            self._pipeline, _generation_path(generation_id, f"/content/{variant}"), path,
            params=params, deadline=Deadline(self._pipeline.clock, timeout),
            headers=extra_headers)
