"""Setup the emulator checks like the service would: deployments, keys, PyAV; image→video."""

from __future__ import annotations

import io
import logging
import struct
import sys
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest

from foundry_video._clock import ManualClock
from foundry_video.emulator import INSTALL_HINT, Emulator, PlaceholderRenderer, run_standalone

from .conftest import API


@pytest.fixture
async def deployed(clock: ManualClock) -> AsyncIterator[aiohttp.ClientSession]:
    async with Emulator(clock=clock, renderer=PlaceholderRenderer(),
                        deployments={"my-sora": "sora-2", "old-sora": "sora"}) as emu, \
            aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as http:
        yield http


async def test_unknown_deployment_is_azures_404(deployed: aiohttp.ClientSession) -> None:
    for model in ("sora-3", "sora-2"):  # a typo, and a model name that is no deployment
        async with deployed.post(f"{API}/videos", json={"prompt": "x", "model": model}) as r:
            body = await r.json()
        assert r.status == 404 and body["error"]["code"] == "DeploymentNotFound"
    async with deployed.post(f"{API}/video/generations/jobs", params={"api-version": "preview"},
                             json={"prompt": "x", "model": "nope"}) as r:
        assert r.status == 404 and (await r.json())["error"]["code"] == "DeploymentNotFound"


async def test_a_deployment_gets_its_models_limits(deployed: aiohttp.ClientSession) -> None:
    async with deployed.post(f"{API}/videos", json={"prompt": "x", "model": "my-sora",
                                                    "size": "1920x1080", "seconds": "7"}) as r:
        body = await r.json()
    assert r.status == 400 and body["error"]["param"] == "size"
    async with deployed.post(f"{API}/videos", json={"prompt": "x", "model": "my-sora",
                                                    "size": "1280x720", "seconds": "8"}) as r:
        assert r.status == 200


def test_a_deployment_of_an_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model 'sora-9'"):
        Emulator(deployments={"x": "sora-9"})


async def test_unknown_model_names_are_logged_once(api_session: aiohttp.ClientSession,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="foundry_video.emulator"):
        for _ in range(3):
            async with api_session.post(f"{API}/videos",
                                        json={"prompt": "x", "model": "sora-3"}) as r:
                assert r.status == 200
    warnings = [r for r in caplog.records if "sora-3" in r.getMessage()]
    assert len(warnings) == 1 and "deployment" in warnings[0].getMessage()


@pytest.fixture
async def api_session(clock: ManualClock) -> AsyncIterator[aiohttp.ClientSession]:
    async with Emulator(clock=clock, renderer=PlaceholderRenderer()) as emu, \
            aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as http:
        yield http


async def test_require_key(clock: ManualClock) -> None:
    async with Emulator(clock=clock, renderer=PlaceholderRenderer(),
                        api_keys={"emulator-key"}) as emu, aiohttp.ClientSession() as http:
        for key, status in (("anything", 401), ("emulator-key", 200)):
            async with http.get(f"{emu.endpoint}{API}/videos", headers={"api-key": key}) as r:
                assert r.status == status


# -- PyAV ------------------------------------------------------------------------------------


def test_standalone_says_what_to_install_before_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now fails: a core install
    with pytest.raises(RuntimeError, match=r'pip install "foundry-video\[emulator\]"'):
        run_standalone(0)


async def test_a_render_without_pyav_logs_the_hint_once(
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "av", None)
    monkeypatch.setattr("foundry_video.emulator._content._told_to_install", False)
    async with Emulator(clock=clock, queue_seconds=0, job_seconds=1) as emu, \
            aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as http:
        async with http.post(f"{API}/videos", json={"prompt": "x"}) as r:
            video = await r.json()
        clock.advance(5)
        with caplog.at_level(logging.ERROR, logger="foundry_video.emulator"):
            for _ in range(3):
                async with http.get(f"{API}/videos/{video['id']}/content") as r:
                    body = await r.json()
                assert r.status == 500 and body["error"]["message"] == INSTALL_HINT
    assert [r.getMessage() for r in caplog.records] == [INSTALL_HINT]
    assert all(r.exc_info is None for r in caplog.records)  # no tracebacks


# -- image → video ---------------------------------------------------------------------------


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG (stdlib only)."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def _mean_rgb(frame: object) -> tuple[int, ...]:
    rgb = frame.to_rgb()  # type: ignore[attr-defined]
    data = bytes(rgb.planes[0])
    pixels = [data[i:i + 3] for i in range(0, len(data) - 2, 3 * 97)]
    return tuple(sum(p[k] for p in pixels) // len(pixels) for k in range(3))


async def test_image_to_video_opens_with_the_image(clock: ManualClock) -> None:
    av = pytest.importorskip("av")
    image = png(1280, 720, (250, 20, 20))
    async with Emulator(clock=clock, queue_seconds=0, job_seconds=1) as emu, \
            aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as http:
        form = aiohttp.FormData()
        form.add_field("prompt", "a red start")
        form.add_field("size", "1280x720")
        form.add_field("input_reference", image, filename="red.png", content_type="image/png")
        async with http.post(f"{API}/videos", data=form) as r:
            video = await r.json()
            assert r.status == 200, video
        clock.advance(5)
        async with http.get(f"{API}/videos/{video['id']}/content") as r:
            data = await r.read()
    with av.open(io.BytesIO(data)) as container:
        frames = [f for _, f in zip(range(30), container.decode(video=0), strict=False)]
    first, later = _mean_rgb(frames[0]), _mean_rgb(frames[-1])
    assert first[0] > 200 and first[1] < 60 and first[2] < 60  # the red input image
    assert not (later[0] > 200 and later[1] < 60)  # then the clip itself
