"""Request body parsing shared by every API surface: JSON, multipart and url-encoded forms.

Multipart field names in bracket form (``video[id]``, ``input_reference[image_url]``) are
folded into nested dicts, because that is how the official ``openai`` client serialises
object parameters in a multipart body.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from ._errors import ApiError, invalid_request, openai_envelope

__all__ = ["FormPart", "ParsedBody", "UploadedFile", "body_kind", "iter_parts", "parse_body"]

BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON.)"
)
_BRACKETS = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])+)$")
MAX_BODY_BYTES = 64 * 1024 * 1024
"""The largest request body accepted, all multipart parts together (the app's own limit)."""
_MALFORMED = (ValueError, HttpProcessingError, AssertionError, LookupError)
"""What aiohttp's multipart and form readers raise for a malformed body: a 400, not a 500."""


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart body."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass
class ParsedBody:
    """A request body as a dict of fields, and the encoding it came in."""

    kind: Literal["json", "multipart", "form", "none"]
    fields: dict[str, Any]


@dataclass(frozen=True)
class FormPart:
    """One named part of a multipart body, read whole."""

    name: str
    filename: str | None
    content_type: str
    """The part's ``Content-Type`` (``application/octet-stream`` if it has none)."""
    data: bytes
    charset: str

    def text(self) -> str:
        """The data as text (a text field's value)."""
        return self.data.decode(self.charset, errors="replace")

    def upload(self) -> UploadedFile:
        """The part as an :class:`UploadedFile`."""
        return UploadedFile(self.filename, self.content_type, self.data)


async def iter_parts(request: web.Request) -> AsyncIterator[FormPart]:
    """The named top-level parts of a multipart request, in order.

    Nested multipart and unnamed parts are skipped: the API has none. A malformed body (no
    boundary, a bad part header, cut short) is a 400; more than :data:`MAX_BODY_BYTES` in
    all parts together is a 413.
    """
    total = 0
    try:
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                return
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            data = bytes(await part.read(decode=True))
            total += len(data)
            if total > MAX_BODY_BYTES:
                raise _too_large()
            form_part = FormPart(part.name, part.filename,
                                 part.headers.get("Content-Type", "application/octet-stream"),
                                 data, part.get_charset("utf-8"))
            yield form_part
    except _MALFORMED as exc:
        raise _malformed("multipart/form-data", exc) from None


def _malformed(kind: str, exc: BaseException) -> ApiError:
    text = getattr(exc, "message", None) or str(exc)
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    detail = lines[0][:200] if lines else "malformed body"
    return invalid_request(f"Could not parse the {kind} body of your request: {detail}",
                           code="invalid_body")


def _too_large() -> ApiError:
    return ApiError(413, openai_envelope(
        f"The request body is larger than {MAX_BODY_BYTES} bytes.", code="request_too_large"))


def body_kind(content_type: str, has_body: bool) -> Literal["none", "json", "multipart", "form", "other"]:
    """Classify a request by its ``Content-Type`` (for the request log)."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        return "json"
    if ctype == "multipart/form-data":
        return "multipart"
    if ctype == "application/x-www-form-urlencoded":
        return "form"
    return "other" if has_body else "none"


def _put(fields: dict[str, Any], name: str, value: Any) -> None:
    match = _BRACKETS.match(name)
    if match is None:
        fields[name] = value
        return
    keys = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
    target = fields
    for key in keys[:-1]:
        nxt = target.get(key)
        if not isinstance(nxt, dict):
            nxt = {}
            target[key] = nxt
        target = nxt
    target[keys[-1]] = value


async def parse_body(request: web.Request) -> ParsedBody:
    """Parse the body (raising the service's 400s for bad JSON or unsupported encodings)."""
    kind = body_kind(request.content_type if request.body_exists else "", request.body_exists)
    if kind == "none":
        return ParsedBody("none", {})
    if kind == "json":
        raw = await request.read()
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise invalid_request(BAD_JSON) from None
        if not isinstance(data, dict):
            raise invalid_request(
                f"Invalid type for body: expected an object, but got {type(data).__name__} "
                "instead.",
                code="invalid_type",
            )
        return ParsedBody("json", data)
    fields: dict[str, Any] = {}
    if kind == "form":
        try:
            form = await request.post()
        except _MALFORMED as exc:
            raise _malformed("form", exc) from None
        for name, value in form.items():
            _put(fields, name, value if isinstance(value, str) else str(value))
        return ParsedBody("form", fields)
    if kind == "multipart":
        async for part in iter_parts(request):
            _put(fields, part.name, part.text() if part.filename is None else part.upload())
        return ParsedBody("multipart", fields)
    raise invalid_request(
        f"Unsupported content type: {request.content_type!r}. This API method only accepts "
        "'application/json' and 'multipart/form-data' requests, but you specified the header "
        f"'Content-Type: {request.content_type}'. Please try again with a supported content type.",
        code="unsupported_content_type",
    )
