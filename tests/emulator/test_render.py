"""The emulator's renderer must produce real media that decoders and players accept."""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import struct
import subprocess
import sys
from array import array

import pytest

av = pytest.importorskip("av")

from foundry_video.emulator._render import (  # noqa: E402
    MediaInfo,
    probe,
    render_spritesheet,
    render_thumbnail,
    render_video,
)

PROMPT = "A calico cat playing a grand piano on a dimly lit stage"


def top_level_atoms(data: bytes) -> list[bytes]:
    kinds, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
        kinds.append(kind)
        pos += size
    return kinds


@pytest.mark.parametrize(
    ("width", "height", "seconds", "fps", "audio"),
    [
        (320, 180, 2.0, 24, True),
        (180, 320, 1.5, 24, False),
        (96, 96, 1.3, 30, True),  # 39 frames: a non-integer second count at another rate
        (1280, 720, 8.0, 24, True),
    ],
)
def test_video_stream_properties(
    width: int, height: int, seconds: float, fps: int, audio: bool
) -> None:
    data = render_video(PROMPT, width, height, seconds, audio=audio, fps=fps)

    info = probe(data)
    assert (info.width, info.height) == (width, height)
    assert info.video_codec == "h264"
    assert info.audio_codec == ("aac" if audio else None)
    assert abs(info.duration - seconds) <= 1 / fps
    assert info.frames == round(seconds * fps)
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        assert video.codec_context.pix_fmt == "yuv420p"
        assert len(container.streams.audio) == (1 if audio else 0)
        if audio:
            sound = container.streams.audio[0]
            assert sound.codec_context.sample_rate == 48_000
            assert sound.codec_context.channels == 2
            assert abs(float(sound.duration * sound.time_base) - seconds) <= 1 / fps


def test_video_is_faststart_and_fully_decodable() -> None:
    data = render_video(PROMPT, 160, 90, 2.0, audio=True)

    kinds = top_level_atoms(data)
    assert kinds[0] == b"ftyp"
    assert kinds.index(b"moov") < kinds.index(b"mdat")
    # Decoding every packet proves the chunk offsets were rewritten when moov moved.
    with av.open(io.BytesIO(data)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 48
    with av.open(io.BytesIO(data)) as container:
        assert sum(frame.samples for frame in container.decode(audio=0)) >= 96_000


def test_picture_moves_between_frames() -> None:
    data = render_video(PROMPT, 160, 90, 1.0, audio=False)

    with av.open(io.BytesIO(data)) as container:
        luma = [bytes(frame.planes[0]) for frame in container.decode(video=0)]
    assert luma[0] != luma[12] != luma[23]


def test_audio_is_audible_stereo() -> None:
    data = render_video(PROMPT, 64, 64, 1.0, audio=True)

    peaks = [0.0, 0.0]
    channels_differ = False
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(audio=0):
            assert frame.format.name == "fltp"
            left, right = (
                array("f", bytes(plane)[: 4 * frame.samples]) for plane in frame.planes
            )
            peaks = [max(peaks[0], *map(abs, left)), max(peaks[1], *map(abs, right))]
            channels_differ = channels_differ or left != right
    assert min(peaks) > 0.05 and max(peaks) < 0.9
    assert channels_differ


def test_same_arguments_give_same_bytes() -> None:
    first = render_video(PROMPT, 96, 64, 1.0, audio=True)

    assert render_video(PROMPT, 96, 64, 1.0, audio=True) == first
    assert render_video(PROMPT, 96, 64, 1.0, audio=True, seed=1) != first
    assert render_video(PROMPT + "!", 96, 64, 1.0, audio=True) != first
    assert render_thumbnail(PROMPT, 96, 64) == render_thumbnail(PROMPT, 96, 64)
    assert render_spritesheet(PROMPT, 96, 64, 1.0) == render_spritesheet(PROMPT, 96, 64, 1.0)


def test_bytes_do_not_depend_on_the_process_hash_seed() -> None:
    code = (
        "import hashlib; from foundry_video.emulator._render import render_video; "
        f"print(hashlib.sha256(render_video({PROMPT!r}, 96, 64, 1.0, audio=True)).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )

    expected = hashlib.sha256(render_video(PROMPT, 96, 64, 1.0, audio=True)).hexdigest()
    assert result.stdout.strip() == expected


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (1280, 720, (640, 360)),
        (720, 1280, (360, 640)),
        (854, 480, (640, 360)),
        (480, 480, (480, 480)),
        (1920, 1080, (640, 360)),
    ],
)
def test_thumbnail_is_scaled_webp(width: int, height: int, expected: tuple[int, int]) -> None:
    data = render_thumbnail(PROMPT, width, height)

    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    info = probe(data)
    assert (info.width, info.height) == expected
    assert info.video_codec == "webp"


