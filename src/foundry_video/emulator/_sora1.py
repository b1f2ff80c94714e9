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

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import BodyPartReader, web

from ..capabilities import ModelCapabilities, parse_size
from ._bodies import UploadedFile, parse_body
from ._content import RenderKey, ranged_response
from ._context import Call, Routes, ServiceContext
from ._errors import (
    ApiError,
    bad_api_version,
    inner_error_content_filter,
    invalid_request,
    not_found,
    openai_envelope,
)
from ._faults import Fault
from ._sora1_state import (
    JOB_STATUSES,
    STORE_NAME,
    GenerationJob,
    generation_jobs,
    new_ulid_id,
)
from ._state import JobStore
from ._validate import DEFAULT_IMAGE_TYPES, invalid_type, invalid_value, supported, uploaded_mime

__all__ = ["register_generation_jobs_routes"]

log = logging.getLogger("foundry_video.emulator")

API_VERSION = "preview"
BASE_MODEL = "sora"
"""Capability-table entry for deployment names the table does not know (see ``_caps``)."""
LIST_DEFAULT_LIMIT = 10
LIST_MAX_LIMIT = 100
MAX_IMAGES = 2
MAX_VIDEOS = 1
SPEC_SECONDS = (1, 20)
SPEC_MAX_VARIANTS = 5
THUMBNAIL_TYPE = "image/jpg"  # exactly as [AZ-SPEC] writes it (not the registered image/jpeg)
_JSON_FIELDS = frozenset({"prompt", "width", "height", "n_seconds", "n_variants", "model"})
_MULTIPART_FIELDS = _JSON_FIELDS | {"inpaint_items"}
_INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits only (str.isdigit also takes "²")
_ITEM_FIELDS = frozenset({"frame_index", "type", "file_name", "crop_bounds"})
_CROP_DEFAULTS = {"left_fraction": 0.0, "top_fraction": 0.0, "right_fraction": 1.0,
                  "bottom_fraction": 1.0}


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


def _missing(name: str) -> ApiError:
    return invalid_request(f"Missing required parameter: '{name}'.", param=name,
                           code="missing_required_parameter")


def _get_int(fields: Mapping[str, Any], name: str, *, form: bool, default: int | None = None) -> int:
    """An integer field: a JSON number, or (``form``) the decimal string a multipart part carries."""
    if name not in fields:
        if default is None:
            raise _missing(name)
        return default
    value = fields[name]
    if form and isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return int(text)
        raise invalid_request(
            f"Invalid value for '{name}': expected an integer, but got {value!r} instead.",
            param=name, code="invalid_type",
        )
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(name, "an integer", value)
    return value


def _range_error(name: str, value: int, low: int, high: int) -> ApiError:
    below = value < low
    return invalid_request(
        f"Invalid '{name}': integer {'below minimum' if below else 'above maximum'} value. "
        f"Expected a value between {low} and {high}, but got {value} instead.",
        param=name, code="integer_below_min_value" if below else "integer_above_max_value",
    )


