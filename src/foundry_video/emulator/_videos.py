"""The Sora 2 Videos API surface (``/videos...``), per api-spec.md §3 and openapi-videos.yaml.

Choices where the spec is UNCERTAIN (each also noted at the code):

* ``GET /videos`` defaults: ``limit=20``, ``order=desc`` (OpenAI list conventions); an
  unknown ``after`` cursor is a 400.
* Content before completion (or of a failed job): 400 ``video_not_ready``; after
  ``expires_at``: 404 ``video_expired``.
* Deleting a ``queued``/``in_progress`` video: 400 ``invalid_state`` (not 409, which
  OpenAI-style clients retry).
* Edits and extensions set ``remixed_from_video_id`` to the source video (the schema has
  no other field that links a derived video to its source).
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
from typing import Any, Literal

from aiohttp import web

from ..capabilities import ModelCapabilities, parse_size
from ._bodies import ParsedBody, UploadedFile, parse_body
from ._content import CONTENT_TYPES, RenderKey, ranged_response, render_failed
from ._context import Call, Routes, ServiceContext
from ._errors import ApiError, content_filter_error, invalid_request, not_found, openai_envelope
from ._faults import Fault
from ._state import FAILED_MESSAGE, MODERATION_MESSAGE, Character, JobFailure, VideoJob, new_id
from ._validate import (
    DEFAULT_MODEL,
    capabilities_for,
    check_unknown,
    get_input_reference,
    get_model,
    get_prompt,
    get_seconds,
    get_size,
    invalid_type,
    invalid_value,
    uploaded_mime,
)

__all__ = ["register_videos_routes"]

log = logging.getLogger("foundry_video.emulator")

LIST_DEFAULT_LIMIT = 20
LIST_DEFAULT_ORDER = "desc"


def register_videos_routes(routes: Routes, ctx: ServiceContext) -> None:
    """Add the Sora 2 Videos API to ``routes`` (static paths before ``{video_id}``)."""
    api = _VideosApi(ctx)
    routes.add("POST", "/videos", api.create, operation="create", rate_limited=True)
    routes.add("GET", "/videos", api.list, operation="list")
    routes.add("POST", "/videos/edits", api.edit, operation="edit", rate_limited=True)
    routes.add("POST", "/videos/extensions", api.extend, operation="extend", rate_limited=True)
    routes.add("POST", "/videos/characters", api.create_character, operation="create_character")
    routes.add("GET", "/videos/characters/{character_id}", api.retrieve_character,
               operation="retrieve_character")
    routes.add("GET", "/videos/{video_id}", api.retrieve, operation="retrieve")
    routes.add("DELETE", "/videos/{video_id}", api.delete, operation="delete")
    routes.add("POST", "/videos/{video_id}/remix", api.remix, operation="remix", rate_limited=True)
    routes.add("GET", "/videos/{video_id}/content", api.content, operation="content")
    routes.add("HEAD", "/videos/{video_id}/content", api.content, operation="content")


class _VideosApi:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # -- helpers ------------------------------------------------------------------------

    def _job(self, video_id: str) -> VideoJob:
        job = self.ctx.state.videos.get(video_id)
        if job is None:
            raise not_found(f"Video with id '{video_id}' not found.", param="video_id")
        return job

    def _completed_source(self, video_id: str, action: str) -> VideoJob:
        job = self._job(video_id)
        status = job.status(self.ctx.now())
        if status != "completed":
            raise invalid_request(
                f"Video '{video_id}' cannot be {action}: its status is '{status}'; only "
                "completed videos can be used.",
                param="video_id", code="invalid_state",
            )
        return job

    def _outcome(self, call: Call) -> JobFailure | None:
        """Job-outcome faults for a job being created by this call."""
        ctx = self.ctx
        fault = ctx.take_fault(call, ["content_policy"], stages={"create"})
        if fault is not None:
            raise content_filter_error(category=fault.category)
        fault = ctx.take_fault(call, ["content_policy"], stages={"completion"})
        if fault is not None:
            return JobFailure(fault.code or "moderation_blocked", fault.message or MODERATION_MESSAGE)
        fault = ctx.take_fault(call, ["job_failed"])
        if fault is not None:
            return JobFailure(fault.code or "internal_error", _echo(fault, call, FAILED_MESSAGE))
        return None

    def _start(
        self,
        call: Call,
        *,
        kind: str,
        model: str,
        prompt: str,
        size: str,
        seconds: int,
        source: str | None = None,
        input_reference: dict[str, Any] | None = None,
        input_image: bytes | None = None,
    ) -> web.Response:
        ctx = self.ctx
        ctx.check_content_policy(prompt)
        failure = self._outcome(call)
        job = VideoJob(
            id=new_id("video_"), model=model, prompt=prompt, size=size, seconds=seconds,
            created=ctx.now(), queue_seconds=ctx.queue_seconds, job_seconds=ctx.job_seconds,
            retention_seconds=ctx.retention_seconds, remixed_from_video_id=source,
            failure=failure, kind=kind, input_reference=input_reference,
            progress_curve=ctx.progress_curve,
            input_image=input_image,
        )
        ctx.state.videos.add(job)
        return web.json_response(job.to_json(job.created, initial=True),
                                 headers=self._poll_headers(job, job.created))

    def _source_ref(self, body: ParsedBody) -> VideoJob | UploadedFile:
        """``video``: ``{"id": ...}`` of a completed video, or an uploaded MP4 (multipart)."""
        if "video" not in body.fields:
            raise invalid_request("Missing required parameter: 'video'.", param="video",
                                  code="missing_required_parameter")
        ref = body.fields["video"]
        if isinstance(ref, UploadedFile):
            if not uploaded_mime(ref).startswith("video/"):
                raise invalid_request(
                    f"Invalid file format for 'video': {uploaded_mime(ref)}. Supported formats "
                    "are: 'video/mp4'.", param="video", code="unsupported_file_mimetype",
                )
            return ref
        if not isinstance(ref, dict):
            raise invalid_type("video", "an object with an 'id'", ref)
        video_id = ref.get("id")
        if not isinstance(video_id, str) or not video_id:
            raise invalid_type("video.id", "a string", video_id)
        return self._completed_source(video_id, "used as a source")

    def _poll_headers(self, job: VideoJob, now: float) -> dict[str, str]:
        """``openai-poll-after-ms`` while the job runs: ``poll_after_ms``, or (``"auto"``) the
        time to the next status change, at most a quarter of the run."""
        hint = self.ctx.poll_after_ms
        if hint is None or job.status(now) not in ("queued", "in_progress"):
            return {}
        if hint == "auto":
            wait = job.seconds_until_change(now)
            if job.status(now) == "in_progress" and job.job_seconds > 0:
                wait = min(wait, job.job_seconds / 4)  # so pollers see progress move
            hint = max(10, min(20_000, math.ceil(wait * 1000)))
        return {"openai-poll-after-ms": str(hint)}

    # -- handlers -------------------------------------------------------------------------

    async def create(self, request: web.Request, call: Call) -> web.StreamResponse:
        body = await parse_body(request)
        check_unknown(body.fields, {"model", "prompt", "seconds", "size", "input_reference"})
        model = get_model(body.fields)
        self.ctx.check_model(model)
        caps = capabilities_for(self.ctx.capabilities, model)
        prompt = get_prompt(body.fields, caps)
        size = get_size(body.fields, caps)
        seconds = get_seconds(body.fields, caps)
        reference = get_input_reference(body, caps)
        return self._start(call, kind="create", model=model, prompt=prompt, size=size,
                           seconds=seconds, input_reference=reference,
                           input_image=_reference_image(body.fields.get("input_reference")))

    async def list(self, request: web.Request, call: Call) -> web.StreamResponse:
        query = request.query
        raw_limit = query.get("limit")
        limit = LIST_DEFAULT_LIMIT
        if raw_limit is not None:
            try:
                limit = int(raw_limit)
            except ValueError:
                raise invalid_type("limit", "an integer", raw_limit) from None
            if not 0 <= limit <= 100:
                which = "below minimum value" if limit < 0 else "above maximum value"
                code = "integer_below_min_value" if limit < 0 else "integer_above_max_value"
                raise invalid_request(
                    f"Invalid 'limit': integer {which}. Expected a value between 0 and 100, "
                    f"but got {limit} instead.", param="limit", code=code,
                )
        raw_order = query.get("order", LIST_DEFAULT_ORDER)
        if raw_order not in ("asc", "desc"):
            raise invalid_value("order", raw_order, ["asc", "desc"])
        order: Literal["asc", "desc"] = "asc" if raw_order == "asc" else "desc"
        after = query.get("after") or None
        try:
            page, has_more = self.ctx.state.videos.page(limit=limit, order=order, after=after)
        except KeyError:
            # UNCERTAIN: the service's answer to an unknown cursor is undocumented.
            raise invalid_value("after", after) from None
        now = self.ctx.now()
        return web.json_response({
            "object": "list",
            "data": [job.to_json(now) for job in page],
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
            "has_more": has_more,
        })

    async def retrieve(self, request: web.Request, call: Call) -> web.StreamResponse:
        job = self._job(request.match_info["video_id"])
        now = self.ctx.now()
        return web.json_response(job.to_json(now), headers=self._poll_headers(job, now))

    async def delete(self, request: web.Request, call: Call) -> web.StreamResponse:
        video_id = request.match_info["video_id"]
        job = self._job(video_id)
        status = job.status(self.ctx.now())
        if status not in ("completed", "failed"):
            # [OAS]: "Permanently delete a completed or failed video". UNCERTAIN status code:
            # 400 rather than 409, because OpenAI-style clients retry 409.
            raise invalid_request(
                f"Video '{video_id}' cannot be deleted while its status is '{status}'; only "
                "completed or failed videos can be deleted.",
                param="video_id", code="invalid_state",
            )
        self.ctx.state.videos.delete(video_id)
        return web.json_response({"id": video_id, "object": "video.deleted", "deleted": True})

    async def remix(self, request: web.Request, call: Call) -> web.StreamResponse:
        body = await parse_body(request)
        check_unknown(body.fields, {"prompt"})
        source = self._job(request.match_info["video_id"])
        caps = capabilities_for(self.ctx.capabilities, source.model)
        prompt = get_prompt(body.fields, caps)
        source = self._completed_source(source.id, "remixed")
        return self._start(call, kind="remix", model=source.model, prompt=prompt,
                           size=source.size, seconds=source.seconds, source=source.id)

    async def edit(self, request: web.Request, call: Call) -> web.StreamResponse:
        body = await parse_body(request)
        check_unknown(body.fields, {"video", "prompt"})
        ref = self._source_ref(body)
        model = ref.model if isinstance(ref, VideoJob) else DEFAULT_MODEL
        caps = capabilities_for(self.ctx.capabilities, model)
        prompt = get_prompt(body.fields, caps)
        size, seconds, source = self._source_shape(ref, caps)
        return self._start(call, kind="edit", model=model, prompt=prompt, size=size,
                           seconds=seconds, source=source)

    async def extend(self, request: web.Request, call: Call) -> web.StreamResponse:
        body = await parse_body(request)
        check_unknown(body.fields, {"video", "prompt", "seconds"})
        ref = self._source_ref(body)
        model = ref.model if isinstance(ref, VideoJob) else DEFAULT_MODEL
        caps = capabilities_for(self.ctx.capabilities, model)
        prompt = get_prompt(body.fields, caps)
        extra = get_seconds(body.fields, caps, required=True, extension=True)
        size, seconds, source = self._source_shape(ref, caps)
        # [OAS]: for extensions ``seconds`` is the stitched total duration.
        return self._start(call, kind="extend", model=model, prompt=prompt, size=size,
                           seconds=seconds + extra, source=source)

    @staticmethod
    def _source_shape(
        ref: VideoJob | UploadedFile, caps: ModelCapabilities
    ) -> tuple[str, int, str | None]:
        if isinstance(ref, VideoJob):
            return ref.size, ref.seconds, ref.id
        # An uploaded video is not probed (that would need PyAV): assume the model defaults.
        return caps.default_size or "720x1280", caps.default_seconds or 4, None

    async def create_character(self, request: web.Request, call: Call) -> web.StreamResponse:
        body = await parse_body(request)
        check_unknown(body.fields, {"video", "name"})
        video = body.fields.get("video")
        if video is None:
            raise invalid_request("Missing required parameter: 'video'.", param="video",
                                  code="missing_required_parameter")
        if not isinstance(video, UploadedFile):
            raise invalid_type("video", "a file", video)
        if not uploaded_mime(video).startswith("video/"):
            raise invalid_request(
                f"Invalid file format for 'video': {uploaded_mime(video)}. Supported formats "
                "are: 'video/mp4'.", param="video", code="unsupported_file_mimetype",
            )
        name = get_prompt(body.fields, ModelCapabilities(max_prompt_chars=80), param="name")
        character = Character(id=new_id("char_"), name=name, created=self.ctx.now())
        self.ctx.state.characters.add(character)
        return web.json_response(character.to_json())

    async def retrieve_character(self, request: web.Request, call: Call) -> web.StreamResponse:
        character_id = request.match_info["character_id"]
        character = self.ctx.state.characters.get(character_id)
        if character is None:
            raise not_found(f"Character with id '{character_id}' not found.",
                            param="character_id")
        return web.json_response(character.to_json())

    async def content(self, request: web.Request, call: Call) -> web.StreamResponse:
        ctx = self.ctx
        video_id = request.match_info["video_id"]
        job = self._job(video_id)
        variant = request.query.get("variant", "video")
        if variant not in CONTENT_TYPES:
            raise invalid_value("variant", variant, list(CONTENT_TYPES))
        caps = capabilities_for(ctx.capabilities, job.model)
        if variant not in caps.variants:
            raise invalid_value("variant", variant, sorted(caps.variants))
        now = ctx.now()
        status = job.status(now)
        if status != "completed":
            # UNCERTAIN: 404 or 400 are both plausible; 400 says "not yet", not "never".
            raise invalid_request(
                f"Video '{video_id}' is not ready for download: its status is '{status}'.",
                param="video_id", code="video_not_ready",
            )
        if ctx.take_fault(call, ["expire_content"], video_id=video_id) is not None:
            job.expired_at = now
        if job.content_expired(now):
            # UNCERTAIN: 404 chosen because the assets are gone for good.
            raise ApiError(404, openai_envelope(
                f"The content of video '{video_id}' has expired and is no longer available.",
                param="video_id", code="video_expired",
            ))
        width, height = parse_size(job.size)
        if variant == "video":
            key = RenderKey.video(job.prompt, width, height, job.seconds, caps.audio,
                                  image=job.input_image)
        else:
            key = RenderKey(variant, job.prompt, width, height, job.seconds, caps.audio)
        try:
            data = await ctx.content.get(key)
        except Exception as exc:  # e.g. PyAV missing, or a size the encoder refuses
            raise render_failed(variant, video_id, exc) from None
        return self._ranged(request, call, job, variant, data)

    def _ranged(
        self, request: web.Request, call: Call, job: VideoJob, variant: str, data: bytes
    ) -> web.Response:
        # The ignore_range fault is only spent on a request that actually asked for a range.
        ignore = bool(request.headers.get("Range")) and self.ctx.take_fault(
            call, ["ignore_range"], video_id=job.id) is not None
        lie = self.ctx.take_fault(call, ["short_range", "wrong_offset"], video_id=job.id)
        return ranged_response(request, data, content_type=CONTENT_TYPES[variant],
                               last_modified=job.finishes, ignore_range=ignore, lie=lie)


def _echo(fault: Fault, call: Call, default: str) -> str:
    """The fault's message, with the request's key in it for an ``echo_key`` fault."""
    message = fault.message or default
    if fault.echo_key and call.credential:
        message += f" (request credential: {call.credential})"
    return message


def _reference_image(ref: object) -> bytes | None:
    """The input image's bytes: an uploaded file, or a base64 ``data:`` URL (else ``None``)."""
    if isinstance(ref, UploadedFile):
        return ref.data
    if isinstance(ref, dict) and isinstance(ref.get("image_url"), str):
        header, sep, payload = ref["image_url"].partition(",")
        if header.startswith("data:") and header.endswith(";base64") and sep:
            try:
                return base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                return None
    return None
