from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import anyio
import pytest
from aiohttp import web

from foundry_video import (
    ApiKeyAuth,
    AuthenticationError,
    CredentialError,
    EntraIdAuth,
    Response,
    TokenProviderAuth,
    VideoClient,
)
from foundry_video._auth import Secret
from foundry_video.testing import MockTransport

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


# -- found by the mutation run ---------------------------------------------------------


@dataclass
class BareToken:
    """A credential result without an expiry (some custom credentials)."""

    token: str


class ProgrammableCredential:
    """Returns ``result()`` from a sync ``get_token`` (recording scopes), or sleeps first."""

    def __init__(self, result: object, delay: float = 0.0) -> None:
        self.result = result
        self.delay = delay
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: object) -> object:
        self.scopes.extend(scopes)
        time.sleep(self.delay)
        return self.result() if callable(self.result) else self.result


def test_secrets_compare_by_value_and_refuse_pickling() -> None:
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b")
    assert Secret("a") != "a"  # never equal to the bare string it hides
    assert len({Secret("a"), Secret("a"), Secret("b")}) == 2
    import pickle

    with pytest.raises(TypeError, match=r"^secrets are not picklable$"):
        pickle.dumps(Secret("a"))


async def test_entra_token_count_and_expiry_margin() -> None:
    credential = FakeAsyncCredential(lifetime=310)  # refreshed 300 s ahead: still fresh
    auth = EntraIdAuth(credential)
    assert auth.refresh_count == 0 and auth.secrets == ()
    await auth.headers("azure")
    await auth.headers("azure")
    assert credential.calls == auth.refresh_count == 1
    assert auth.secrets == ("token-1",)
    assert await auth.invalidate() is True
    assert auth.secrets == ()
    await auth.headers("azure")
    assert credential.calls == auth.refresh_count == 2
    short = FakeAsyncCredential(lifetime=299)
    short_auth = EntraIdAuth(short)
    await short_auth.headers("azure")
    await short_auth.headers("azure")
    assert short_auth.refresh_count == 2  # inside the default 300 s margin: fetched again


async def test_a_token_without_an_expiry_is_kept() -> None:
    credential = ProgrammableCredential(BareToken("forever"))
    auth = EntraIdAuth(credential, scope="api://custom/.default")
    assert await auth.headers("azure") == {"Authorization": "Bearer forever"}
    await auth.headers("azure")
    assert auth.refresh_count == 1
    assert credential.scopes == ["api://custom/.default"]


async def test_a_sync_credential_returning_an_awaitable_is_awaited() -> None:
    async def token() -> AccessToken:
        return AccessToken("from-an-awaitable", int(time.time() + 3600))

    credential = ProgrammableCredential(token)
    auth = EntraIdAuth(credential)
    assert await auth.headers("azure") == {"Authorization": "Bearer from-an-awaitable"}
    assert credential.scopes == ["https://cognitiveservices.azure.com/.default"]


@pytest.mark.parametrize("result", [BareToken(""), BareToken("  "), object(), None])
async def test_a_credential_returning_no_token_is_a_credential_error(result: object) -> None:
    auth = EntraIdAuth(ProgrammableCredential(result))
    with pytest.raises(CredentialError,
                       match=r"^ProgrammableCredential\.get_token\(\) returned no token$"):
        await auth.headers("azure")


@pytest.mark.parametrize("kind", ["credential", "provider"])
async def test_a_blocking_credential_is_abandoned_when_the_request_times_out(kind: str) -> None:
    auth: EntraIdAuth | TokenProviderAuth
    if kind == "credential":
        auth = EntraIdAuth(ProgrammableCredential(BareToken("late"), delay=1.5))
    else:
        auth = TokenProviderAuth(lambda: time.sleep(1.5) or "late")  # type: ignore[func-returns-value]
    client = VideoClient("https://res.openai.azure.com", auth=auth, timeout=0.2,
                         transport=MockTransport(lambda r: Response(200, json=video())))
    started = time.monotonic()
    with pytest.raises(CredentialError, match="did not return a token"):
        await client.videos.retrieve("video_1")
    assert time.monotonic() - started < 1.0  # not held until the thread returns


