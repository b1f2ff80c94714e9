"""Procedural media for the emulator: real, playable MP4, WebP and JPEG bytes from a prompt.

The emulator must hand out files that real players and decoders accept, yet render them
quickly enough for tests and demos on small machines. Pictures are therefore built directly
as YUV 4:2:0 planes (no RGB conversion, no numpy): the background is computed once per clip
with C-speed ``bytes.translate``, and each frame only repaints a few small moving regions.
x264 runs with the ``ultrafast`` preset. Everything is derived from a SHA-256 of the seed and
prompt (not ``hash()``, which is salted per process), so equal inputs give equal bytes.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import textwrap
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from av.video.frame import VideoFrame

__all__ = [
    "MediaInfo",
    "probe",
    "render_jpeg_thumbnail",
    "render_spritesheet",
    "render_thumbnail",
    "render_video",
]

_SAMPLE_RATE = 48_000
_AAC_FRAME = 1024
_MAX_SIDE = 8192
_THUMBNAIL_MAX_SIDE = 640
_TILE_MAX_SIDE = 160
# Spritesheet and thumbnail frames sit on the grid of the default video frame rate, so they
# match frames of a video rendered with default arguments.
_DEFAULT_FPS = 24
_WHITE, _PANEL, _TRACK = 235, 32, 60  # studio-range luma levels
_Buffer = bytearray | memoryview
_INSTALL_HINT = "rendering emulator media needs PyAV: pip install 'foundry-video[emulator]'"

# 5x7 bitmap font: 7 rows of 5 bits (MSB = leftmost pixel) as hex. Lowercase renders as
# uppercase and unknown characters as "?", which keeps the table small.
_FONT: dict[str, str] = {
    " ": "00000000000000", "!": "04040404040004", '"': "0A0A0A00000000", "#": "0A0A1F0A1F0A0A",
    "%": "18190204081303", "&": "0C12140815120D", "'": "0C040800000000", "(": "02040808080402",
    ")": "08040202020408", "+": "0004041F040400", ",": "00000000000C04", "-": "0000001F000000",
    ".": "00000000000C0C", "/": "00010204081000", ":": "000C0C000C0C00", "=": "00001F001F0000",
    "?": "0E110102040004", "0": "0E11131519110E", "1": "040C040404040E", "2": "0E11010204081F",
    "3": "1F02040201110E", "4": "02060A121F0202", "5": "1F101E0101110E", "6": "0608101E11110E",
    "7": "1F010204080808", "8": "0E11110E11110E", "9": "0E11110F01020C", "A": "0E1111111F1111",
    "B": "1E11111E11111E", "C": "0E11101010110E", "D": "1C12111111121C", "E": "1F10101E10101F",
    "F": "1F10101E101010", "G": "0E11101711110F", "H": "1111111F111111",
    "I": "0E04040404040E", "J": "0702020202120C", "K": "11121418141211", "L": "1010101010101F",
    "M": "111B1515111111", "N": "11111915131111", "O": "0E11111111110E", "P": "1E11111E101010",
    "Q": "0E11111115120D", "R": "1E11111E141211", "S": "0F10100E01011E", "T": "1F040404040404",
    "U": "1111111111110E", "V": "11111111110A04", "W": "1111111515150A",
    "X": "11110A040A1111", "Y": "1111110A040404", "Z": "1F01020408101F",
}
# Just-intonation triads whose notes are all multiples of 20 Hz: each repeats exactly every
# 1/20 s, so one short period is synthesised and tiled, and chord changes on whole periods
# meet at phase zero without clicks.
_CHORDS = (
    (160, 200, 240), (200, 240, 300), (240, 300, 360),
    (180, 240, 300), (220, 330, 440), (320, 400, 480),
)
_PERIOD = _SAMPLE_RATE // 20


@dataclass(frozen=True)
class MediaInfo:
    """Stream properties of a media file, as read back by :func:`probe`."""

    width: int
    height: int
    duration: float
    video_codec: str
    audio_codec: str | None
    frames: int | None


def _require_av() -> None:
    try:
        import av  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(_INSTALL_HINT) from exc


def _check_size(width: int, height: int) -> None:
    for name, value in (("width", width), ("height", height)):
        if not 2 <= value <= _MAX_SIDE or value % 2:
            # yuv420p stores chroma at half resolution, so only even sizes are encodable.
            raise ValueError(f"{name} must be an even number from 2 to {_MAX_SIDE}, got {value}")


def _frame_count(seconds: float, fps: int) -> int:
    if not 1 <= fps <= 240:
        raise ValueError(f"fps must be between 1 and 240, got {fps}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be a positive number, got {seconds}")
    return max(1, round(seconds * fps))


def _fit(width: int, height: int, limit: int) -> tuple[int, int]:
    """Scale so the longer side is at most ``limit``, keeping both sides even."""
    scale = min(1.0, limit / max(width, height))
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


@lru_cache(maxsize=512)
def _offset_table(offset: int) -> bytes:
    return bytes(min(235, max(16, value + offset)) for value in range(256))


def _ramp(count: int, stride: int, start: int, stop: int) -> bytes:
    row = bytes(start + (stop - start) * x // max(1, count - 1) for x in range(count))
    return row + row[-1:] * (stride - count)


def _shade(row: bytes, rows: int, amplitude: int) -> bytearray:
    """Stack ``rows`` copies of ``row``, brightened progressively from top to bottom."""
    return bytearray(
        b"".join(
            row.translate(_offset_table(round(amplitude * (2 * y / max(1, rows - 1) - 1))))
            for y in range(rows)
        )
    )


@lru_cache(maxsize=512)
def _glyph(char: str, scale: int, fg: int, bg: int) -> tuple[bytes, ...]:
    code = _FONT.get(char.upper(), _FONT["?"])
    on, off = bytes([fg]) * scale, bytes([bg]) * scale
    rows = []
    for r in range(7):
        bits = int(code[2 * r : 2 * r + 2], 16)
        rows.append(b"".join(on if bits >> (4 - c) & 1 else off for c in range(5)) + off)
    return tuple(rows)


def _text_rows(text: str, scale: int, fg: int = _WHITE, bg: int = _PANEL) -> list[bytes]:
    cells = [_glyph(char, scale, fg, bg) for char in text]
    rows: list[bytes] = []
    for r in range(7):
        rows.extend([b"".join(cell[r] for cell in cells)] * scale)
    return rows


def _blit(
    buf: _Buffer, stride: int, size: tuple[int, int], x: int, y: int, rows: Sequence[bytes]
) -> None:
    """Copy pixel rows into a plane with its top-left corner at (x, y), clipped to ``size``."""
    width, height = size
    if y < 0:
        rows, y = rows[-y:], 0
    if x >= width:
        return
    for dy, row in enumerate(rows[: max(0, height - y)]):
        part = row[: width - x]
        start = (y + dy) * stride + x
        buf[start : start + len(part)] = part


def _fill(
    buf: _Buffer, stride: int, size: tuple[int, int], box: tuple[int, int, int, int], value: int
) -> None:
    x0, y0, x1, y1 = box
    if x1 > x0 and y1 > y0:
        _blit(buf, stride, size, x0, y0, [bytes([value]) * (x1 - x0)] * (y1 - y0))


def _bounce(phase: float) -> float:
    """Triangle wave in [0, 1]: position of something bouncing between two walls."""
    return abs(phase % 2.0 - 1.0)


class _Scene:
    """Everything about a clip's picture that stays the same from frame to frame."""

    def __init__(self, prompt: str, width: int, height: int, seed: int) -> None:
        import av

        self.digest = d = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
        self.size = (width, height)
        self.chroma_size = (width // 2, height // 2)
        # Planes carry FFmpeg's row padding so whole planes can be copied in with one update().
        self.strides = tuple(p.line_size for p in av.VideoFrame(width, height, "yuv420p").planes)
        cw, ch = self.chroma_size
        luma = _shade(_ramp(width, self.strides[0], 40 + d[0] % 50, 110 + d[1] % 70), height, 20)
        u = _shade(_ramp(cw, self.strides[1], 88 + d[2] % 40, 128 + d[3] % 40), ch, 0)
        v = _shade(_ramp(cw, self.strides[2], 128 + d[4] % 40, 88 + d[5] % 40), ch, 24)
        self.ball_color = (210, 255 - (108 + d[2] % 40), 255 - (108 + d[4] % 40))
        self.speed = (0.25 + d[6] / 800, 0.2 + d[7] / 900)
        self.start = (d[8] / 128, d[9] / 128)

        self.margin = m = max(2, height // 40) // 2 * 2
        self.scale = s = max(1, min(height // 180, (width - 2 * m) // (6 * 30 + 2)))
        self.bar = max(2, height // 90) // 2 * 2
        lines = textwrap.wrap(prompt[:60], 30)[:2]
        text_width = max((len(line) for line in lines), default=0) * 6 * s
        self.counter_y = height - self.bar - m - 9 * s
        panels = [(m, self.counter_y - s, m + len(self._counter(0, 1)) * 6 * s + 2 * s, height)]
        if lines:
            panels.append((m, m, m + text_width + 2 * s, m + 9 * s * len(lines) + s))
        for x0, y0, x1, y1 in panels:
            # Even corners keep the neutral chroma box exactly under the dark luma box.
            x0, y0, x1, y1 = x0 // 2, max(0, y0) // 2, (x1 + 1) // 2, (y1 + 1) // 2
            _fill(luma, self.strides[0], self.size, (2 * x0, 2 * y0, 2 * x1, 2 * y1), _PANEL)
            _fill(u, self.strides[1], self.chroma_size, (x0, y0, x1, y1), 128)
            _fill(v, self.strides[2], self.chroma_size, (x0, y0, x1, y1), 128)
        for i, line in enumerate(lines):
            _blit(luma, self.strides[0], self.size, m + s, m + s + 9 * s * i, _text_rows(line, s))
        _fill(luma, self.strides[0], self.size, (0, height - self.bar, width, height), _TRACK)
        self.planes = (bytes(luma), bytes(u), bytes(v))

        radius = max(1, min(width, height) // 10)
        self.diameter = 2 * radius
        self.spans = []
        for dy in range(self.diameter):
            half_width = int(math.sqrt(max(0.0, radius**2 - (dy - radius + 0.5) ** 2)) + 0.5)
            self.spans.append((radius - half_width, 2 * half_width))

    @staticmethod
    def _counter(index: int, fps: int) -> str:
        return f"FRAME {index:04d}  {index / fps:05.2f}S"

    def frame(self, index: int, fps: int, total: int = 1) -> VideoFrame:
        """Render frame ``index`` of a clip that has ``total`` frames at ``fps``."""
        import av

        width, height = self.size
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane, data in zip(frame.planes, self.planes, strict=True):
            plane.update(data)
        y, u, v = (memoryview(plane) for plane in frame.planes)
        t = index / fps

        room_x, room_y = width - self.diameter, height - self.diameter
        bx = round(_bounce(self.start[0] + t * self.speed[0]) * room_x) // 2 * 2
        by = round(_bounce(self.start[1] + t * self.speed[1]) * room_y) // 2 * 2
        luma, cb, cr = (bytes([value]) * self.diameter for value in self.ball_color)
        for dy, (offset, length) in enumerate(self.spans):
            start = (by + dy) * self.strides[0] + bx + offset
            y[start : start + length] = luma[:length]
            if dy % 2 == 0:
                c_offset, c_length = offset // 2, (length + 1) // 2
                row_u = (by + dy) // 2 * self.strides[1] + bx // 2 + c_offset
                row_v = (by + dy) // 2 * self.strides[2] + bx // 2 + c_offset
                u[row_u : row_u + c_length] = cb[:c_length]
                v[row_v : row_v + c_length] = cr[:c_length]

        progress = (0, height - self.bar, width * index // total, height)
        _fill(y, self.strides[0], self.size, progress, _WHITE)
        rows = _text_rows(self._counter(index, fps), self.scale)
        _blit(y, self.strides[0], self.size, self.margin + self.scale, self.counter_y, rows)
        return frame


@cache
def _chord_period(chord: tuple[int, int, int]) -> tuple[array[float], array[float]]:
    left, right = array("f"), array("f")
    # Different note weights per channel give a gentle stereo spread.
    for k in range(_PERIOD):
        notes = [math.sin(2 * math.pi * f * k / _SAMPLE_RATE) for f in chord]
        left.append(0.10 * notes[0] + 0.08 * notes[1] + 0.05 * notes[2])
        right.append(0.06 * notes[0] + 0.08 * notes[1] + 0.10 * notes[2])
    return left, right


def _soundtrack(digest: bytes, samples: int) -> tuple[array[float], array[float]]:
    """A soft chord progression, one chord per second, faded in and out."""
    progression = [_CHORDS[b % len(_CHORDS)] for b in digest[10:14]]
    left, right = array("f"), array("f")
    for second in range(-(-samples // _SAMPLE_RATE)):
        period_left, period_right = _chord_period(progression[second % len(progression)])
        left.extend(period_left * (_SAMPLE_RATE // _PERIOD))
        right.extend(period_right * (_SAMPLE_RATE // _PERIOD))
    del left[samples:], right[samples:]
    fade = min(samples // 2, _SAMPLE_RATE // 50)
    for k in range(fade):
        gain = k / fade
        for channel in (left, right):
            channel[k] *= gain
            channel[-1 - k] *= gain
    return left, right


def _faststart(data: bytes) -> bytes:
    """Move the ``moov`` atom in front of ``mdat`` so the file can play while downloading.

    FFmpeg's own ``movflags=+faststart`` reopens the output by file name, which an
    in-memory buffer does not have, so the move (as in qt-faststart) happens here.
    """
    atoms: dict[bytes, tuple[int, int]] = {}
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
        elif size == 0:
            size = len(data) - pos
        atoms.setdefault(kind, (pos, pos + size))
        pos += size
    if b"moov" not in atoms or b"mdat" not in atoms or atoms[b"moov"][0] < atoms[b"mdat"][0]:
        return data
    (moov_start, moov_end), mdat_start = atoms[b"moov"], atoms[b"mdat"][0]
    # Right after ``ftyp``, where FFmpeg puts it; the payload behind it moves by len(moov).
    at = atoms[b"ftyp"][1] if b"ftyp" in atoms else mdat_start
    moov = bytearray(data[moov_start:moov_end])
    _shift_chunk_offsets(moov, 8, len(moov), len(moov))
    return data[:at] + bytes(moov) + data[at:moov_start] + data[moov_end:]


def _shift_chunk_offsets(buf: bytearray, start: int, end: int, delta: int) -> None:
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", buf, pos)
        if size < 8:
            raise RuntimeError(f"unexpected atom size {size} in moov")
        if kind in (b"trak", b"mdia", b"minf", b"stbl"):
            _shift_chunk_offsets(buf, pos + 8, pos + size, delta)
        elif kind in (b"stco", b"co64"):
            fmt = ">I" if kind == b"stco" else ">Q"
            (count,) = struct.unpack_from(">I", buf, pos + 12)
            width = struct.calcsize(fmt)
            for entry in range(pos + 16, pos + 16 + count * width, width):
                (offset,) = struct.unpack_from(fmt, buf, entry)
                struct.pack_into(fmt, buf, entry, offset + delta)
        pos += size


def _image_frame(data: bytes, width: int, height: int) -> VideoFrame | None:
    """The first picture of an encoded image (PNG, JPEG, WebP), scaled to ``width x height``.

    ``None`` when the bytes do not decode (the clip then opens with the usual scene).
    """
    import av

    try:
        with av.open(io.BytesIO(data), "r") as container:
            for picture in container.decode(video=0):
                frame: VideoFrame = picture.reformat(width=width, height=height,
                                                     format="yuv420p", interpolation="AREA")
                return frame
    except (av.FFmpegError, ValueError, IndexError):
        return None
    return None


def render_video(
    prompt: str, width: int, height: int, seconds: float, *, audio: bool, fps: int = 24,
    seed: int = 0, first_frame: bytes | None = None,
) -> bytes:
    """Render an H.264/AAC MP4 (``moov`` first) animating ``prompt``.

    The clip has ``round(seconds * fps)`` frames, so its duration is within half a frame of
    ``seconds``. With ``audio`` it carries a 48 kHz stereo AAC track of the same length.
    ``first_frame`` (an encoded image, the image→video input) fills the first half second,
    scaled to the clip's size. Equal arguments give identical bytes. Raises ``ValueError``
    for odd or out-of-range sizes and ``RuntimeError`` when PyAV is not installed.
    """
    _check_size(width, height)
    total = _frame_count(seconds, fps)
    _require_av()
    import av

    scene = _Scene(prompt, width, height, seed)
    opening = _image_frame(first_frame, width, height) if first_frame else None
    held = min(total, max(1, fps // 2)) if opening is not None else 0
    samples = total * _SAMPLE_RATE // fps
    left, right = _soundtrack(scene.digest, samples) if audio else (array("f"), array("f"))
    sent = 0
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "28"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = 2 * fps  # a keyframe every 2 s keeps seeking cheap
        # Frame threads are ~20% faster than slices here. x264's bytes depend on the thread
        # count, so a fixed count keeps them the same on every machine.
        video.codec_context.thread_type, video.codec_context.thread_count = "FRAME", 2
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=_SAMPLE_RATE, layout="stereo", bit_rate=96_000)

        def send_audio(until: int) -> None:
            # Whole 1024-sample frames (AAC's frame size) need no re-buffering, and sending
            # audio alongside the video it belongs with keeps the MP4 well interleaved.
            nonlocal sent
            while sound is not None and sent < until:
                stop = min(sent + _AAC_FRAME, samples)
                chunk = av.AudioFrame(format="fltp", layout="stereo", samples=stop - sent)
                chunk.planes[0].update(left[sent:stop].tobytes())
                chunk.planes[1].update(right[sent:stop].tobytes())
                chunk.sample_rate, chunk.pts = _SAMPLE_RATE, sent
                chunk.time_base = Fraction(1, _SAMPLE_RATE)
                container.mux(sound.encode(chunk))
                sent = stop

        for index in range(total):
            frame = opening if index < held and opening is not None else scene.frame(index, fps, total)
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(video.encode(frame))
            send_audio((index + 1) * _SAMPLE_RATE // fps // _AAC_FRAME * _AAC_FRAME)
        container.mux(video.encode())
        if sound is not None:
            send_audio(samples)
            container.mux(sound.encode())
    return _faststart(out.getvalue())


def _encode_image(codec: str, frame: VideoFrame) -> bytes:
    import av

    context = av.CodecContext.create(codec, "w")
    if not isinstance(context, av.VideoCodecContext):
        raise RuntimeError(f"{codec} is not a video encoder")
    context.width, context.height, context.pix_fmt = frame.width, frame.height, "yuv420p"
    context.time_base = Fraction(1, _DEFAULT_FPS)
    if codec == "mjpeg":
        # MJPEG wants full-range ("JPEG") levels; the renderer draws studio-range ones.
        frame = frame.reformat(format="yuv420p", src_color_range="MPEG", dst_color_range="JPEG")
        context.color_range = frame.color_range = 2
    return b"".join(bytes(packet) for packet in [*context.encode(frame), *context.encode()])


def _first_frame_image(codec: str, prompt: str, width: int, height: int, seed: int) -> bytes:
    """The clip's first frame, longer side at most 640 px (even sides), encoded by ``codec``."""
    _check_size(width, height)
    _require_av()
    frame = _Scene(prompt, width, height, seed).frame(0, _DEFAULT_FPS)
    size = _fit(width, height, _THUMBNAIL_MAX_SIDE)
    if size != (width, height):
        frame = frame.reformat(width=size[0], height=size[1], interpolation="AREA")
    return _encode_image(codec, frame)


def render_thumbnail(prompt: str, width: int, height: int, *, seed: int = 0) -> bytes:
    """Render a WebP of the clip's first frame, scaled so the longer side is at most 640 px.

    The scaled size keeps the aspect ratio with even sides (1280x720 gives 640x360).
    """
    return _first_frame_image("libwebp", prompt, width, height, seed)


def render_jpeg_thumbnail(prompt: str, width: int, height: int, *, seed: int = 0) -> bytes:
    """Render a JPEG of the clip's first frame, scaled like :func:`render_thumbnail`.

    The Sora 1 jobs API serves thumbnails as JPEG (``image/jpg``), not WebP.
    """
    return _first_frame_image("mjpeg", prompt, width, height, seed)


def render_spritesheet(
    prompt: str, width: int, height: int, seconds: float, *, seed: int = 0, columns: int = 5, rows: int = 5
) -> bytes:
    """Render a JPEG grid of ``columns`` x ``rows`` frames sampled evenly across the clip.

    Tiles are read left to right, top to bottom; each is the frame scaled so its longer side
    is at most 160 px with even sides (1280x720 gives 160x90 tiles, an 800x450 sheet).
    """
    _check_size(width, height)
    total = _frame_count(seconds, _DEFAULT_FPS)
    if not (1 <= columns <= 32 and 1 <= rows <= 32):
        raise ValueError(f"columns and rows must be 1 to 32, got {columns}x{rows}")
    _require_av()
    import av

    scene = _Scene(prompt, width, height, seed)
    tile_w, tile_h = _fit(width, height, _TILE_MAX_SIDE)
    sheet = av.VideoFrame(tile_w * columns, tile_h * rows, "yuv420p")
    targets = [(memoryview(plane), plane.line_size) for plane in sheet.planes]
    count = columns * rows
    for k in range(count):
        frame = scene.frame(k * total // count, _DEFAULT_FPS, total)
        tile = frame.reformat(width=tile_w, height=tile_h, interpolation="AREA")
        for p, (plane, (target, stride)) in enumerate(zip(tile.planes, targets, strict=True)):
            w, h = (tile_w, tile_h) if p == 0 else (tile_w // 2, tile_h // 2)
            source = memoryview(plane)
            x, y = (k % columns) * w, (k // columns) * h
            for row in range(h):
                src = row * plane.line_size
                dst = (y + row) * stride + x
                target[dst : dst + w] = source[src : src + w]
    return _encode_image("mjpeg", sheet)


def probe(data: bytes) -> MediaInfo:
    """Read the first video stream's properties (and any audio codec) from media bytes.

    Works for the MP4, WebP and JPEG this module writes; ``duration`` is 0.0 for still
    images and ``frames`` is ``None`` when the container does not record a frame count.
    Raises ``ValueError`` when ``data`` is not decodable media or has no video stream.
    """
    _require_av()
    import av

    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.video:
                raise ValueError("media has no video stream")
            video = container.streams.video[0]
            audio = container.streams.audio[0] if container.streams.audio else None
            duration = (container.duration or 0) / av.time_base
            return MediaInfo(
                width=video.codec_context.width,
                height=video.codec_context.height,
                duration=duration,
                video_codec=video.codec_context.name,
                audio_codec=audio.codec_context.name if audio else None,
                frames=video.frames or None,
            )
    except av.FFmpegError as exc:
        raise ValueError(f"not decodable media: {exc}") from exc
