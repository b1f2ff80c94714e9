"""Shared plumbing for resources: model parsing and multipart bodies."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from .._errors import UnexpectedResponseError
from .._files import Upload
from .._transport import Response

if TYPE_CHECKING:
    from .._client import VideoClient

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse(model: type[ModelT], response: Response) -> ModelT:
    """Validate a response body into ``model``; a malformed body is an UnexpectedResponseError."""
    try:
        return model.model_validate(response.body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise UnexpectedResponseError(
            f"unexpected {model.__name__} from the service: {where}: {first['msg']}",
            status_code=response.status, request_id=response.request_id,
            body=response.body, headers=dict(response.headers)) from None


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
