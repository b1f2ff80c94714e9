"""Sora 2: the Videos API (``/videos``) on Azure OpenAI v1 and OpenAI."""

from __future__ import annotations

import builtins
import os
from collections.abc import AsyncIterable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import Unpack

from .._deadline import Deadline
from .._download import download_to_path
from .._errors import UnknownStatusError
from .._files import FileInput, Upload, read_upload
from .._job import Content, Job, Phase, ensure_not_expired
from .._observe import traced_create
from .._options import BodyRequestOptions, RequestOptions
from .._pagination import AsyncPager
from ..capabilities import GENERIC, ModelCapabilities
from ..models import (
    VARIANT_SUFFIX,
    ImageReference,
    Video,
    VideoCharacter,
    VideoDeleted,
    VideoList,
    VideoStatus,
)
from ._base import Resource, as_int, multipart, path_segment

if TYPE_CHECKING:
    from .._batch import BatchResult
    from .._transports.base import Response


class VideoJob(Job[Video]):
    """A Sora 2 :class:`~foundry_video.Job`: ``await job`` gives the completed :class:`Video`.

    Everything is inherited from :class:`~foundry_video.Job`; :attr:`video` is
    :attr:`~foundry_video.Job.latest` under its Sora 2 name, typed as a :class:`Video`.
    """

    @property
    def video(self) -> Video | None:
        """The last :class:`Video` seen (from create, retrieve or polling); ``None`` before
        the first response of a re-attached job."""
        return self.latest


_PHASES: dict[str, Phase] = {
    VideoStatus.QUEUED: "queued",
    VideoStatus.IN_PROGRESS: "running",
    VideoStatus.COMPLETED: "succeeded",
    VideoStatus.FAILED: "failed",
}
_VARIANTS = tuple(VARIANT_SUFFIX)


def _video_path(video_id: str, suffix: str = "") -> str:
    return f"/videos/{path_segment(video_id, 'video_id')}{suffix}"


class _VideoBackend:
    """Teaches :class:`Job` the Sora 2 status values and content URL."""

    def __init__(self, videos: Videos) -> None:
        self._videos = videos

    async def fetch(self, job_id: str, *, deadline: Deadline | None = None,
                    polling: bool = False) -> tuple[Video, Mapping[str, str]]:
        pipeline = self._videos._pipeline
        attempts = self._videos._status_attempts(polling)
        response = await pipeline.request("GET", _video_path(job_id), attempts=attempts,
                                          deadline=deadline)
        return self._videos._parse(Video, response), response.headers

    def phase(self, model: Video) -> Phase:
        phase = _PHASES.get(model.status)
        if phase is None:
            raise UnknownStatusError(model.id, model.status)
        return phase

    def status(self, model: Video) -> str:
        return model.status

    def progress(self, model: Video) -> int | None:
        return model.progress

    def failure(self, model: Video) -> tuple[str | None, str | None]:
        error = model.error
        return (error.code, error.message) if error else (None, None)

    def content(self, model: Video, variant: str, index: int) -> Content:
        self._videos._check_variant(model.model, variant)
        if index != 0:
            raise ValueError("a Sora 2 video has a single output; index must be 0")
        ensure_not_expired(model.id, model.expires_at, self._videos._pipeline.clock,
                           "assets of video")
        return Content(_video_path(model.id, "/content"), {"variant": variant})

    async def delete(self, job_id: str) -> None:
        await self._videos.delete(job_id)


