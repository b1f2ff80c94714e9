from __future__ import annotations

import logging
import warnings

import pytest

from foundry_video import ApiKeyAuth, VideoClient
from foundry_video._client import resolve_endpoint

from .conftest import SECRET
from .fakes import FakeService, video


@pytest.mark.parametrize(
    ("endpoint", "base", "flavor"),
    [
        ("https://res.openai.azure.com", "https://res.openai.azure.com/openai/v1", "azure"),
        ("https://res.openai.azure.com/", "https://res.openai.azure.com/openai/v1", "azure"),
        ("https://res.openai.azure.com/openai/v1/", "https://res.openai.azure.com/openai/v1", "azure"),
        ("https://res.services.ai.azure.com/openai", "https://res.services.ai.azure.com/openai/v1",
         "azure"),
        ("https://api.openai.com/v1", "https://api.openai.com/v1", "openai"),
        ("https://api.openai.com", "https://api.openai.com/v1", "openai"),
        ("http://127.0.0.1:8089", "http://127.0.0.1:8089/openai/v1", "azure"),
    ],
)
def test_endpoint_decides_base_url_and_flavor(endpoint: str, base: str, flavor: str) -> None:
    assert resolve_endpoint(endpoint) == (base, flavor)


@pytest.mark.parametrize("endpoint", ["", "res.openai.azure.com", "ftp://x", "https://"])
def test_bad_endpoint_is_rejected(endpoint: str) -> None:
    with pytest.raises(ValueError):
        VideoClient(endpoint, auth=ApiKeyAuth("k"))


def test_repr_never_shows_the_key() -> None:
    client = VideoClient("https://res.openai.azure.com", auth=ApiKeyAuth(SECRET))
    assert SECRET not in repr(client)
    assert SECRET not in repr(client.auth)
    assert "redacted" in repr(client.auth)


def test_from_env_reads_endpoint_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://env-res.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", SECRET)
    client = VideoClient.from_env()
    assert client.base_url == "https://env-res.openai.azure.com/openai/v1"
    assert isinstance(client.auth, ApiKeyAuth)
    assert SECRET not in repr(client)


def test_from_env_without_key_uses_entra_id(monkeypatch: pytest.MonkeyPatch) -> None:
    from foundry_video import EntraIdAuth

    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://env-res.openai.azure.com")
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    client = VideoClient.from_env()
    assert isinstance(client.auth, EntraIdAuth)
    assert client.auth.scope == "https://cognitiveservices.azure.com/.default"


def test_missing_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="no credentials"):
        VideoClient("https://res.openai.azure.com")


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = ("import sys, foundry_video; "
            "print(sorted(m for m in ('aiohttp', 'pydantic', 'azure.identity', 'av', 'opentelemetry') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_client_built_outside_the_loop_works_and_closes_cleanly(
        service: FakeService) -> None:
    # Built before any request: the session must be created lazily in the running loop.
    client = VideoClient(f"http://127.0.0.1:{service.port}", auth=ApiKeyAuth(SECRET))
    service.json("GET", "/openai/v1/videos/video_1", video())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = await client.videos.retrieve("video_1")
        assert got.id == "video_1"
        await client.close()
        await client.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await client.videos.retrieve("video_1")


async def test_caller_owned_session_is_not_closed(service: FakeService) -> None:
    import aiohttp

    service.json("GET", "/openai/v1/videos/video_1", video())
    async with aiohttp.ClientSession() as session:
        async with VideoClient(f"http://127.0.0.1:{service.port}", auth=ApiKeyAuth(SECRET),
                               session=session) as client:
            await client.videos.retrieve("video_1")
        assert not session.closed


async def test_headers_user_agent_and_api_key(live_client: VideoClient,
                                              service: FakeService) -> None:
    from foundry_video import __version__

    service.json("GET", "/openai/v1/videos/video_1", video())
    await live_client.videos.retrieve("video_1")
    sent = service.last("GET", "/openai/v1/videos/video_1")
    assert sent.headers["User-Agent"] == f"foundry-video/{__version__}"
    assert sent.headers["api-key"] == SECRET
    assert "Authorization" not in sent.headers


async def test_openai_endpoint_uses_bearer(service: FakeService) -> None:
    service.json("GET", "/v1/videos/video_1", video())
    async with VideoClient(f"http://127.0.0.1:{service.port}/v1",
                           auth=ApiKeyAuth(SECRET)) as client:
        assert client.flavor == "openai"
        await client.videos.retrieve("video_1")
    sent = service.last("GET", "/v1/videos/video_1")
    assert sent.headers["Authorization"] == f"Bearer {SECRET}"
    assert "api-key" not in sent.headers


async def test_api_version_is_sent_when_configured(service: FakeService) -> None:
    service.json("GET", "/openai/v1/videos/video_1", video())
    async with VideoClient(f"http://127.0.0.1:{service.port}", auth=ApiKeyAuth(SECRET),
                           api_version="preview") as client:
        await client.videos.retrieve("video_1")
    assert service.last("GET", "/openai/v1/videos/video_1").query == {"api-version": "preview"}


async def test_debug_logs_carry_request_id_but_no_secret(
        live_client: VideoClient, service: FakeService, caplog: pytest.LogCaptureFixture) -> None:
    service.json("GET", "/openai/v1/videos/video_1", video(),
                 headers={"x-request-id": "req-abc"})
    with caplog.at_level(logging.DEBUG, logger="foundry_video"):
        await live_client.videos.retrieve("video_1")
    assert "req-abc" in caplog.text
    assert SECRET not in caplog.text