async def _read_multipart(request: web.Request) -> tuple[dict[str, str], list[UploadedFile]]:
    """Text fields and the repeated ``files`` parts (``parse_body`` keeps one per name)."""
    fields: dict[str, str] = {}
    files: list[UploadedFile] = []
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue  # nested multipart or unnamed part: the API has none
        data = bytes(await part.read(decode=True))
        if part.name == "files":
            ctype = part.headers.get("Content-Type", "application/octet-stream")
            files.append(UploadedFile(part.filename, ctype, data))
        elif part.filename is not None:
            raise invalid_request(
                f"Unexpected file part '{part.name}': upload media as repeated 'files' parts.",
                param=part.name, code="unknown_parameter",
            )
        else:
            fields[part.name] = data.decode(part.get_charset("utf-8"), errors="replace")
    return fields, files


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
        form = request.content_type == "multipart/form-data"
        fields: Mapping[str, Any]
        files: list[UploadedFile] = []
        if form:
            fields, files = await _read_multipart(request)
            allowed = _MULTIPART_FIELDS
        else:
            body = await parse_body(request)
            if body.kind == "form":
                raise invalid_request(
                    "Unsupported content type: 'application/x-www-form-urlencoded'. Send "
                    "'application/json', or 'multipart/form-data' with media files.",
                    code="unsupported_content_type",
                )
            fields, allowed = body.fields, _JSON_FIELDS
        for name in fields:
            if name not in allowed:
                hint = " (inpaint_items need multipart/form-data with files)" \
                    if name == "inpaint_items" else ""
                raise invalid_request(f"Unknown parameter: '{name}'.{hint}", param=name,
                                      code="unknown_parameter")
        model = fields.get("model")
        if model is None:
            raise _missing("model")
        if not isinstance(model, str) or not model.strip():
            raise invalid_type("model", "a non-empty string", model)
        caps = self._caps(model)
        prompt = self._prompt(fields)
        width = _get_int(fields, "width", form=form)
        height = _get_int(fields, "height", form=form)
        size = self._size(width, height, caps)
        n_seconds = self._seconds(_get_int(fields, "n_seconds", form=form,
                                           default=caps.default_seconds or 5), caps)
        n_variants = self._variants(_get_int(fields, "n_variants", form=form, default=1),
                                    size, caps)
        inpaint = _inpaint_items(fields.get("inpaint_items"), files, caps) if form else None
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

    @staticmethod
    def _prompt(fields: Mapping[str, Any]) -> str:
        if "prompt" not in fields:
            raise _missing("prompt")
        prompt = fields["prompt"]
        if not isinstance(prompt, str):
            raise invalid_type("prompt", "a string", prompt)
        if not prompt.strip():
            raise invalid_request(
                "Invalid 'prompt': string too short. Expected a string with minimum length 1, "
                "but got an empty string instead.", param="prompt", code="string_below_min_length",
            )
        return prompt

    @staticmethod
    def _size(width: int, height: int, caps: ModelCapabilities) -> str:
        size = f"{width}x{height}"
        if caps.sizes is not None:
            if size not in caps.sizes:
                # [AZ-QS] troubleshooting: "400 Bad Request" with a dimension error. The exact
                # wording and code are not documented.
                allowed = sorted(caps.sizes, key=parse_size)
                raise invalid_request(
                    f"Invalid dimensions: width {width} and height {height} ({size}) is not a "
                    f"supported resolution. Supported resolutions (width x height) are: "
                    f"{supported(allowed)}.", param="width", code="invalid_dimensions",
                )
        elif width <= 0 or height <= 0:
            raise invalid_request(f"Invalid dimensions: {size}; width and height must be "
                                  "positive.", param="width", code="invalid_dimensions")
        return size

    @staticmethod
    def _seconds(value: int, caps: ModelCapabilities) -> int:
        allowed = sorted(caps.seconds) if caps.seconds is not None else None
        low, high = (allowed[0], allowed[-1]) if allowed else SPEC_SECONDS
        if not low <= value <= high:
            raise _range_error("n_seconds", value, low, high)
        if allowed is not None and value not in allowed:
            raise invalid_value("n_seconds", value, [str(s) for s in allowed])
        return value

    @staticmethod
    def _variants(value: int, size: str, caps: ModelCapabilities) -> int:
        # [AZ-CONCEPT] caps (1080p: 1, 720p: 2, else 4) come from the table; sizes it has no
        # cap for get the spec's "between 1 and 5".
        cap = caps.max_variants.get(size, SPEC_MAX_VARIANTS)
        if value < 1:
            raise _range_error("n_variants", value, 1, cap)
        if value > cap:
            raise invalid_request(
                f"Invalid 'n_variants': {value}. At most {cap} variant{'s' if cap > 1 else ''} "
                f"can be generated at {size}; smaller resolutions allow more variants.",
                param="n_variants", code="integer_above_max_value",
            )
        return value

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
            limit = _get_int({"limit": raw_limit}, "limit", form=True)
            if not 1 <= limit <= LIST_MAX_LIMIT:
                raise _range_error("limit", limit, 1, LIST_MAX_LIMIT)
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
            log.exception("rendering %s of %s failed", variant, generation_id)
            raise ApiError(500, openai_envelope(
                f"The emulator could not render the {variant}: {exc}", type="server_error",
                code="render_failed")) from None
        ignore = bool(request.headers.get("Range")) and self._take(
            call, "ignore_range", job, generation_id)
        ctype = "video/mp4" if variant == "video" else THUMBNAIL_TYPE
        return ranged_response(request, data, content_type=ctype, last_modified=job.finishes,
                               ignore_range=ignore)