async def test_token_provider_details() -> None:
    async def make() -> str:
        return "from-a-coroutine"

    auth = TokenProviderAuth(lambda: make())  # a sync callable returning an awaitable
    assert auth.secrets == ()
    assert await auth.headers("azure") == {"Authorization": "Bearer from-a-coroutine"}
    assert auth.secrets == ("from-a-coroutine",)
    assert await auth.invalidate() is True

    def named() -> str:
        return "t"

    class Provider:
        def __call__(self) -> str:
            return "t"

    assert repr(TokenProviderAuth(named)) == "TokenProviderAuth(provider=named)"
    assert repr(TokenProviderAuth(Provider())) == "TokenProviderAuth(provider=callable)"
    assert repr(EntraIdAuth(FakeSyncCredential())) == (
        "EntraIdAuth(credential=FakeSyncCredential, "
        "scope='https://cognitiveservices.azure.com/.default')")
    with pytest.raises(TypeError, match=r"^provider must be a callable returning a token$"):
        TokenProviderAuth("not callable")  # type: ignore[arg-type]
    for value, shown in (("", "an empty string"), (" ", "an empty string"), (7, "int")):
        with pytest.raises(CredentialError) as info:
            await TokenProviderAuth(lambda v=value: v).headers("azure")  # type: ignore[misc]
        assert str(info.value) == f"the token provider returned {shown}, not a token"


async def test_a_token_is_refreshed_exactly_300_seconds_before_it_expires() -> None:
    @dataclass
    class Expiring:
        token: str
        expires_on: float

    fresh = ProgrammableCredential(lambda: Expiring("t", time.time() + 300.8))
    auth = EntraIdAuth(fresh)
    await auth.headers("azure")
    await auth.headers("azure")  # 300.8 s left: outside the margin, still used
    assert auth.refresh_count == 1
    stale = EntraIdAuth(ProgrammableCredential(lambda: Expiring("t", time.time() + 299.5)))
    await stale.headers("azure")
    await stale.headers("azure")
    assert stale.refresh_count == 2


def test_an_empty_secret_is_refused() -> None:
    for value in ("", "  ", None):
        with pytest.raises(ValueError, match=r"^a key or token must be a non-empty string$"):
            Secret(value)  # type: ignore[arg-type]


class BlockingCredential:
    """A sync credential whose ``get_token`` blocks until released."""

    def __init__(self, release: threading.Event, returned: threading.Event) -> None:
        self.release, self.returned = release, returned

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.release.wait(5)
        self.returned.set()
        return AccessToken("late", int(time.time() + 3600))


class AsyncOnlyCredential:
    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken("async-token", int(time.time() + 3600))


@pytest.mark.parametrize("kind", ["provider", "credential"])
async def test_a_blocking_sync_source_can_be_cancelled_without_waiting_for_it(kind: str) -> None:
    # Called directly (a custom Auth wrapping this one): cancelling must not wait for the
    # worker thread, which may block for a network refresh.
    release, returned = threading.Event(), threading.Event()
    blocking = BlockingCredential(release, returned)
    auth = (TokenProviderAuth(lambda: blocking.get_token().token) if kind == "provider"
            else EntraIdAuth(blocking))
    try:
        with anyio.move_on_after(0.1) as scope:
            await auth.headers("azure")
        assert scope.cancelled_caught
        assert not returned.is_set()  # cancelled while the source was still blocked
    finally:
        release.set()


@pytest.mark.parametrize("kind", ["provider", "credential"])
async def test_an_async_source_needs_no_worker_thread(kind: str) -> None:
    # With every worker thread busy (file I/O, other sync providers), an async provider or
    # credential still answers: it runs on the event loop.
    async def provider() -> str:
        return "async-token"

    auth = (TokenProviderAuth(provider) if kind == "provider"
            else EntraIdAuth(AsyncOnlyCredential()))
    limiter = anyio.to_thread.current_default_thread_limiter()
    saved, limiter.total_tokens = limiter.total_tokens, 1
    release = threading.Event()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(anyio.to_thread.run_sync, release.wait)
        await anyio.sleep(0.01)  # the only worker thread is now taken
        try:
            with anyio.fail_after(2):
                headers = await auth.headers("openai")
        finally:
            release.set()
            limiter.total_tokens = saved
    assert headers == {"Authorization": "Bearer async-token"}


async def test_a_token_is_refreshed_exactly_at_its_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    import foundry_video._auth as auth_module

    now = 1_000_000.0
    monkeypatch.setattr(auth_module.time, "time", lambda: now)
    expiries = iter([now + 600, now + 4000])
    credential = ProgrammableCredential(lambda: AccessToken("t", int(next(expiries))))
    auth = EntraIdAuth(credential, refresh_margin=300)
    await auth.headers("azure")
    now += 299.5  # just inside the margin's start: still fresh
    await auth.headers("azure")
    assert len(credential.scopes) == 1
    now += 0.5  # exactly `refresh_margin` before expiry: refreshed
    await auth.headers("azure")
    assert len(credential.scopes) == 2


def test_equal_secrets_hash_alike_and_different_ones_apart() -> None:
    assert hash(Secret("key-one")) == hash(Secret("key-one"))
    assert hash(Secret("key-one")) != hash(Secret("key-two"))
    assert {Secret("key-one"): 1}[Secret("key-one")] == 1
