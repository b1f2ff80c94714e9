"""Sora 1 job inputs: resolution, limits, and the inpaint items with their files.

Structural rules (every inpaint item names one attached file, and every file is used)
always apply; limits (sizes, seconds, variants, media counts and types) apply while the
client validates, from the capability table entry of the model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .._files import FileInput, Upload, read_upload
from ..capabilities import ModelCapabilities, parse_size
from ..models import CropBounds, InpaintItem
from ._base import as_int

_MEDIA_TYPES = ("image", "video")
# API-level bounds (the spec's), used for deployment names the capability table does not know.
_SPEC_SECONDS = range(1, 21)
_SPEC_MAX_VARIANTS = 5
_MAX_IMAGES = 2
_MAX_VIDEOS = 1


def resolution(size: str | None, width: int | None, height: int | None) -> tuple[int, int]:
    """``(width, height)`` from ``size`` or from ``width``/``height`` (default 480x480)."""
    if width is None and height is None:
        return parse_size(size or "480x480")
    if size is not None:
        raise ValueError("give either size or width and height, not both")
    if width is None or height is None:
        raise ValueError("give both width and height")
    w, h = as_int("width", width), as_int("height", height)
    if w <= 0 or h <= 0:
        raise ValueError("width and height must be positive")
    return w, h


def check_limits(model: str, caps: ModelCapabilities | None, prompt: str, size: str,
                 seconds: int, n_variants: int) -> None:
    """Prompt, size, seconds and variant count against the model's limits (or the API's)."""
    if caps is None:  # A deployment name the table does not know: the API's own bounds.
        if not prompt.strip():
            raise ValueError("prompt must be a non-empty string")
        if seconds not in _SPEC_SECONDS:
            raise ValueError(f"seconds must be between 1 and 20, got {seconds}")
        if not 1 <= n_variants <= _SPEC_MAX_VARIANTS:
            raise ValueError(f"n_variants must be between 1 and {_SPEC_MAX_VARIANTS}, got {n_variants}")
        return
    caps.check_prompt(prompt)
    caps.check_size(model, size)
    caps.check_seconds(model, seconds)
    caps.check_variant_count(model, size, n_variants)


async def media(
    inpaint_items: Sequence[InpaintItem | Mapping[str, Any]] | None,
    files: Sequence[FileInput] | Mapping[str, FileInput] | None,
    image: FileInput | None,
    video: FileInput | None,
    crop_bounds: CropBounds | Mapping[str, float] | None,
) -> tuple[list[InpaintItem], list[Upload]]:
    """Read the files and build the inpaint items; check that names match (always)."""
    single = [(kind, value) for kind, value in (("image", image), ("video", video))
              if value is not None]
    if single:
        if len(single) > 1 or inpaint_items is not None or files is not None:
            raise ValueError("give one of image=, video= or inpaint_items= with files=")
        kind, value = single[0]
        upload = await read_upload(value, default_name=kind)
        crop = None if crop_bounds is None else CropBounds.model_validate(crop_bounds)
        item = InpaintItem(frame_index=0, type=kind, file_name=upload.filename, crop_bounds=crop)
        return [item], [upload]
    if crop_bounds is not None:
        raise ValueError("crop_bounds goes with image= or video=; with inpaint_items set "
                         "crop_bounds on each item")
    items = [item if isinstance(item, InpaintItem) else InpaintItem.model_validate(item)
             for item in inpaint_items or ()]
    uploads = await _read_files(files)
    if not items and not uploads:
        return [], []
    if not items or not uploads:
        raise ValueError("inpaint_items and files go together: each item names one of the files")
    names = [u.filename for u in uploads]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"file names must be unique; {duplicates[0]!r} appears twice")
    for item in items:
        if item.type not in _MEDIA_TYPES:
            raise ValueError(f"inpaint item type must be 'image' or 'video', got {item.type!r}")
        if item.file_name not in names:
            raise ValueError(f"inpaint item file_name {item.file_name!r} matches none of the "
                             f"files ({', '.join(names)})")
    unused = [n for n in names if n not in {item.file_name for item in items}]
    if unused:
        raise ValueError(f"file {unused[0]!r} is not referenced by any inpaint item")
    return items, uploads


async def _read_files(files: Sequence[FileInput] | Mapping[str, FileInput] | None) -> list[Upload]:
    if files is None:
        return []
    if isinstance(files, Mapping):
        return [replace(await read_upload(value, default_name=name), filename=name)
                for name, value in files.items()]
    if isinstance(files, (str, bytes, bytearray, memoryview, os.PathLike)) or hasattr(files, "read") \
            or (isinstance(files, tuple) and len(files) in (2, 3) and isinstance(files[0], str)):
        raise TypeError("files must be a list of files or a {file_name: file} mapping")
    return [await read_upload(value, default_name=f"file{index + 1}")
            for index, value in enumerate(files)]


def check_media(model: str, caps: ModelCapabilities | None, items: list[InpaintItem],
                uploads: list[Upload]) -> None:
    """Limits on inputs: at most 2 images or 1 video; item types match the files' contents."""
    images = sum(item.type == "image" for item in items)
    videos = sum(item.type == "video" for item in items)
    if videos > _MAX_VIDEOS or (videos and images) or images > _MAX_IMAGES:
        raise ValueError(f"give at most {_MAX_IMAGES} images or {_MAX_VIDEOS} video; "
                         f"got {images} image(s) and {videos} video(s)")
    by_name = {u.filename: u for u in uploads}
    allowed = caps.input_reference_types if caps is not None else None
    for item in items:
        upload = by_name[item.file_name]
        family = upload.content_type.split("/", 1)[0]
        if family in _MEDIA_TYPES and family != item.type:
            raise ValueError(f"inpaint item {item.file_name!r} has type {item.type!r} but the "
                             f"file is {upload.content_type}")
        if allowed is not None and upload.content_type not in allowed:
            raise ValueError(f"{item.file_name!r} is {upload.content_type}; {model!r} accepts "
                             f"{', '.join(sorted(allowed))}")
