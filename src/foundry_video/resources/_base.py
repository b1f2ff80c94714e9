"""Shared plumbing for resources: model parsing and multipart bodies."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ValidationError

from .._errors import UnexpectedResponseError
from .._files import Upload
from .._transport import Response

if TYPE_CHECKING:
    from .._client import VideoClient

ModelT = TypeVar("ModelT", bound=BaseModel)


_SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:=-]{0,255}")
"""What an id from the service may look like (``video_68f1...``, ``task_01...``, uuids).

Ids end up in URLs, logs, journals and default file names (``<id>.mp4``); one holding a
path separator, ``..``, a control character or a leading dot must not get that far."""


def parse(model: type[ModelT], response: Response) -> ModelT:
    """Validate a response body into ``model``; a malformed body is an UnexpectedResponseError."""
    try:
        parsed = model.model_validate(response.body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise _unexpected(model, response, f"{where}: {first['msg']}") from None
    except (ValueError, TypeError, ArithmeticError, OSError) as exc:
        # Validators that pydantic does not wrap: e.g. a timestamp of 1e300 makes
        # datetime.fromtimestamp raise OverflowError/OSError, round(inf) OverflowError.
        raise _unexpected(model, response, f"{type(exc).__name__}: {exc}") from None
    for item in (parsed, *(getattr(parsed, "data", None) or ())):
        value = getattr(item, "id", None)
        # An id the caller asked for by name (GET /videos/{id}) is the caller's own string;
        # any other id came from the service and must be safe to use as a name.
        if isinstance(value, str) and not _SAFE_ID.fullmatch(value) \
                and not response.path.endswith("/" + quote(value, safe="")):
            raise _unexpected(model, response, f"id: refusing the unsafe id {value[:80]!r}")
    return parsed


def _unexpected(model: type[BaseModel], response: Response, detail: str) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        f"unexpected {model.__name__} from the service: {detail}",
        status_code=response.status, request_id=response.request_id,
        body=response.body, headers=dict(response.headers))


def multipart(fields: Mapping[str, Any], files: Mapping[str, Upload | list[Upload]]
              ) -> Callable[[], aiohttp.FormData]:
    """A factory of identical multipart bodies (one per attempt: FormData is single-use)."""

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
    """Base class: holds the client."""

    def __init__(self, client: VideoClient) -> None:
        self._client = client

    @property
    def _transport(self) -> Any:
        return self._client._transport