def _inpaint_items(
    raw: Any, files: list[UploadedFile], caps: ModelCapabilities
) -> list[dict[str, Any]]:
    """Validate the multipart ``inpaint_items`` (a JSON string) against the ``files`` parts."""
    if not files:
        raise _missing("files")
    by_name: dict[str, UploadedFile] = {}
    for upload in files:
        if not upload.filename:
            raise invalid_request("Each 'files' part needs a filename (inpaint items refer to "
                                  "files by name).", param="files", code="invalid_value")
        if upload.filename in by_name:
            raise invalid_request(f"Duplicate file name in 'files': '{upload.filename}'.",
                                  param="files", code="invalid_value")
        by_name[upload.filename] = upload
    items: Any = []
    if raw is not None:
        try:
            items = json.loads(raw)
        except ValueError:
            raise invalid_request(
                "Invalid 'inpaint_items': expected a JSON string encoding an array of inpaint "
                "items.", param="inpaint_items", code="invalid_value",
            ) from None
    if not isinstance(items, list):
        raise invalid_type("inpaint_items", "an array", items)
    out = [_inpaint_item(i, item, by_name, caps) for i, item in enumerate(items)]
    unused = sorted(set(by_name) - {item["file_name"] for item in out})
    if unused:
        raise invalid_request(
            f"File '{unused[0]}' is not referenced by any item of 'inpaint_items'.",
            param="files", code="invalid_value",
        )
    images = sum(item["type"] == "image" for item in out)
    videos = len(out) - images
    # [AZ-CONCEPT]: up to 2 images (the output interpolates between them), or one video.
    if videos and images:
        raise invalid_request("Invalid 'inpaint_items': use either images or one video, not both.",
                              param="inpaint_items", code="invalid_value")
    if images > MAX_IMAGES or videos > MAX_VIDEOS:
        raise invalid_request(
            f"Invalid 'inpaint_items': at most {MAX_IMAGES} images or {MAX_VIDEOS} video can be "
            f"used, but got {images or videos} {'images' if images else 'videos'}.",
            param="inpaint_items", code="invalid_value",
        )
    # The 5 s limit on an input video is not checked: that would mean probing the upload.
    return out


def _inpaint_item(
    index: int, item: Any, files: Mapping[str, UploadedFile], caps: ModelCapabilities
) -> dict[str, Any]:
    """One InpaintItem, normalised (``frame_index`` and ``crop_bounds`` defaults filled in)."""
    where = f"inpaint_items[{index}]"
    if not isinstance(item, dict):
        raise invalid_type(where, "an object", item)
    for key in item:
        if key not in _ITEM_FIELDS:
            raise invalid_request(f"Unknown parameter: '{where}.{key}'.", param=f"{where}.{key}",
                                  code="unknown_parameter")
    frame_index = item.get("frame_index", 0)  # [AZ-SPEC]: required, default 0
    if isinstance(frame_index, bool) or not isinstance(frame_index, int):
        raise invalid_type(f"{where}.frame_index", "an integer", frame_index)
    if frame_index < 0:
        raise invalid_request(
            f"Invalid '{where}.frame_index': {frame_index}. Expected an integer >= 0.",
            param=f"{where}.frame_index", code="integer_below_min_value",
        )
    kind = item.get("type")
    if kind is None:
        raise _missing(f"{where}.type")
    # UNCERTAIN: [AZ-SPEC] lists only "image"; [AZ-QS] documents "video" too: accept both.
    if kind not in ("image", "video"):
        raise invalid_value(f"{where}.type", kind, ["image", "video"])
    name = item.get("file_name")
    if name is None:
        raise _missing(f"{where}.file_name")
    if not isinstance(name, str):
        raise invalid_type(f"{where}.file_name", "a string", name)
    upload = files.get(name)
    if upload is None:
        raise invalid_request(
            f"Invalid '{where}.file_name': no 'files' part has the file name '{name}'.",
            param=f"{where}.file_name", code="invalid_value",
        )
    mime = uploaded_mime(upload)
    if kind == "image":
        types = caps.input_reference_types or DEFAULT_IMAGE_TYPES
        allowed = sorted(t for t in types if t.startswith("image/")) or sorted(DEFAULT_IMAGE_TYPES)
    else:
        allowed = ["video/mp4"]
    if mime not in allowed:
        raise invalid_request(
            f"Invalid file format for '{name}' ({where}.type '{kind}'): {mime}. Supported "
            f"formats are: {supported(allowed)}.", param="files", code="unsupported_file_mimetype",
        )
    return {"frame_index": frame_index, "type": kind, "file_name": name,
            "crop_bounds": _crop_bounds(where, item.get("crop_bounds"))}


def _crop_bounds(where: str, raw: Any) -> dict[str, float]:
    """CropBounds with defaults (the full media); fractions in 0..1, left < right, top < bottom."""
    bounds = dict(_CROP_DEFAULTS)
    if raw is None:
        return bounds
    if not isinstance(raw, dict):
        raise invalid_type(f"{where}.crop_bounds", "an object", raw)
    for key, value in raw.items():
        param = f"{where}.crop_bounds.{key}"
        if key not in _CROP_DEFAULTS:
            raise invalid_request(f"Unknown parameter: '{param}'.", param=param,
                                  code="unknown_parameter")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid_type(param, "a number", value)
        if not 0.0 <= value <= 1.0:
            raise invalid_request(
                f"Invalid '{param}': {value}. Expected a fraction between 0.0 and 1.0.",
                param=param, code="invalid_value",
            )
        bounds[key] = float(value)
    if bounds["left_fraction"] >= bounds["right_fraction"] or \
            bounds["top_fraction"] >= bounds["bottom_fraction"]:
        raise invalid_request(
            f"Invalid '{where}.crop_bounds': the crop is empty (left must be less than right "
            "and top less than bottom).", param=f"{where}.crop_bounds", code="invalid_value",
        )
    return bounds
