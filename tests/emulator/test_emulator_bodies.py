"""Malformed request bodies are 400s (never 500s); the /v1 surface speaks OpenAI's error shape."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from foundry_video.emulator import Emulator

from .conftest import API

MULTIPART_CASES = {
    "no boundary": ("multipart/form-data",
                    b'--x\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi\r\n--x--\r\n'),
    "control character in a part header": (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="pro\x01mpt"\r\n\r\nhi\r\n--x--\r\n'),
    "truncated in a part": ("multipart/form-data; boundary=x",
                            b'--x\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi'),
    "truncated in the headers": ("multipart/form-data; boundary=x", b"--x\r\nContent-Disp"),
}


@pytest.mark.parametrize("case", sorted(MULTIPART_CASES))
@pytest.mark.parametrize("path", ["/openai/v1/videos", "/openai/v1/video/generations/jobs"])
async def test_malformed_multipart_is_a_400(session: aiohttp.ClientSession, emu: Emulator,
                                            caplog: pytest.LogCaptureFixture, case: str,
                                            path: str) -> None:
    content_type, body = MULTIPART_CASES[case]
    with caplog.at_level(logging.ERROR, logger="foundry_video.emulator"):
        async with session.post(path, data=body, headers={"Content-Type": content_type},
                                params={"api-version": "preview"} if "generations" in path
                                else None) as resp:
            payload = await resp.json()
    assert resp.status == 400, payload
    assert payload["error"]["code"] == "invalid_body"
    assert payload["error"]["type"] == "invalid_request_error"
    assert not caplog.records  # no traceback in the emulator's log
    assert len(emu.videos) == 0


async def test_405_names_the_allowed_methods(session: aiohttp.ClientSession) -> None:
    async with session.put(f"{API}/videos") as resp:
        body = await resp.json()
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, POST"
    assert body["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(("method", "path", "headers", "status"), [
    ("GET", "/v1/nothing/here", {}, 404),
    ("GET", "/v1/videos", {"api-key": ""}, 401),
    ("PUT", "/v1/videos", {}, 405),
    ("GET", "/v1/videos?api-version=2099-01-01", {}, 400),
])
async def test_openai_surface_errors_have_all_four_fields(
        session: aiohttp.ClientSession, method: str, path: str, headers: dict[str, str],
        status: int) -> None:
    async with session.request(method, path, headers=headers) as resp:
        body = await resp.json()
    assert resp.status == status
    error = body["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    assert error["code"] is None or isinstance(error["code"], str)


async def test_azure_surface_keeps_azure_bodies(session: aiohttp.ClientSession) -> None:
    async with session.get("/openai/v1/nothing") as resp:
        body = await resp.json()
    assert resp.status == 404
    assert body == {"error": {"code": "404", "message": "Resource not found"}}
