"""Shared plumbing for resources: ids in paths, integers, model parsing, multipart bodies."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ValidationError

from .._errors import UnexpectedResponseError
from .._files import Upload
from .._retry import Attempts
from .._transports.base import Response
from .._wire import parse_body

if TYPE_CHECKING:
    from .._client import VideoClient
    from .._pipeline import Pipeline

ModelT = TypeVar("ModelT", bound=BaseModel)


_SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:=-]{0,255}")
"""What an id from the service may look like (``video_68f1...``, ``task_01...``, uuids).

Ids end up in URLs, logs, journals and default file names (``<id>.mp4``); one holding a
path separator, ``..``, a control character or a leading dot must not get that far."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def path_segment(value: str, what: str) -> str:
    """``value`` quoted as one URL path segment; ``ValueError`` for ids that cannot be one.

    ``.`` and ``..`` are refused: URL normalisation would turn ``/videos/..`` into another
    route (``DELETE /videos/..`` deleting who knows what).
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    if value in (".", "..") or _CONTROL.search(value):
        raise ValueError(f"{what} {value[:80]!r} is not a valid id")
    return quote(value, safe="")


def as_int(name: str, value: object) -> int:
    """``value`` as an int: an int or a string of digits (``"8"``); a bool is not a number."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a numeric string")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        return int(value)
    raise TypeError(f"{name} must be an int or a numeric string, got {type(value).__name__}")


def parse(model: type[ModelT], response: Response) -> ModelT:
    """Validate a JSON response body into ``model``; a malformed body is an UnexpectedResponseError."""
    raw = response.content
    problem: str | None = None
    try:
        parsed = model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid" or not raw.strip():
            problem = f"expected JSON, got {raw[:80]!r}"
        else:
            where = ".".join(str(part) for part in first["loc"]) or "body"
            problem = f"{where}: {first['msg']}"
    except (ValueError, TypeError, ArithmeticError, OSError, RecursionError) as exc:
        # Validators that pydantic does not wrap: e.g. a timestamp of 1e300 makes
        # datetime.fromtimestamp raise OverflowError/OSError, round(inf) OverflowError.
        problem = f"{type(exc).__name__}: {exc}"
    if problem is not None:
        # Raised outside the except blocks: a ValidationError quotes the raw input, and
        # must not ride along as __context__.
        raise _unexpected(model, response, problem)
    requested = response.request.url.raw_path if response.request is not None else ""
    for item in (parsed, *(getattr(parsed, "data", None) or ())):
        value = getattr(item, "id", None)
        # An id the caller asked for by name (GET /videos/{id}) is the caller's own string;
        # any other id came from the service and must be safe to use as a name.
        if isinstance(value, str) and not _SAFE_ID.fullmatch(value) \
                and not requested.endswith("/" + quote(value, safe="")):
            raise _unexpected(model, response, f"id: refusing the unsafe id {value[:80]!r}")
    return parsed


def _unexpected(model: type[BaseModel], response: Response, detail: str) -> UnexpectedResponseError:
    body = parse_body(response.content)
    return UnexpectedResponseError(
        f"unexpected {model.__name__} from the service: {detail}",
        status_code=response.status_code, request_id=response.request_id,
        body=body, headers=dict(response.headers))


def multipart(fields: Mapping[str, object], files: Mapping[str, Upload | list[Upload]]
              ) -> Callable[[], aiohttp.FormData]:
    """A multipart/form-data body of ``fields`` and ``files`` (built once, sent as bytes)."""

    def build() -> aiohttp.FormData:
        form = aiohttp.FormData()
        for name, value in fields.items():
            if value is not None:
                form.add_field(name, str(value))
        for name, uploads in files.items():
            for upload in uploads if isinstance(uploads, list) else [uploads]:
                form.add_field(name, upload.content, filename=upload.filename,
                               content_type=upload.content_type)
        return form

    return build


class Resource:
    """Base class: holds the client; every request goes through its pipeline."""

    def __init__(self, client: VideoClient) -> None:
        self._client = client

    @property
    def _pipeline(self) -> Pipeline:
        return self._client._pipeline

    def _status_attempts(self, polling: bool) -> Attempts | None:
        """The retry budget of a status request: a call's, or while polling the policy's
        polling budget (hints clamped to ``max_poll_interval``: the job goes on)."""
        if not polling:
            return None
        return Attempts(self._pipeline.retry.poll_retries,
                        hint_ceiling=self._client.max_poll_interval)

    def _parse(self, model: type[ModelT], response: Response) -> ModelT:
        """:func:`parse`, with the error (built from service data) redacted."""
        try:
            return parse(model, response)
        except UnexpectedResponseError as exc:
            raise self._pipeline.redacted(exc) from None
