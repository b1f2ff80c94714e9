"""Serving bytes: the renderer seam, a render cache, HTTP ranges and body-level faults."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import partial
from typing import Literal, Protocol, cast

import anyio
import anyio.to_thread
from aiohttp import web

from .._files import sniff_content_type
from ._errors import ApiError, openai_envelope
from ._faults import Fault

__all__ = [
    "CONTENT_TYPES",
    "INSTALL_HINT",
    "ContentCache",
    "PlaceholderRenderer",
    "RangeNotSatisfiable",
    "Renderer",
    "close_connection",
    "parse_range",
    "pyav_missing",
    "ranged_response",
    "render_failed",
    "send_faulty_body",
    "sniff_mime",
]

Variant = Literal["video", "thumbnail", "spritesheet"]

CONTENT_TYPES: dict[str, str] = {
    # Per-variant formats from [SKILLS]; UNCERTAIN: [OAS] lists no JPEG media type.
    "video": "video/mp4",
    "thumbnail": "image/webp",
    "spritesheet": "image/jpeg",
}


class Renderer(Protocol):
    """What the emulator needs to produce downloadable assets.

    The real implementation is the module ``foundry_video.emulator._render`` (PyAV; a
    module satisfies this protocol). Tests can pass :class:`PlaceholderRenderer` or any
    object with these methods. Calls run in a worker thread.

    Optional: ``render_jpeg_thumbnail(prompt, width, height, *, seed=0) -> bytes`` for the
    Sora 1 ``content/thumbnail`` (JPEG); without it the spritesheet is served there. A
    ``render_video`` that takes a ``first_frame`` keyword gets the image→video input image
    (encoded bytes) to open the clip with.
    """

    def render_video(
        self,
        prompt: str,
        width: int,
        height: int,
        seconds: float,
        *,
        audio: bool,
        fps: int = 24,
        seed: int = 0,
    ) -> bytes:
        """An MP4 (H.264, plus AAC when ``audio``)."""
        ...

    def render_thumbnail(self, prompt: str, width: int, height: int, *, seed: int = 0) -> bytes:
        """A WebP still."""
        ...

    def render_spritesheet(
        self, prompt: str, width: int, height: int, seconds: float, *, seed: int = 0
    ) -> bytes:
        """A JPEG grid of frames."""
        ...


log = logging.getLogger("foundry_video.emulator")
_told_to_install = False

INSTALL_HINT = ('the emulator renders real MP4s with PyAV, which is not installed: '
                'pip install "foundry-video[emulator]"')


def pyav_missing() -> str | None:
    """``None`` if the default renderer can work, else what to install (one line)."""
    try:
        import av  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    return None


def render_failed(variant: str, what: str, exc: Exception) -> ApiError:
    """The 500 for a render that failed, logged once (no traceback) when PyAV is missing."""
    global _told_to_install
    if pyav_missing() is not None:
        if not _told_to_install:
            _told_to_install = True
            log.error("%s", INSTALL_HINT)
        message = INSTALL_HINT
    else:
        log.exception("rendering %s of %s failed", variant, what)
        message = f"The emulator could not render the {variant}: {exc}"
    return ApiError(500, openai_envelope(message, type="server_error", code="render_failed"))


def default_renderer() -> Renderer:
    """The PyAV renderer, imported only when first needed (keeps ``import`` light)."""
    return cast(Renderer, importlib.import_module("foundry_video.emulator._render"))


def _pattern(seed: str, size: int) -> bytes:
    """Deterministic pseudo-random bytes (so Range tests can check exact slices)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


class PlaceholderRenderer:
    """A fast stand-in renderer: right magic bytes and deterministic sizes, not playable.

    Useful where PyAV is not installed or tests need speed: MP4 ``ftyp`` header,
    ``RIFF....WEBP`` and JPEG SOI/EOI markers around deterministic filler.
    ``bytes_per_second`` scales the video size.
    """

    def __init__(self, bytes_per_second: int = 4096) -> None:
        self.bytes_per_second = bytes_per_second
        self.calls: list[tuple[str, str, int, int]] = []

    def render_video(
        self,
        prompt: str,
        width: int,
        height: int,
        seconds: float,
        *,
        audio: bool,
        fps: int = 24,
        seed: int = 0,
    ) -> bytes:
        """Fake MP4 bytes."""
        self.calls.append(("video", prompt, width, height))
        head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
        filler = _pattern(f"v:{prompt}:{width}x{height}:{seconds}:{audio}:{fps}:{seed}",
                          int(self.bytes_per_second * seconds))
        return head + len(filler).to_bytes(4, "big") + b"free" + filler

    def render_thumbnail(self, prompt: str, width: int, height: int, *, seed: int = 0) -> bytes:
        """Fake WebP bytes."""
        self.calls.append(("thumbnail", prompt, width, height))
        filler = _pattern(f"t:{prompt}:{width}x{height}:{seed}", 512)
        return b"RIFF" + (len(filler) + 4).to_bytes(4, "little") + b"WEBP" + filler

    def render_spritesheet(
        self, prompt: str, width: int, height: int, seconds: float, *, seed: int = 0
    ) -> bytes:
        """Fake JPEG bytes."""
        self.calls.append(("spritesheet", prompt, width, height))
        return b"\xff\xd8\xff\xe0" + _pattern(f"s:{prompt}:{width}x{height}:{seed}", 1024) + b"\xff\xd9"

    def render_jpeg_thumbnail(self, prompt: str, width: int, height: int, *, seed: int = 0) -> bytes:
        """Fake JPEG bytes (the Sora 1 thumbnail)."""
        self.calls.append(("thumbnail_jpeg", prompt, width, height))
        return b"\xff\xd8\xff\xe0" + _pattern(f"j:{prompt}:{width}x{height}:{seed}", 512) + b"\xff\xd9"


