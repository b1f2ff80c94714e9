"""The Sora 1 preview video generation jobs API (``/video/generations/...``), api-spec.md §4.

Routes (under ``/openai/v1`` and ``/v1``; operation names in brackets, for faults):

* ``POST   /video/generations/jobs``                     [create] JSON or multipart
* ``GET    /video/generations/jobs``                     [list]
* ``GET    /video/generations/jobs/{job-id}``            [retrieve]
* ``DELETE /video/generations/jobs/{job-id}``            [delete] -> 204
* ``GET    /video/generations/{generation-id}``          [retrieve_generation]
* ``GET|HEAD /video/generations/{generation-id}/content/video?quality=high|low``  [content]
* ``GET    /video/generations/{generation-id}/content/thumbnail``                 [content]

Choices where the spec is UNCERTAIN (each also noted at the code):

* ``api-version`` must be ``preview`` ([AZ-REF] and [AZ-QS] always send it; no source shows
  the service without it): missing or any other value is a 400 ``BadRequest``.
* Error bodies are wrapped in ``{"error": {...}}`` (see :func:`inner_error_content_filter`).
* ``cancelled``: no operation cancels a job, so only a fault gets there
  (``Fault("job_failed", code="cancelled")``).
* ``DELETE`` works in every status (204): with no cancel operation, deleting is the only way
  a client can abandon a job, and [AZ-SPEC] states no precondition.
* List order is newest first (``after`` pages to older jobs, ``before`` to newer ones), as
  in the other Azure OpenAI list operations; ``limit`` may be omitted (default 10) and must
  be 1 to 100; an unknown cursor is a 400.
* Generation ids are ``gen_`` + 26 characters (the ``gen_`` prefix is only in examples); a
  generation exists (``GET`` and content) once its job has ``succeeded``, else 404.
* Jobs are deleted ``retention_seconds`` after creation ("available for up to 24 h").
"""

from __future__ import annotations

import logging

from aiohttp import web

from ..capabilities import ModelCapabilities
from ._content import RenderKey, ranged_response, render_failed
from ._context import Call, Routes, ServiceContext
from ._errors import (
    ApiError,
    bad_api_version,
    inner_error_content_filter,
    not_found,
    openai_envelope,
)
from ._faults import Fault
from ._sora1_inputs import (
    check_prompt,
    check_seconds,
    check_size,
    check_variants,
    get_int,
    inpaint_items,
    missing,
    range_error,
    read_fields,
)
from ._sora1_state import (
    JOB_STATUSES,
    STORE_NAME,
    GenerationJob,
    generation_jobs,
    new_ulid_id,
)
from ._state import JobStore
from ._validate import invalid_type, invalid_value

__all__ = ["register_generation_jobs_routes"]

log = logging.getLogger("foundry_video.emulator")

API_VERSION = "preview"
BASE_MODEL = "sora"
"""Capability-table entry for deployment names the table does not know (see ``_caps``)."""
LIST_DEFAULT_LIMIT = 10
LIST_MAX_LIMIT = 100
THUMBNAIL_TYPE = "image/jpg"  # exactly as [AZ-SPEC] writes it (not the registered image/jpeg)


def register_generation_jobs_routes(routes: Routes, ctx: ServiceContext) -> None:
    """Add the Sora 1 jobs API to ``routes`` (the static ``jobs`` path before ``{id}``).

    Path parameters are named ``video_id`` because the middleware matches
    ``Fault.video_id`` against that name: faults can then target a job or a generation.
    """
    api = _GenerationJobsApi(ctx)
    ctx.faults.on_add[STORE_NAME] = api.apply_fault
    base = "/video/generations"
    routes.add("POST", f"{base}/jobs", api.create, operation="create", rate_limited=True)
    routes.add("GET", f"{base}/jobs", api.list, operation="list")
    routes.add("GET", base + "/jobs/{video_id}", api.retrieve, operation="retrieve")
    routes.add("DELETE", base + "/jobs/{video_id}", api.delete, operation="delete")
    routes.add("GET", base + "/{video_id}", api.retrieve_generation,
               operation="retrieve_generation")
    routes.add("GET", base + "/{video_id}/content/video", api.video, operation="content")
    routes.add("HEAD", base + "/{video_id}/content/video", api.video, operation="content")
    routes.add("GET", base + "/{video_id}/content/thumbnail", api.thumbnail, operation="content")


