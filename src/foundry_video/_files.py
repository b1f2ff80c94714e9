"""Turning user-supplied files (paths, bytes, file objects) into upload parts."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Union

import anyio

FileInput = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes],
                  tuple[str, bytes], tuple[str, bytes, str]]
"""A path, raw bytes, a binary file object, or ``(filename, bytes[, content_type])``."""

_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif",
               "video/mp4": ".mp4", "application/octet-stream": ".bin"}


@dataclass(frozen=True)
class Upload:
    """A file ready to be sent as one multipart part."""

    filename: str
    content: bytes
    content_type: str

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(width, height) read from the image header, when it is a PNG, JPEG or WebP."""
        return image_size(self.content)


def sniff_content_type(data: bytes) -> str:
    """Identify PNG, JPEG, WebP, GIF and MP4 by their magic bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG, JPEG or WebP header; None when unknown."""
    kind = sniff_content_type(data)
    try:
        if kind == "image/png" and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        if kind == "image/jpeg":
            return _jpeg_size(data)
        if kind == "image/webp":
            return _webp_size(data)
    except struct.error:
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            index += 2
            continue
        (length,) = struct.unpack(">H", data[index + 2:index + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5:index + 9])
            return int(width), int(height)
        index += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    return None


async def read_upload(value: Any, *, default_name: str) -> Upload:
    """Read a :data:`FileInput` into memory (uploads here are images and short clips)."""
    if isinstance(value, tuple) and len(value) in (2, 3):
        filename, content = value[0], bytes(value[1])
        content_type = value[2] if len(value) == 3 else sniff_content_type(content)
        return Upload(str(filename), content, content_type)
    if isinstance(value, (bytes, bytearray, memoryview)):
        content = bytes(value)
        kind = sniff_content_type(content)
        return Upload(default_name + _EXTENSIONS[kind], content, kind)
    if isinstance(value, (str, os.PathLike)):
        path = Path(value).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        content = await anyio.Path(path).read_bytes()
        return Upload(path.name, content, sniff_content_type(content))
    read = getattr(value, "read", None)
    if callable(read):
        content = read()
        if isinstance(content, str):
            raise TypeError("open the file in binary mode ('rb'), not text mode")
        if not isinstance(content, (bytes, bytearray)):
            raise TypeError(f"file object returned {type(content).__name__}, expected bytes")
        name = Path(str(getattr(value, "name", "") or "")).name
        kind = sniff_content_type(bytes(content))
        return Upload(name or default_name + _EXTENSIONS[kind], bytes(content), kind)
    raise TypeError(
        f"expected a path, bytes, a binary file object or (filename, bytes); got {type(value).__name__}"
    )