@pytest.mark.parametrize(
    ("width", "height", "grid", "expected"),
    [
        (1280, 720, (5, 5), (800, 450)),
        (720, 1280, (5, 5), (450, 800)),
        (480, 480, (4, 2), (640, 320)),
        (64, 36, (3, 1), (192, 36)),  # tiles are never scaled up
    ],
)
def test_spritesheet_is_jpeg_grid(
    width: int, height: int, grid: tuple[int, int], expected: tuple[int, int]
) -> None:
    columns, rows = grid
    data = render_spritesheet(PROMPT, width, height, 4.0, columns=columns, rows=rows)

    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    info = probe(data)
    assert (info.width, info.height) == expected
    assert info.video_codec == "mjpeg"


@pytest.mark.parametrize(
    ("width", "height"), [(321, 180), (320, 181), (0, 180), (320, 0), (-2, 180), (8194, 180)]
)
def test_invalid_sizes_are_rejected(width: int, height: int) -> None:
    with pytest.raises(ValueError, match="even number"):
        render_video(PROMPT, width, height, 1.0, audio=False)
    with pytest.raises(ValueError, match="even number"):
        render_thumbnail(PROMPT, width, height)
    with pytest.raises(ValueError, match="even number"):
        render_spritesheet(PROMPT, width, height, 1.0)


@pytest.mark.parametrize("seconds", [0.0, -1.0, float("nan"), float("inf")])
def test_invalid_durations_are_rejected(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds"):
        render_video(PROMPT, 64, 64, seconds, audio=False)
    with pytest.raises(ValueError, match="seconds"):
        render_spritesheet(PROMPT, 64, 64, seconds)


def test_invalid_fps_and_grid_are_rejected() -> None:
    with pytest.raises(ValueError, match="fps"):
        render_video(PROMPT, 64, 64, 1.0, audio=False, fps=0)
    with pytest.raises(ValueError, match="columns"):
        render_spritesheet(PROMPT, 64, 64, 1.0, columns=0)


def test_tiny_frames_still_render() -> None:
    info = probe(render_video("", 2, 2, 0.5, audio=True))

    assert (info.width, info.height, info.audio_codec) == (2, 2, "aac")


@pytest.mark.parametrize("data", [b"", b"not a video" * 100])
def test_probe_rejects_non_media(data: bytes) -> None:
    with pytest.raises(ValueError):
        probe(data)


def test_probe_returns_frozen_media_info() -> None:
    info = probe(render_thumbnail(PROMPT, 64, 64))

    assert info == MediaInfo(64, 64, 0.0, "webp", None, None)
    with pytest.raises(AttributeError):
        info.width = 1  # type: ignore[misc]


def test_without_pyav_import_works_and_rendering_explains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None in sys.modules makes "import av" raise ImportError, as if PyAV were absent.
    monkeypatch.setitem(sys.modules, "av", None)
    monkeypatch.delitem(sys.modules, "foundry_video.emulator._render")
    parent = sys.modules["foundry_video.emulator"]
    monkeypatch.setattr(parent, "_render", parent._render)  # the re-import rebinds it

    module = importlib.import_module("foundry_video.emulator._render")

    with pytest.raises(RuntimeError, match=r"pip install 'foundry-video\[emulator\]'"):
        module.render_video(PROMPT, 64, 64, 1.0, audio=False)
    with pytest.raises(RuntimeError, match="PyAV"):
        module.probe(b"")
