"""The official ``openai`` client must work unchanged against the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from foundry_video.emulator import Emulator, Fault, PlaceholderRenderer

try:
    import openai
except ImportError:  # pragma: no cover - openai is a dev dependency
    pytest.skip("the openai package is not installed", allow_module_level=True)

# Every Videos method of the official client carries a @deprecated warning (Sora shutdown).
pytestmark = pytest.mark.filterwarnings("ignore:The Sora API is scheduled:DeprecationWarning")


@pytest.fixture
async def live_emu() -> AsyncIterator[Emulator]:
    # The openai client sleeps for real between polls, so this emulator runs on the system
    # clock with sub-second jobs; openai-poll-after-ms keeps the polling tight.
    async with Emulator(renderer=PlaceholderRenderer(), queue_seconds=0.01,
                        job_seconds=0.08) as emulator:
        yield emulator


@pytest.fixture
async def client(live_emu: Emulator) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(api_key="test", base_url=live_emu.endpoint + "/openai/v1",
                                  max_retries=2) as c:
        yield c


async def test_openai_client_end_to_end(live_emu: Emulator, client: openai.AsyncOpenAI) -> None:
    video = await client.videos.create(prompt="a calico cat playing piano", model="sora-2",
                                       size="1280x720", seconds="4")
    assert video.status == "queued" and video.id.startswith("video_")
    assert live_emu.requests[-1].body_kind == "multipart"
    assert live_emu.requests[-1].headers["authorization"] == "Bearer REDACTED"

    fetched = await client.videos.retrieve(video.id)
    assert fetched.id == video.id and fetched.status in ("queued", "in_progress", "completed")

    done = await client.videos.create_and_poll(prompt="a dog surfing", size="720x1280")
    assert done.status == "completed" and done.progress == 100
    assert done.expires_at == done.created_at + 86400
    polls = [r for r in live_emu.requests if r.headers.get("x-stainless-poll-helper") == "true"]
    assert polls  # it honoured openai-poll-after-ms rather than its 1 s default

    content = await client.videos.download_content(done.id)
    data = content.read()
    assert data[4:8] == b"ftyp"
    thumb = await client.videos.download_content(done.id, variant="thumbnail")
    assert thumb.read()[8:12] == b"WEBP"

    remix = await client.videos.remix(done.id, prompt="now at night")
    assert remix.remixed_from_video_id == done.id and remix.size == "720x1280"
    remixed = await client.videos.poll(remix.id)
    assert remixed.status == "completed"

    # openai 3.57 can only send `video` as a file upload (a {"id"} dict raises client-side).
    upload = ("in.mp4", data, "video/mp4")
    edit = await client.videos.edit(prompt="make it blue", video=upload)
    extension = await client.videos.extend(prompt="and then", seconds="8", video=upload)
    assert edit.seconds == "4" and extension.seconds == "12"  # the stitched total

    await client.videos.create(prompt="filler")
    listed = [v.id async for v in client.videos.list(limit=2)]
    assert len(listed) == 6 and len(set(listed)) == 6
    assert {video.id, done.id, remix.id} <= set(listed)
    list_calls = [r for r in live_emu.requests if r.operation == "list"]
    assert len(list_calls) == 3  # auto-pagination followed has_more/after

    deleted = await client.videos.delete(done.id)
    assert deleted.deleted is True and deleted.id == done.id
    with pytest.raises(openai.NotFoundError):
        await client.videos.retrieve(done.id)


async def test_openai_client_errors_and_retries(live_emu: Emulator,
                                                client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await client.videos.create(prompt="", seconds="4")
    assert info.value.code == "string_below_min_length"

    # The client retries 429 (honouring retry-after-ms) and then succeeds.
    fault = live_emu.inject(Fault("rate_limit", operation="create", retry_after=0,
                                  retry_after_ms=10))
    video = await client.videos.create(prompt="retried")
    assert fault.fired == 1 and video.status == "queued"

    async with openai.AsyncOpenAI(api_key="test", base_url=live_emu.endpoint + "/v1",
                                  max_retries=0) as c:
        live_emu.inject(Fault("server_error", status=503, operation="retrieve"))
        with pytest.raises(openai.InternalServerError):
            await c.videos.retrieve(video.id)

    failed_fault = live_emu.inject(Fault("job_failed", code="internal_error", message="nope"))
    failed = await client.videos.create_and_poll(prompt="doomed")
    assert failed_fault.fired == 1
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code == "internal_error"


async def test_openai_client_wrong_key() -> None:
    # Bearer tokens not in api_keys go to the validator; this one rejects them all.
    emulator = Emulator(api_keys={"right"}, token_validator=lambda token: False,
                        renderer=PlaceholderRenderer())
    async with emulator as emu, openai.AsyncOpenAI(
        api_key="wrong", base_url=emu.endpoint + "/openai/v1", max_retries=0
    ) as c:
        with pytest.raises(openai.AuthenticationError):
            await c.videos.retrieve("video_x")
    async with emulator as emu, openai.AsyncOpenAI(
        api_key="right", base_url=emu.endpoint + "/openai/v1", max_retries=0
    ) as c:
        with pytest.raises(openai.NotFoundError):
            await c.videos.retrieve("video_x")
