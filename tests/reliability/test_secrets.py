"""Secrets stay secret: keys and tokens never reach logs (at DEBUG), reprs, exception
messages, exception bodies, tracebacks or CLI output; TLS is verified unless switched off.

Each test drives real failures through the SDK and then scans *everything* captured for
the secret string."""

from __future__ import annotations

import json
import logging
import pickle
import ssl
import subprocess
import time
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from foundry_video import (
    APIConnectionError,
    ApiKeyAuth,
    AuthenticationError,
    BadRequestError,
    EntraIdAuth,
    FoundryVideoError,
    ManualClock,
    Secret,
    TokenProviderAuth,
    VideoClient,
)
from foundry_video import cli as cli_module
from foundry_video.emulator import Emulator, Fault, PlaceholderRenderer

from .conftest import KEY, ThreadedEmulator

TOKEN = "eyJ0eXAi.SECRET-TOKEN-body.c2lnbmF0dXJl"


def everything_about(*objects: Any) -> str:
    """Every way an object or exception can be turned into text by a user or a logger."""
    parts: list[str] = []
    for obj in objects:
        parts += [repr(obj), str(obj)]
        if isinstance(obj, BaseException):
            parts.append("".join(traceback.format_exception(obj)))
            parts.append(repr(vars(obj)))
            parts.append(json.dumps(getattr(obj, "body", None), default=str))
    return "\n".join(parts)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # every logger: foundry_video, aiohttp, asyncio...
    return caplog


async def test_api_key_never_leaks_through_a_run_full_of_faults(
        client: VideoClient, emu: Emulator, tmp_path: Path,
        debug_logs: pytest.LogCaptureFixture) -> None:
    emu.inject(Fault("rate_limit", operation="create"))
    emu.inject(Fault("drop_connection", operation="retrieve", times=2))
    emu.inject(Fault("truncate_body", operation="content", after_bytes=5000))
    job = await client.videos.create(prompt="a quiet harbour")
    await job.result(tmp_path / "out.mp4")
    errors: list[BaseException] = []
    emu.inject(Fault("drop_connection", operation="create"))
    for attempt in (lambda: client.videos.create(prompt="again"),
                    lambda: client.videos.retrieve("video_missing"),
                    lambda: client.videos.create(prompt="gore")):
        with pytest.raises(FoundryVideoError) as info:
            await attempt()
        errors.append(info.value)
    text = everything_about(client, client.auth, job, job.latest, *errors)
    assert KEY not in text + debug_logs.text
    assert any(r.name == "foundry_video" for r in debug_logs.records)  # DEBUG was on
    assert all(r.headers.get("api-key") == "REDACTED" for r in emu.requests)


async def test_a_rejected_key_is_not_repeated_in_the_error(
        clock: ManualClock, debug_logs: pytest.LogCaptureFixture) -> None:
    async with Emulator(clock=clock, renderer=PlaceholderRenderer(), api_keys={"other"}) as emu, \
            VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.videos.create(prompt="a cat")
    assert info.value.request_id
    assert KEY not in everything_about(info.value) + debug_logs.text


@pytest.fixture
async def echo_service() -> AsyncIterator[str]:
    """A service whose error messages quote the credentials back (some gateways do)."""

    async def handler(request: web.Request) -> web.Response:
        seen = request.headers.get("api-key") or request.headers.get("Authorization", "")
        body = {"error": {"message": f"bad credential {seen}", "code": "invalid", "param": seen,
                          "details": [{"header": seen}]}}
        return web.json_response(body, status=400, headers={"x-request-id": "req-echo"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.parametrize("kind", ["key", "entra", "provider"])
async def test_a_service_echoing_the_secret_back_is_redacted(
        echo_service: str, clock: ManualClock, kind: str,
        debug_logs: pytest.LogCaptureFixture) -> None:
    class Credential:
        async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            from azure.core.credentials import AccessToken

            return AccessToken(TOKEN, int(time.time()) + 3600)

    auth: Any = {"key": lambda: ApiKeyAuth(KEY), "entra": lambda: EntraIdAuth(Credential()),
                 "provider": lambda: TokenProviderAuth(lambda: TOKEN)}[kind]()
    secret = KEY if kind == "key" else TOKEN
    async with VideoClient(echo_service, auth=auth, clock=clock) as client:
        with pytest.raises(BadRequestError) as info:
            await client.videos.retrieve("video_abc")
        text = everything_about(info.value, client, auth)
    assert info.value.request_id == "req-echo"
    assert "<redacted>" in info.value.message
    assert secret not in text + debug_logs.text


def test_secret_objects_refuse_to_show_themselves() -> None:
    secret = Secret(KEY)
    assert KEY not in repr(secret) + str(secret) + f"{secret}" + repr([secret])
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert KEY not in repr(ApiKeyAuth(KEY)) + repr(TokenProviderAuth(lambda: KEY))


# -- the CLI --------------------------------------------------------------------------------


def test_cli_output_never_contains_the_key(
        threaded_emu: ThreadedEmulator, wall_clock: ManualClock, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    emu = threaded_emu.emulator
    outputs = []
    for argv in (["list", "--json"], ["status", "video_nope"],
                 ["wait", "video_nope", "-o", str(tmp_path / "x.mp4"), "-q"],
                 ["list", "--api-key", KEY], ["list", "--api-key", KEY + "-wrong"]):
        code = cli_module.main(argv)
        out, err = capsys.readouterr()
        outputs.append((code, out + err))
    assert [code for code, _ in outputs] == [0, 1, 1, 0, 1]
    assert "401" in outputs[-1][1] or "auth" in outputs[-1][1].lower()
    captured = "\n".join(text for _, text in outputs) + caplog.text
    assert KEY not in captured and "Traceback" not in captured
    assert len(emu.requests) >= 5


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
async def tls_service(self_signed: tuple[Path, Path]) -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"id": "video_abc", "status": "queued"})

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*self_signed)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"https://127.0.0.1:{port}"
    await runner.cleanup()


async def test_tls_is_verified_by_default(tls_service: str, clock: ManualClock) -> None:
    async with VideoClient(tls_service, auth=ApiKeyAuth(KEY), clock=clock) as client:
        with pytest.raises(APIConnectionError, match=r"(?i)certificate"):
            await client.videos.retrieve("video_abc")


async def test_tls_verification_is_only_disabled_explicitly(
        tls_service: str, clock: ManualClock) -> None:
    async with VideoClient(tls_service, auth=ApiKeyAuth(KEY), clock=clock,
                           verify_ssl=False) as client:
        video = await client.videos.retrieve("video_abc")
    assert video.id == "video_abc"
