"""Request validation for the Videos API, with the service's 400 messages and codes.

Per-model limits come from the shared capability table, so the SDK and the emulator
agree. Model names the table does not know (Azure deployment names) get only the
generic checks: a well-formed size and a positive whole number of seconds.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from ..capabilities import CapabilityTable, ModelCapabilities, parse_size
from ._bodies import ParsedBody, UploadedFile
from ._content import sniff_mime
from ._errors import ApiError, invalid_request

__all__ = [
    "DEFAULT_IMAGE_TYPES",
    "DEFAULT_MODEL",
    "capabilities_for",
    "check_unknown",
    "get_input_reference",
    "get_model",
    "get_prompt",
    "get_seconds",
    "get_size",
    "one_of",
    "supported",
    "uploaded_mime",
]

DEFAULT_MODEL = "sora-2"
DEFAULT_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


def _quoted_list(values: Iterable[str], conjunction: str) -> str:
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])}, {conjunction} {quoted[-1]}"


def one_of(values: Iterable[str]) -> str:
    """``'4', '8', or '12'`` (the service's "expected one of" wording)."""
    return _quoted_list(values, "or")


def supported(values: Iterable[str]) -> str:
    """``'4', '8', and '12'`` (the service's "Supported values are" wording)."""
    return _quoted_list(values, "and")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, UploadedFile):
        return "a file"
    if value is None:
        return "null"
    return "an object"


def invalid_type(param: str, expected: str, value: Any) -> ApiError:
    """``Invalid type for 'x': expected ..., but got ... instead.`` (code ``invalid_type``)."""
    return invalid_request(
        f"Invalid type for '{param}': expected {expected}, but got {_json_type(value)} instead.",
        param=param,
        code="invalid_type",
    )


def invalid_value(param: str, value: Any, allowed: Iterable[str] | None = None) -> ApiError:
    """``Invalid value: 'x'. Supported values are: ...`` (code ``invalid_value``)."""
    tail = f" Supported values are: {supported(allowed)}." if allowed is not None else ""
    return invalid_request(f"Invalid value: '{value}'.{tail}", param=param, code="invalid_value")


def check_unknown(fields: Mapping[str, Any], allowed: Collection[str]) -> None:
    """400 ``unknown_parameter`` for a field the operation does not take."""
    for name in fields:
        if name not in allowed:
            raise invalid_request(
                f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter"
            )


def capabilities_for(table: CapabilityTable, model: str) -> ModelCapabilities:
    """The model's limits; generic ones for unknown names; 400 for a non-Videos-API model."""
    caps = table.resolve(model)
    if caps is None:
        return ModelCapabilities()
    if caps.api != "videos":
        # Azure's answer when a deployment's model does not serve the operation.
        raise ApiError(
            400,
            {
                "error": {
                    "code": "OperationNotSupported",
                    "message": f"The videos operation does not work with the specified model, "
                    f"{model}. Please choose different model and try again. You can learn more "
                    "about which models can be used with each operation here: "
                    "https://go.microsoft.com/fwlink/?linkid=2197993.",
                }
            },
        )
    return caps


def get_model(fields: Mapping[str, Any]) -> str:
    """The ``model`` field (default ``sora-2``)."""
    model = fields.get("model", DEFAULT_MODEL)
    if not isinstance(model, str):
        raise invalid_type("model", "a string", model)
    if not model.strip():
        raise invalid_value("model", model)
    return model


def get_prompt(fields: Mapping[str, Any], caps: ModelCapabilities, param: str = "prompt") -> str:
    """A required prompt of 1 to ``max_prompt_chars`` characters."""
    if param not in fields:
        raise invalid_request(
            f"Missing required parameter: '{param}'.", param=param,
            code="missing_required_parameter",
        )
    prompt = fields[param]
    if not isinstance(prompt, str):
        raise invalid_type(param, "a string", prompt)
    if not prompt.strip():
        raise invalid_request(
            f"Invalid '{param}': string too short. Expected a string with minimum length 1, "
            "but got an empty string instead.",
            param=param,
            code="string_below_min_length",
        )
    limit = caps.max_prompt_chars
    if limit is not None and len(prompt) > limit:
        raise invalid_request(
            f"Invalid '{param}': string too long. Expected a string with maximum length "
            f"{limit}, but got a string with length {len(prompt)} instead.",
            param=param,
            code="string_above_max_length",
        )
    return prompt


