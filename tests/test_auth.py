from __future__ import annotations

import time
from dataclasses import dataclass

import anyio
import pytest
from aiohttp import web

from foundry_video import (
    ApiKeyAuth,
    AuthenticationError,
    EntraIdAuth,
    TokenProviderAuth,
    VideoClient,
)
from foundry_video._auth import Secret

from .fakes import FakeService, video


@dataclass
class AccessToken:
    token: str
    expires_on: int


class FakeAsyncCredential:
    def __init__(self, lifetime: float = 3600) -> None:
        self.calls = 0
        self.scopes: list[str] = []
        self.lifetime = lifetime

    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.calls += 1
        self.scopes.extend(scopes)
        await anyio.sleep(0.01)  # let concurrent callers pile up on the lock
        return AccessToken(f"token-{self.calls}", int(time.time() + self.lifetime))


class FakeSyncCredential:
    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.calls += 1
        return AccessToken(f"sync-token-{self.calls}", int(time.time() + 3600))


async def test_api_key_headers_per_flavor() -> None:
    auth = ApiKeyAuth("k1")
    assert await auth.headers("azure") == {"api-key": "k1"}
    assert await auth.headers("openai") == {"Authorization": "Bearer k1"}
    assert await ApiKeyAuth("k1", header="bearer").headers("azure") == {
        "Authorization": "Bearer k1"}


def test_secret_hides_itself() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret}"
    with pytest.raises(ValueError):
        Secret("")
    with pytest.raises(TypeError):
        import pickle
        pickle.dumps(secret)


async def test_entra_token_is_cached_and_concurrent_callers_share_one_fetch() -> None:
    credential = FakeAsyncCredential()
    auth = EntraIdAuth(credential)
    results: list[dict[str, str]] = []

    async def call() -> None:
        results.append(await auth.headers("azure"))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(call)
    assert credential.calls == 1
    assert credential.scopes == ["https://cognitiveservices.azure.com/.default"]
    assert all(h == {"Authorization": "Bearer token-1"} for h in results)
    await auth.headers("azure")
    assert credential.calls == 1


async def test_entra_token_refreshes_ahead_of_expiry() -> None:
    credential = FakeAsyncCredential(lifetime=60)  # inside the 300 s refresh margin
    auth = EntraIdAuth(credential, scope="https://ai.azure.com/.default")
    assert await auth.headers("azure") == {"Authorization": "Bearer token-1"}
    assert await auth.headers("azure") == {"Authorization": "Bearer token-2"}
    assert credential.scopes[0] == "https://ai.azure.com/.default"


async def test_sync_credential_runs_off_the_loop() -> None:
    credential = FakeSyncCredential()
    auth = EntraIdAuth(credential)
    assert await auth.headers("azure") == {"Authorization": "Bearer sync-token-1"}
    assert credential.calls == 1


async def test_token_provider_sync_and_async() -> None:
    assert await TokenProviderAuth(lambda: "t1").headers("azure") == {
        "Authorization": "Bearer t1"}

    async def provider() -> str:
        return "t2"

    assert await TokenProviderAuth(provider).headers("openai") == {"Authorization": "Bearer t2"}
    with pytest.raises(TypeError):
        TokenProviderAuth("not callable")  # type: ignore[arg-type]


async def test_401_forces_one_refresh_then_succeeds(service: FakeService) -> None:
    credential = FakeAsyncCredential()

    @service.route("GET", "/openai/v1/videos/video_1")
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers["Authorization"] == "Bearer token-1":  # "expired" server-side
            return web.json_response({"error": {"code": "401", "message": "expired"}}, status=401)
        return web.json_response(video())

    async with VideoClient(f"http://127.0.0.1:{service.port}",
                           auth=EntraIdAuth(credential)) as client:
        got = await client.videos.retrieve("video_1")
    assert got.id == "video_1"
    assert credential.calls == 2
    assert [r.headers["Authorization"] for r in service.requests] == [
        "Bearer token-1", "Bearer token-2"]


async def test_401_twice_raises_authentication_error_without_the_token(
        service: FakeService) -> None:
    service.json("GET", "/openai/v1/videos/video_1",
                 {"error": {"code": "401", "message": "Access denied"}}, status=401)
    tokens = iter(["tok-AAA-secret", "tok-BBB-secret", "tok-CCC"])
    async with VideoClient(f"http://127.0.0.1:{service.port}",
                           auth=TokenProviderAuth(lambda: next(tokens))) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.videos.retrieve("video_1")
    assert len(service.requests) == 2
    assert "tok-" not in str(info.value) and "tok-" not in repr(info.value)


async def test_api_key_401_is_not_retried(service: FakeService) -> None:
    service.json("GET", "/openai/v1/videos/video_1",
                 {"error": {"code": "401", "message": "Access denied"}}, status=401)
    async with VideoClient(f"http://127.0.0.1:{service.port}", auth=ApiKeyAuth("bad")) as client:
        with pytest.raises(AuthenticationError):
            await client.videos.retrieve("video_1")
    assert len(service.requests) == 1