class _GenerationJobsApi:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # -- helpers ------------------------------------------------------------------------

    @property
    def store(self) -> JobStore[GenerationJob]:
        # Looked up each time: a restart without keep_state replaces ctx.state.
        return generation_jobs(self.ctx.state)

    def _begin(self, request: web.Request) -> float:
        """Common start of every handler: ``api-version`` check, retention purge; ``now``."""
        version = request.query.get("api-version")
        if version != API_VERSION:
            # The middleware already refused versions no surface serves; this also refuses a
            # missing one and "v1", which only the Sora 2 surface accepts.
            raise bad_api_version(version, (API_VERSION,), optional=False)
        now = self.ctx.now()
        for job in self.store:
            if now >= job.purge_at:
                self.store.delete(job.id)
        return now

    def _job(self, job_id: str) -> GenerationJob:
        job = self.store.get(job_id)
        if job is None:
            raise not_found(f"Video generation job with id '{job_id}' not found.", param="job-id")
        return job

    def _find(self, some_id: str) -> tuple[GenerationJob, int | None] | None:
        """The job a job id or generation id belongs to, and the generation's index."""
        job = self.store.get(some_id)
        if job is not None:
            return job, None
        for job in self.store:
            index = job.generation_index(some_id)
            if index is not None:
                return job, index
        return None

    def _generation(self, generation_id: str, now: float) -> tuple[GenerationJob, int]:
        """A published generation: its job has succeeded (before that the id is unknown)."""
        found = self._find(generation_id)
        if found is None or found[1] is None or found[0].status(now) != "succeeded":
            raise not_found(f"Video generation with id '{generation_id}' not found.",
                            param="generation-id")
        return found[0], found[1]

    def apply_fault(self, fault: Fault) -> None:
        """``FaultSet.on_add`` hook: a job-outcome or expiry fault naming an existing job
        (or one of its generations) applies to it at once, as ``Emulator.inject`` does for
        Sora 2 videos."""
        if fault.video_id is None or fault.kind not in ("job_failed", "content_policy",
                                                        "expire_content"):
            return
        found = self._find(fault.video_id)
        if found is None:
            return
        job = found[0]
        if fault.kind == "expire_content":
            job.expired_at = self.ctx.now()
        elif fault.kind == "job_failed":
            job.failure_reason = fault.code or "internal_error"
        else:
            job.failure_reason = fault.code or "input_moderation"
        fault.fired += 1

    def _caps(self, model: str) -> ModelCapabilities:
        """Limits for ``model``: its table entry, else the ``sora`` entry.

        Any deployment behind this API is a Sora 1 deployment, and the service enforces the
        Sora 1 limits whatever the deployment is called, hence the ``sora`` fallback (only
        the generic checks run if the table has no ``sora`` entry either).
        """
        table = self.ctx.capabilities
        caps = table.resolve(model)
        if caps is None:
            caps = table.resolve(BASE_MODEL) or ModelCapabilities(api="generation_jobs",
                                                                  audio=False)
        if caps.api != "generation_jobs":
            # Azure's answer when a deployment's model does not serve the operation.
            raise ApiError(400, {"error": {
                "code": "OperationNotSupported",
                "message": f"The video generation jobs operation does not work with the "
                f"specified model, {model}. Please choose different model and try again. You "
                "can learn more about which models can be used with each operation here: "
                "https://go.microsoft.com/fwlink/?linkid=2197993.",
            }})
        return caps

    def _outcome(self, call: Call) -> str | None:
        """The ``failure_reason`` job-outcome faults decide for the job being created."""
        ctx = self.ctx
        fault = ctx.take_fault(call, ["content_policy"], stages={"create"})
        if fault is not None:
            raise inner_error_content_filter(category=fault.category)
        fault = ctx.take_fault(call, ["content_policy"], stages={"completion"})
        if fault is not None:
            return fault.code or "input_moderation"
        # Sora 1 has no failure message field: Fault.message is not shown anywhere.
        fault = ctx.take_fault(call, ["job_failed"])
        if fault is not None:
            return fault.code or "internal_error"
        return None

    # -- create ---------------------------------------------------------------------------

    async def create(self, request: web.Request, call: Call) -> web.StreamResponse:
        now = self._begin(request)
        fields, files, form = await read_fields(request)
        model = fields.get("model")
        if model is None:
            raise missing("model")
        if not isinstance(model, str) or not model.strip():
            raise invalid_type("model", "a non-empty string", model)
        self.ctx.check_model(model)
        caps = self._caps(model)
        prompt = check_prompt(fields)
        width = get_int(fields, "width", form=form)
        height = get_int(fields, "height", form=form)
        size = check_size(width, height, caps)
        n_seconds = check_seconds(get_int(fields, "n_seconds", form=form,
                                          default=caps.default_seconds or 5), caps)
        n_variants = check_variants(get_int(fields, "n_variants", form=form, default=1),
                                    size, caps)
        inpaint = inpaint_items(fields.get("inpaint_items"), files, caps) if form else None
        try:
            self.ctx.check_content_policy(prompt)
        except ApiError:
            # Same blocked-word rule as Sora 2, but the Sora 1 body form.
            raise inner_error_content_filter() from None
        failure = self._outcome(call)
        ctx = self.ctx
        finishes = now + ctx.queue_seconds + ctx.job_seconds
        job = GenerationJob(
            id=new_ulid_id("task_", now), model=model, prompt=prompt, width=width,
            height=height, n_seconds=n_seconds, n_variants=n_variants, created=now,
            queue_seconds=ctx.queue_seconds, job_seconds=ctx.job_seconds,
            retention_seconds=ctx.retention_seconds,
            generation_ids=[new_ulid_id("gen_", finishes) for _ in range(n_variants)],
            inpaint_items=inpaint, failure_reason=failure,
        )
        self.store.add(job)
        return web.json_response(job.to_json(now, initial=True))

    # -- read, list, delete ----------------------------------------------------------------

    async def retrieve(self, request: web.Request, call: Call) -> web.StreamResponse:
        now = self._begin(request)
        return web.json_response(self._job(request.match_info["video_id"]).to_json(now))

    async def list(self, request: web.Request, call: Call) -> web.StreamResponse:
        now = self._begin(request)
        query = request.query
        limit = LIST_DEFAULT_LIMIT
        raw_limit = query.get("limit")
        if raw_limit is not None:
            limit = get_int({"limit": raw_limit}, "limit", form=True)
            if not 1 <= limit <= LIST_MAX_LIMIT:
                raise range_error("limit", limit, 1, LIST_MAX_LIMIT)
        wanted: set[str] = set()
        for status in query.get("statuses", "").split(","):
            status = status.strip()
            if status and status not in JOB_STATUSES:
                raise invalid_value("statuses", status, JOB_STATUSES)
            if status:
                wanted.add(status)
        items = sorted(self.store, key=lambda j: j.sort_key, reverse=True)  # newest first
        if wanted:
            items = [j for j in items if j.status(now) in wanted]
        after, before = query.get("after") or None, query.get("before") or None
        for name, cursor in (("after", after), ("before", before)):
            if cursor is None:
                continue
            key = self.store.cursor_key(cursor)  # deleted jobs keep a usable cursor
            if key is None:
                # UNCERTAIN: the service's answer to an unknown cursor is undocumented.
                raise invalid_value(name, cursor)
            if name == "after":
                items = [j for j in items if j.sort_key < key]
            else:
                items = [j for j in items if j.sort_key > key]
        has_more = len(items) > limit
        # Paging backwards (only ``before``): the page is the jobs *next to* the cursor.
        page = items[-limit:] if before is not None and after is None else items[:limit]
        return web.json_response({
            "object": "list",
            "data": [job.to_json(now) for job in page],
            "has_more": has_more,
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
        })

    async def delete(self, request: web.Request, call: Call) -> web.StreamResponse:
        self._begin(request)
        job_id = request.match_info["video_id"]
        self._job(job_id)
        # Any status: see the module docstring (a running job is simply forgotten).
        self.store.delete(job_id)
        return web.Response(status=204)

    async def retrieve_generation(self, request: web.Request, call: Call) -> web.StreamResponse:
        now = self._begin(request)
        job, index = self._generation(request.match_info["video_id"], now)
        return web.json_response(job.generation_json(index))

    # -- content --------------------------------------------------------------------------

    async def video(self, request: web.Request, call: Call) -> web.StreamResponse:
        return await self._content(request, call, "video")

    async def thumbnail(self, request: web.Request, call: Call) -> web.StreamResponse:
        return await self._content(request, call, "thumbnail_jpeg")

    def _take(self, call: Call, kind: str, job: GenerationJob, generation_id: str) -> bool:
        """A content fault aimed at this generation, its job, or any content request."""
        ctx = self.ctx
        return (ctx.take_fault(call, [kind], video_id=generation_id) is not None
                or ctx.take_fault(call, [kind], video_id=job.id) is not None)

    async def _content(self, request: web.Request, call: Call, variant: str) -> web.StreamResponse:
        now = self._begin(request)
        low = False
        if variant == "video":
            quality = request.query.get("quality", "high")  # [AZ-SPEC]: default high
            if quality not in ("high", "low"):
                raise invalid_value("quality", quality, ["high", "low"])
            low = quality == "low"
        generation_id = request.match_info["video_id"]
        job, index = self._generation(generation_id, now)
        if self._take(call, "expire_content", job, generation_id):
            job.expired_at = now
        if job.content_expired(now):
            # UNCERTAIN: 404 as on the Sora 2 surface: the assets are gone for good.
            raise ApiError(404, openai_envelope(
                f"The content of video generation '{generation_id}' has expired and is no "
                "longer available.", param="generation-id", code="video_expired",
            ))
        width, height = job.width, job.height
        if low:
            # quality=low: a half-size render (even sides, which H.264 4:2:0 needs).
            width, height = 2 * round(width / 4), 2 * round(height / 4)
        # Sora 1 has no audio; the variant index is the seed, so variants differ.
        key = RenderKey(variant, job.prompt, width, height, job.n_seconds, False, seed=index)
        try:
            data = await self.ctx.content.get(key)
        except Exception as exc:  # e.g. PyAV missing, or a size the encoder refuses
            raise render_failed(variant, generation_id, exc) from None
        ignore = bool(request.headers.get("Range")) and self._take(
            call, "ignore_range", job, generation_id)
        ctype = "video/mp4" if variant == "video" else THUMBNAIL_TYPE
        lie = (self.ctx.take_fault(call, ["short_range", "wrong_offset"], video_id=generation_id)
               or self.ctx.take_fault(call, ["short_range", "wrong_offset"], video_id=job.id))
        return ranged_response(request, data, content_type=ctype, last_modified=job.finishes,
                               ignore_range=ignore, lie=lie)