@dataclass(frozen=True)
class RenderKey:
    """Cache key: every parameter that changes the rendered bytes."""

    variant: str
    """``video``, ``thumbnail`` (WebP), ``spritesheet`` or ``thumbnail_jpeg`` (Sora 1)."""
    prompt: str
    width: int
    height: int
    seconds: int
    audio: bool
    seed: int = 0
    """Renders with different seeds differ (Sora 1 variants of one job)."""
    image_digest: str | None = None
    """SHA-256 of :attr:`image` (the cache key part; the bytes themselves are not compared)."""
    image: bytes | None = field(default=None, compare=False, hash=False, repr=False)
    """The image→video input image, shown as the first frames (renderers that support it)."""

    @classmethod
    def video(cls, prompt: str, width: int, height: int, seconds: int, audio: bool, *,
              seed: int = 0, image: bytes | None = None) -> RenderKey:
        """The key of a video render, opening with ``image`` when given."""
        digest = hashlib.sha256(image).hexdigest() if image else None
        return cls("video", prompt, width, height, seconds, audio, seed, digest, image)


class ContentCache:
    """Renders assets off the event loop, once per parameter set (bounded LRU)."""

    def __init__(self, renderer: Renderer | None = None, max_entries: int = 64) -> None:
        self._renderer = renderer
        self._max = max_entries
        self._cache: OrderedDict[RenderKey, bytes] = OrderedDict()
        self._locks: dict[RenderKey, anyio.Lock] = {}

    @property
    def configured(self) -> Renderer | None:
        """The renderer given at construction (``None``: the PyAV one, loaded when needed)."""
        return self._renderer

    @property
    def renderer(self) -> Renderer:
        """The renderer in use (the PyAV one unless another was injected)."""
        if self._renderer is None:
            self._renderer = default_renderer()
        return self._renderer

    async def get(self, key: RenderKey) -> bytes:
        """Return the asset for ``key``, rendering it in a worker thread on a miss."""
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            cached = self._cache.get(key)
            if cached is None:
                cached = await anyio.to_thread.run_sync(self._render_fn(key))
                self._cache[key] = cached
                while len(self._cache) > self._max:
                    self._cache.popitem(last=False)
        self._locks.pop(key, None)
        return cached

    def _render_fn(self, key: RenderKey) -> Callable[[], bytes]:
        r = self.renderer
        if key.variant == "thumbnail_jpeg":
            jpeg = getattr(r, "render_jpeg_thumbnail", None)
            if callable(jpeg):
                return partial(jpeg, key.prompt, key.width, key.height, seed=key.seed)
            # A renderer written before Sora 1 (optional method): its spritesheet is a JPEG too.
            return partial(r.render_spritesheet, key.prompt, key.width, key.height, key.seconds,
                           seed=key.seed)
        if key.variant == "thumbnail":
            return partial(r.render_thumbnail, key.prompt, key.width, key.height, seed=key.seed)
        if key.variant == "spritesheet":
            return partial(r.render_spritesheet, key.prompt, key.width, key.height, key.seconds,
                           seed=key.seed)
        if key.image is not None and _takes_first_frame(r):
            render: Callable[..., bytes] = r.render_video  # the optional keyword is checked
            return partial(render, key.prompt, key.width, key.height, key.seconds,
                           audio=key.audio, seed=key.seed, first_frame=key.image)
        return partial(r.render_video, key.prompt, key.width, key.height, key.seconds,
                       audio=key.audio, seed=key.seed)


def _takes_first_frame(renderer: Renderer) -> bool:
    try:
        return "first_frame" in inspect.signature(renderer.render_video).parameters
    except (TypeError, ValueError):
        return False