class Videos(Resource):
    """``client.videos``: create, inspect and download Sora 2 videos."""

    @property
    def _backend(self) -> _VideoBackend:
        return _VideoBackend(self)

    def _caps(self, model: str | None) -> ModelCapabilities:
        return self._client._capabilities_for(model) or GENERIC

    def _check_variant(self, model: str | None, variant: str) -> None:
        if variant not in _VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(_VARIANTS)}; got {variant!r}")
        if self._client.validate:
            self._caps(model).check_variant(model or "this model", variant)

    def job(self, video_id: str, *, video: Video | None = None) -> VideoJob:
        """Re-attach to an existing video by id (e.g. after a restart). No request is sent."""
        _video_path(video_id)
        return self._new_job(video_id, video)

    def _started(self, response: Response) -> VideoJob:
        """The job a create, remix, edit or extend response started (with its poll hint)."""
        video = self._parse(Video, response)
        return self._new_job(video.id, video, response.headers)

    def _new_job(self, video_id: str, video: Video | None,
                 hints: Mapping[str, str] | None = None) -> VideoJob:
        return VideoJob(self._pipeline, self._backend, video_id, video,
                        poll_interval=self._client.poll_interval,
                        max_poll_interval=self._client.max_poll_interval, hints=hints)

    @traced_create
    async def create(
        self,
        *,
        prompt: str,
        model: str = "sora-2",
        size: str | None = None,
        seconds: int | str | None = None,
        input_reference: FileInput | ImageReference | Mapping[str, str] | None = None,
        **options: Unpack[BodyRequestOptions],
    ) -> VideoJob:
        """Start a video job and return its :class:`Job` (``await`` it, or ``.result(path)``).

        ``input_reference`` is the first frame: a path, bytes or binary file (sent as
        multipart/form-data), or ``{"image_url": ...}`` / ``{"file_id": ...}`` (sent as JSON).
        Parameters are checked against the model's limits before anything is sent.
        ``options``: ``timeout``, ``extra_headers``, ``extra_query``, ``extra_body``
        (:class:`~foundry_video.BodyRequestOptions`).
        """
        caps = self._caps(model)
        seconds_value = None if seconds is None else as_int("seconds", seconds)
        self._validate(model, caps, prompt=prompt, size=size, seconds=seconds_value)
        fields: dict[str, Any] = {"model": model, "prompt": prompt, "size": size,
                                  "seconds": None if seconds_value is None else str(seconds_value)}
        fields = {k: v for k, v in fields.items() if v is not None}
        if input_reference is None:
            response = await self._post("/videos", fields, options)
        elif isinstance(input_reference, (ImageReference, dict)):
            ref = ImageReference.model_validate(input_reference)
            fields["input_reference"] = ref.model_dump(exclude_none=True)
            response = await self._post("/videos", fields, options)
        else:
            upload = await read_upload(input_reference, default_name="input_reference")
            self._validate_reference(model, caps, upload, size)
            response = await self._post("/videos", fields, options,
                                        files={"input_reference": upload})
        return self._started(response)

    def _validate(self, model: str, caps: ModelCapabilities, *, prompt: str,
                  size: str | None, seconds: int | None) -> None:
        if not isinstance(prompt, str):
            raise TypeError("prompt must be a string")
        if not self._client.validate:
            return
        caps.check_prompt(prompt)
        if size is not None:
            caps.check_size(model, size)
        if seconds is not None:
            caps.check_seconds(model, seconds)

    def _validate_reference(self, model: str, caps: ModelCapabilities, upload: Upload,
                            size: str | None) -> None:
        if not self._client.validate:
            return
        allowed = caps.input_reference_types
        if allowed is not None and upload.content_type not in allowed:
            raise ValueError(f"input_reference must be one of {', '.join(sorted(allowed))} for "
                             f"{model!r}; got {upload.content_type}")
        expected = size or caps.default_size
        actual = upload.image_size
        if expected and actual and f"{actual[0]}x{actual[1]}" != expected:
            raise ValueError(f"input_reference is {actual[0]}x{actual[1]} but the video size is "
                             f"{expected}; the image must match the size exactly")

    async def _post(self, path: str, fields: Mapping[str, Any], options: BodyRequestOptions,
                    *, files: Mapping[str, Upload] | None = None) -> Response:
        """POST a create-like request: JSON, or multipart with ``files``; never re-sent once
        it may have reached the service."""
        if files:
            return await self._pipeline.request("POST", path, form=multipart(fields, files),
                                                idempotent=False, options=options)
        return await self._pipeline.request("POST", path, json=fields, idempotent=False,
                                            options=options)

    async def retrieve(self, video_id: str, **options: Unpack[RequestOptions]) -> Video:
        """Fetch a video's current state."""
        return self._parse(Video, await self._pipeline.request("GET", _video_path(video_id),
                                                         options=options))

    def list(self, *, limit: int | None = None, order: Literal["asc", "desc"] | None = None,
             after: str | None = None,
             **options: Unpack[RequestOptions]) -> AsyncPager[Video, VideoList]:
        """List videos: ``await`` it for one page, or ``async for`` over all of them.

        ``limit`` is the page size (1 to 100); pages are followed with the ``after`` cursor.
        """
        if limit is not None and not 0 < limit <= 100:
            raise ValueError("limit must be between 1 and 100")
        if order not in (None, "asc", "desc"):
            raise ValueError("order must be 'asc' or 'desc'")
        pipeline = self._pipeline

        async def fetch(cursor: str | None) -> VideoList:
            response = await pipeline.request(
                "GET", "/videos", params={"limit": limit, "order": order, "after": cursor},
                options=options)
            return self._parse(VideoList, response)

        return AsyncPager(fetch, after)

    async def delete(self, video_id: str, **options: Unpack[RequestOptions]) -> VideoDeleted:
        """Delete a video and its assets."""
        return self._parse(VideoDeleted, await self._pipeline.request(
            "DELETE", _video_path(video_id), options=options))

    @traced_create
    async def remix(self, video_id: str, *, prompt: str,
                    **options: Unpack[BodyRequestOptions]) -> VideoJob:
        """Start a remix of a completed video with a new prompt; returns the new job."""
        self._check_prompt(prompt)
        response = await self._post(_video_path(video_id, "/remix"), {"prompt": prompt}, options)
        return self._started(response)

    @traced_create
    async def edit(self, video_id: str | None = None, *, prompt: str,
                   video_file: FileInput | None = None,
                   **options: Unpack[BodyRequestOptions]) -> VideoJob:
        """Start an edit of a completed video (by id) or of an uploaded clip; returns the new job.

        Newer guidance prefers edits over :meth:`remix`. Give exactly one of ``video_id``
        and ``video_file``.
        """
        self._check_prompt(prompt)
        response = await self._post_with_video("/videos/edits", video_id, video_file,
                                               {"prompt": prompt}, options)
        return self._started(response)

    @traced_create
    async def extend(self, video_id: str | None = None, *, prompt: str, seconds: int | str,
                     video_file: FileInput | None = None,
                     **options: Unpack[BodyRequestOptions]) -> VideoJob:
        """Extend a completed video by ``seconds`` more; returns the new job.

        The new video's ``seconds`` is the stitched total. Give exactly one of ``video_id``
        and ``video_file``.
        """
        self._check_prompt(prompt)
        length = as_int("seconds", seconds)
        if self._client.validate:
            allowed = {s for caps in self._client.capabilities.values()
                       for s in (caps.extension_seconds or ())}
            if length <= 0 or (allowed and length not in allowed):
                raise ValueError(f"extension seconds={length} is not supported; allowed: "
                                 f"{', '.join(str(s) for s in sorted(allowed))}")
        response = await self._post_with_video("/videos/extensions", video_id, video_file,
                                               {"prompt": prompt, "seconds": str(length)}, options)
        return self._started(response)

    async def create_character(self, video_file: FileInput, *, name: str,
                               **options: Unpack[BodyRequestOptions]) -> VideoCharacter:
        """Create a reusable character (cameo) from an uploaded video clip."""
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 80:
            raise ValueError("name must be 1 to 80 characters")
        upload = await read_upload(video_file, default_name="character")
        response = await self._post("/videos/characters", {"name": name}, options,
                                    files={"video": upload})
        return self._parse(VideoCharacter, response)

    async def retrieve_character(self, character_id: str,
                                 **options: Unpack[RequestOptions]) -> VideoCharacter:
        """Fetch a character by id."""
        response = await self._pipeline.request(
            "GET", f"/videos/characters/{path_segment(character_id, 'character_id')}",
            options=options)
        return self._parse(VideoCharacter, response)

    def _check_prompt(self, prompt: str) -> None:
        if not isinstance(prompt, str):
            raise TypeError("prompt must be a string")
        if self._client.validate:
            GENERIC.check_prompt(prompt)

    async def _post_with_video(self, path: str, video_id: str | None,
                               video_file: FileInput | None, fields: dict[str, Any],
                               options: BodyRequestOptions) -> Response:
        if (video_id is None) == (video_file is None):
            raise ValueError("give exactly one of video_id and video_file")
        if video_id is not None:
            _video_path(video_id)
            return await self._post(path, {"video": {"id": video_id}, **fields}, options)
        upload = await read_upload(video_file, default_name="video")
        return await self._post(path, fields, options, files={"video": upload})

    async def create_many(
        self, requests: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        **options: Any,
    ) -> builtins.list[BatchResult[Mapping[str, Any]]]:
        """Create, wait for and optionally download many videos with bounded concurrency.

        Each request is a mapping of :meth:`create` keyword arguments. ``options`` are those
        of :func:`foundry_video._batch.create_many` (``concurrency=8``, ``download_dir``,
        ``variant``, ``timeout``, ``limiter``, ``on_result``). Returns one
        :class:`~foundry_video.BatchResult` per request, in order; a failed item carries its
        error instead of cancelling the batch.
        """
        from .._batch import create_many

        return await create_many(self, requests, **options)

    async def download(
        self,
        video_id: str,
        path: str | os.PathLike[str],
        *,
        variant: str = "video",
        timeout: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> Path:
        """Download a completed video's ``variant`` to ``path`` (atomic, resumable).

        ``timeout`` bounds the whole download (``APITimeoutError`` when it passes).
        """
        self._check_variant(None, variant)
        return await download_to_path(
            self._pipeline, _video_path(video_id, "/content"), path,
            params={"variant": variant, **(extra_query or {})},
            deadline=Deadline(self._pipeline.clock, timeout), job_id=video_id,
            headers=extra_headers)
