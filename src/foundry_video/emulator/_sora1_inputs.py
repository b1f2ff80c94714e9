"""Validation of the Sora 1 create request: body reading, fields, ``inpaint_items``.

Error messages and codes follow the service's 400s (see :mod:`._sora1` for the routes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..capabilities import ModelCapabilities, parse_size
from ._bodies import UploadedFile, iter_parts, parse_body
from ._errors import ApiError, invalid_request
from ._validate import DEFAULT_IMAGE_TYPES, invalid_type, invalid_value, supported, uploaded_mime

__all__ = [
    "check_prompt",
    "check_seconds",
    "check_size",
    "check_variants",
    "get_int",
    "inpaint_items",
    "missing",
    "range_error",
    "read_fields",
]

MAX_IMAGES = 2
MAX_VIDEOS = 1
SPEC_SECONDS = (1, 20)
SPEC_MAX_VARIANTS = 5
_JSON_FIELDS = frozenset({"prompt", "width", "height", "n_seconds", "n_variants", "model"})
_MULTIPART_FIELDS = _JSON_FIELDS | {"inpaint_items"}
_INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits only (str.isdigit also takes "²")
_ITEM_FIELDS = frozenset({"frame_index", "type", "file_name", "crop_bounds"})
_CROP_DEFAULTS = {"left_fraction": 0.0, "top_fraction": 0.0, "right_fraction": 1.0,
                  "bottom_fraction": 1.0}


def missing(name: str) -> ApiError:
    """``Missing required parameter`` (code ``missing_required_parameter``)."""
    return invalid_request(f"Missing required parameter: '{name}'.", param=name,
                           code="missing_required_parameter")


def get_int(fields: Mapping[str, Any], name: str, *, form: bool, default: int | None = None) -> int:
    """An integer field: a JSON number, or (``form``) the decimal string a multipart part carries."""
    if name not in fields:
        if default is None:
            raise missing(name)
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


def range_error(name: str, value: int, low: int, high: int) -> ApiError:
    """``integer below minimum``/``above maximum`` for ``value`` outside ``low..high``."""
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
    async for part in iter_parts(request):
        if part.name == "files":
            files.append(part.upload())
        elif part.filename is not None:
            raise invalid_request(
                f"Unexpected file part '{part.name}': upload media as repeated 'files' parts.",
                param=part.name, code="unknown_parameter",
            )
        else:
            fields[part.name] = part.text()
    return fields, files


async def read_fields(
    request: web.Request,
) -> tuple[Mapping[str, Any], list[UploadedFile], bool]:
    """The create body's fields, its ``files`` parts, and whether it was multipart.

    JSON or multipart only; a field the encoding does not allow is a 400.
    """
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
    return fields, files, form


def check_prompt(fields: Mapping[str, Any]) -> str:
    """The required, non-blank ``prompt``."""
    if "prompt" not in fields:
        raise missing("prompt")
    prompt = fields["prompt"]
    if not isinstance(prompt, str):
        raise invalid_type("prompt", "a string", prompt)
    if not prompt.strip():
        raise invalid_request(
            "Invalid 'prompt': string too short. Expected a string with minimum length 1, "
            "but got an empty string instead.", param="prompt", code="string_below_min_length",
        )
    return prompt


def check_size(width: int, height: int, caps: ModelCapabilities) -> str:
    """``WxH`` if the model supports it (any positive size if the table has no list)."""
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


def check_seconds(value: int, caps: ModelCapabilities) -> int:
    """``n_seconds`` within the model's durations (the spec's 1..20 without a list)."""
    allowed = sorted(caps.seconds) if caps.seconds is not None else None
    low, high = (allowed[0], allowed[-1]) if allowed else SPEC_SECONDS
    if not low <= value <= high:
        raise range_error("n_seconds", value, low, high)
    if allowed is not None and value not in allowed:
        raise invalid_value("n_seconds", value, [str(s) for s in allowed])
    return value


def check_variants(value: int, size: str, caps: ModelCapabilities) -> int:
    """``n_variants`` from 1 to the cap for ``size``."""
    # [AZ-CONCEPT] caps (1080p: 1, 720p: 2, else 4) come from the table; sizes it has no
    # cap for get the spec's "between 1 and 5".
    cap = caps.max_variants.get(size, SPEC_MAX_VARIANTS)
    if value < 1:
        raise range_error("n_variants", value, 1, cap)
    if value > cap:
        raise invalid_request(
            f"Invalid 'n_variants': {value}. At most {cap} variant{'s' if cap > 1 else ''} "
            f"can be generated at {size}; smaller resolutions allow more variants.",
            param="n_variants", code="integer_above_max_value",
        )
    return value


def inpaint_items(
    raw: Any, files: list[UploadedFile], caps: ModelCapabilities
) -> list[dict[str, Any]]:
    """Validate the multipart ``inpaint_items`` (a JSON string) against the ``files`` parts."""
    if not files:
        raise missing("files")
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
        raise missing(f"{where}.type")
    # UNCERTAIN: [AZ-SPEC] lists only "image"; [AZ-QS] documents "video" too: accept both.
    if kind not in ("image", "video"):
        raise invalid_value(f"{where}.type", kind, ["image", "video"])
    name = item.get("file_name")
    if name is None:
        raise missing(f"{where}.file_name")
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