def get_size(fields: Mapping[str, Any], caps: ModelCapabilities) -> str:
    """A ``WIDTHxHEIGHT`` size allowed for the model (default: the model's default)."""
    if "size" not in fields:
        return caps.default_size or "720x1280"
    size = fields["size"]
    allowed = sorted(caps.sizes, key=parse_size) if caps.sizes is not None else None
    if not isinstance(size, str):
        raise invalid_type("size", "one of " + one_of(allowed) if allowed else "a string", size)
    try:
        parse_size(size)
    except ValueError:
        raise invalid_value("size", size, allowed) from None
    if allowed is not None and size not in allowed:
        raise invalid_value("size", size, allowed)
    return size


def get_seconds(
    fields: Mapping[str, Any],
    caps: ModelCapabilities,
    *,
    required: bool = False,
    extension: bool = False,
) -> int:
    """``seconds`` as the API wants it: a *string* naming an allowed whole number."""
    if "seconds" not in fields:
        if required:
            raise invalid_request(
                "Missing required parameter: 'seconds'.", param="seconds",
                code="missing_required_parameter",
            )
        return caps.default_seconds or 4
    value = fields["seconds"]
    allowed_set = caps.extension_seconds if extension else caps.seconds
    allowed = [str(s) for s in sorted(allowed_set)] if allowed_set is not None else None
    if not isinstance(value, str):
        # The real service rejects JSON numbers here ([3P] THU-MAIC/OpenMAIC#98).
        raise invalid_type("seconds", "one of " + one_of(allowed) if allowed else "a string", value)
    if not value.isdigit() or int(value) <= 0:
        raise invalid_value("seconds", value, allowed)
    if allowed is not None and str(int(value)) not in allowed:
        raise invalid_value("seconds", value, allowed)
    return int(value)


def uploaded_mime(upload: UploadedFile) -> str:
    """The file's media type: sniffed from its bytes, else as the client declared it."""
    declared = upload.content_type.split(";")[0].strip().lower()
    return sniff_mime(upload.data) or declared


def _image_types(caps: ModelCapabilities) -> list[str]:
    types = caps.input_reference_types or DEFAULT_IMAGE_TYPES
    return sorted(t for t in types if t.startswith("image/")) or sorted(DEFAULT_IMAGE_TYPES)


def _bad_format(allowed: list[str], got: str) -> ApiError:
    # UNCERTAIN: the exact code; the wording follows OpenAI's file-type errors.
    return invalid_request(
        f"Invalid file format for 'input_reference': {got}. Supported formats are: "
        f"{supported(allowed)}.",
        param="input_reference",
        code="unsupported_file_mimetype",
    )


def get_input_reference(body: ParsedBody, caps: ModelCapabilities) -> dict[str, Any] | None:
    """Validate ``input_reference``: a jpeg/png/webp file part, or ``{image_url}|{file_id}``."""
    if "input_reference" not in body.fields:
        return None
    ref = body.fields["input_reference"]
    allowed = _image_types(caps)
    if isinstance(ref, UploadedFile):
        mime = uploaded_mime(ref)
        if mime not in allowed:
            raise _bad_format(allowed, mime)
        return {"type": "file", "filename": ref.filename, "mime": mime, "bytes": len(ref.data)}
    if isinstance(ref, str) and body.kind in ("multipart", "form"):
        # The observed api.openai.com answer to a string in a form field ([3P] huobao-drama#49).
        raise invalid_type("input_reference", "a file", ref)
    if not isinstance(ref, dict):
        raise invalid_type("input_reference", "an object", ref)
    for key in ref:
        if key not in ("image_url", "file_id"):
            raise invalid_request(
                f"Unknown parameter: 'input_reference.{key}'.",
                param=f"input_reference.{key}", code="unknown_parameter",
            )
    present = [k for k in ("image_url", "file_id") if ref.get(k) is not None]
    if len(present) != 1:
        raise invalid_request(
            "Invalid 'input_reference': provide exactly one of 'image_url' or 'file_id'.",
            param="input_reference", code="invalid_value",
        )
    key = present[0]
    value = ref[key]
    if not isinstance(value, str) or not value.strip():
        raise invalid_type(f"input_reference.{key}", "a non-empty string", value)
    if key == "image_url":
        _check_image_url(value, allowed)
    return {"type": key, key: value if len(value) < 200 else value[:200] + "..."}


def _check_image_url(url: str, allowed: list[str]) -> None:
    if url.startswith("data:"):
        header, sep, payload = url[5:].partition(",")
        mime = header.split(";")[0].lower()
        if not sep or mime not in allowed:
            raise _bad_format(allowed, mime or "unknown")
        if header.endswith(";base64"):
            try:
                base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                raise invalid_value("input_reference.image_url", "data URL (bad base64)") from None
        return
    if not url.startswith(("https://", "http://")):
        raise invalid_request(
            "Invalid 'input_reference.image_url': expected a fully qualified URL or a "
            "base64-encoded data URL.",
            param="input_reference.image_url", code="invalid_value",
        )