class RangeNotSatisfiable(Exception):
    """The ``Range`` header asks for bytes the resource does not have (-> 416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse a single ``bytes=`` range into ``(start, end_inclusive)``.

    Returns ``None`` when the header is absent, malformed or asks for several ranges (RFC
    9110 lets a server ignore such a header and send 200). Raises
    :class:`RangeNotSatisfiable` when the range starts past the end.
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0 or size == 0:
                raise RangeNotSatisfiable(header)
            return max(0, size - suffix), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size:
        raise RangeNotSatisfiable(header)
    if start < 0 or end < start:
        return None
    return start, min(end, size - 1)


def ranged_response(
    request: web.Request,
    data: bytes,
    *,
    content_type: str,
    last_modified: float,
    ignore_range: bool = False,
    lie: Fault | None = None,
) -> web.Response:
    """Serve ``data`` honouring a single ``Range`` (206/416) and ``If-Range`` (by ETag).

    Always sends ``Accept-Ranges``, ``ETag`` and ``Last-Modified`` (``last_modified`` is
    clock time). ``ignore_range`` sends the whole body with 200 whatever the client asked
    (the ``ignore_range`` fault). HEAD gets the same headers, ``Content-Length`` included.
    ``lie`` is a ``short_range`` or ``wrong_offset`` fault: a 206 that does not deliver what
    was asked (see :mod:`._faults`).
    """
    etag = '"' + hashlib.sha1(data, usedforsecurity=False).hexdigest() + '"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": formatdate(last_modified, usegmt=True),
    }
    size = len(data)
    header = None if ignore_range else request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if header and if_range and if_range != etag:
        header = None  # the client's copy is stale: RFC 9110 says send it all
    try:
        span = parse_range(header, size)
    except RangeNotSatisfiable:
        headers["Content-Range"] = f"bytes */{size}"
        body = openai_envelope(
            f"Requested range not satisfiable: {header!r} (size {size}).",
            param="Range", code="range_not_satisfiable",
        )
        return web.json_response(body, status=416, headers=headers)
    if lie is not None and lie.kind in ("short_range", "wrong_offset") and size:
        return _lying_range(data, span or (0, size - 1), lie, content_type, headers)
    if span is None:
        return web.Response(body=data, content_type=content_type, headers=headers)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return web.Response(body=data[start:end + 1], status=206, content_type=content_type,
                        headers=headers)


def _lying_range(data: bytes, span: tuple[int, int], lie: Fault, content_type: str,
                 headers: dict[str, str]) -> web.Response:
    """A 206 that is not what was asked: short of its ``Content-Range``, or at another offset."""
    start, end = span
    size = len(data)
    if lie.kind == "short_range":
        wanted = end - start + 1
        sent = lie.after_bytes if lie.after_bytes is not None else wanted // 2
        body = data[start:start + max(0, min(sent, wanted - 1))]
    else:  # wrong_offset: an honest-looking 206 for another range
        start = min(size - 1, start + (lie.after_bytes or 1))
        end = max(start, end)
        body = data[start:end + 1]
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return web.Response(body=body, status=206, content_type=content_type, headers=headers)


def sniff_mime(data: bytes) -> str | None:
    """Recognise the media types the API deals in from their magic bytes (the SDK's sniffer)."""
    kind = sniff_content_type(data)
    return None if kind == "application/octet-stream" else kind


def close_connection(request: web.BaseRequest) -> None:
    """Close the client connection now (no response, or a cut-off one)."""
    transport = request.transport
    if transport is not None:
        transport.close()


async def send_faulty_body(
    request: web.Request, response: web.Response, fault: Fault
) -> web.StreamResponse:
    """Send ``response`` with a faulty body.

    ``truncate_body`` / ``drop_connection``: the full ``Content-Length``, the first
    ``after_bytes`` bytes, then the connection closes (the client sees a short body).
    ``slow_body``: the whole body in ``chunk_size`` pieces, sleeping ``delay`` real seconds
    between them (real time on purpose: the point is to exercise the client's socket
    timeouts). ``extra_bytes``: ``after_bytes`` (default 16) more bytes than the resource,
    counted in ``Content-Length``. ``no_content_length``: chunked, no ``Content-Length``,
    ending cleanly after ``after_bytes`` bytes when given.
    """
    body = response.body
    if not isinstance(body, bytes):
        return response
    out = web.StreamResponse(status=response.status, reason=response.reason)
    for name, value in response.headers.items():
        if name.lower() not in ("content-length", "transfer-encoding"):
            out.headers.add(name, value)
    if fault.kind == "extra_bytes":
        extra = fault.after_bytes if fault.after_bytes is not None else 16
        body += _pattern(f"extra:{len(body)}", extra)
        out.content_length = len(body)
        await out.prepare(request)
        await out.write(body)
        return out
    if fault.kind == "no_content_length":
        out.enable_chunked_encoding()
        await out.prepare(request)
        cut = len(body) if fault.after_bytes is None else min(len(body), fault.after_bytes)
        step = max(1, fault.chunk_size)
        for offset in range(0, cut, step):
            await out.write(body[offset:min(cut, offset + step)])
        await out.write_eof()
        return out
    out.content_length = len(body)
    if fault.kind == "slow_body":
        await out.prepare(request)
        step = max(1, fault.chunk_size)
        for offset in range(0, len(body), step):
            if offset:
                await anyio.sleep(max(0.0, fault.delay))
            await out.write(body[offset:offset + step])
        return out
    out.force_close()
    await out.prepare(request)
    cut = max(0, min(len(body), fault.after_bytes or 0))
    if cut:
        await out.write(body[:cut])
    close_connection(request)
    return out
