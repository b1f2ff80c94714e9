"""The fault matrix: every fault the emulator can inject, against the whole job flow.

Each case ends in exactly one of two ways:

* the exact bytes on disk under the target name (sha256 equal to what the emulator serves),
  with nothing else left in the directory; or
* a typed :class:`~foundry_video.FoundryVideoError` carrying the job id (whenever a job
  exists) and the request id (whenever the service answered), with no file and no temp
  file left behind.

Request counts from ``emu.requests`` pin down retries, and in particular that a create
whose outcome is unknown is never re-sent into a second job. Jobs, polling and back-off
run on a ManualClock shared with the emulator; only the slow-body cases use real time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from foundry_video import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ContentExpiredError,
    ContentPolicyError,
    DownloadError,
    EntraIdAuth,
    InternalServerError,
    JobFailedError,
    JobTimeoutError,
    ManualClock,
    NotFoundError,
    RateLimitError,
    VideoClient,
)
from foundry_video.emulator import Emulator, Fault

from .conftest import JOB_SECONDS, KEY, QUEUE_SECONDS, assert_clean, content_bytes, ops, sha256

PROMPT = "a lighthouse in a storm, cinematic"
CUT = 100_000
"""Where mid-body faults cut the ~256 KiB placeholder video."""


async def run_to_file(client: VideoClient, emu: Emulator, target: Path, **create: Any) -> str:
    """Create a job, download it to ``target``, check the bytes; return the job id."""
    job = await client.videos.create(prompt=PROMPT, **create)
    saved = await job.result(target)
    assert saved == target
    expected = await content_bytes(emu, job.id)
    assert sha256(target.read_bytes()) == sha256(expected)
    assert_clean(target.parent, target)
    return job.id


def statuses(emu: Emulator, operation: str) -> list[int | None]:
    return [r.status for r in ops(emu, operation)]


# -- 429 ------------------------------------------------------------------------------------


async def test_429_retry_after_seconds_on_create(
        client: VideoClient, emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    emu.inject(Fault("rate_limit", operation="create", retry_after=3))
    await run_to_file(client, emu, tmp_path / "out.mp4")
    assert statuses(emu, "create") == [429, 200]  # 429 is safe to re-send: nothing was created
    assert len(emu.videos) == 1
    assert clock.sleeps[0] == 3.0  # the hint, not a guess


async def test_429_retry_after_http_date_on_poll(
        client: VideoClient, emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    job = await client.videos.create(prompt=PROMPT)
    emu.inject(Fault("rate_limit", operation="retrieve", retry_after=7,
                     retry_after_http_date=True))
    clock.sleeps.clear()
    await job.refresh()
    # The date is measured against the client's clock (the one the emulator stamped it
    # with); HTTP-dates have whole seconds, so allow the fraction lost to rounding.
    assert len(clock.sleeps) == 1 and 6.0 <= clock.sleeps[0] <= 7.0
    assert statuses(emu, "retrieve") == [429, 200]
    await run_to_file_by_id(client, emu, job.id, tmp_path / "out.mp4")


async def test_429_retry_after_ms_on_download(
        client: VideoClient, emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    job = await client.videos.create(prompt=PROMPT)
    await job
    emu.inject(Fault("rate_limit", operation="content", retry_after=0, retry_after_ms=1500))
    before = len(clock.sleeps)
    target = await job.result(tmp_path / "out.mp4")
    assert clock.sleeps[before] == 1.5
    assert statuses(emu, "content") == [429, 200]
    assert sha256(target.read_bytes()) == sha256(await content_bytes(emu, job.id))
    assert_clean(tmp_path, target)


async def test_429_persistent_on_create_is_a_typed_error(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.inject(Fault("rate_limit", operation="create", retry_after=2, times=None))
    with pytest.raises(RateLimitError) as info:
        await client.videos.create(prompt=PROMPT)
    assert info.value.retry_after == 2.0 and info.value.request_id
    assert statuses(emu, "create") == [429] * 3  # 1 + max_retries, then the caller decides
    assert len(emu.videos) == 0


async def test_429_with_a_hint_too_long_to_wait_is_raised_at_once(
        client: VideoClient, emu: Emulator, clock: ManualClock) -> None:
    emu.inject(Fault("rate_limit", operation="create", retry_after=600, times=None))
    with pytest.raises(RateLimitError) as info:
        await client.videos.create(prompt=PROMPT)
    assert info.value.retry_after == 600.0
    assert statuses(emu, "create") == [429] and clock.sleeps == []


# -- 5xx bursts -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("burst", [2, 5])
async def test_5xx_burst_during_poll(
        client: VideoClient, emu: Emulator, tmp_path: Path, status: int, burst: int) -> None:
    # 2 is absorbed by the transport's retries; 5 outlasts them and the job's own patience
    # with transient poll failures carries on.
    emu.inject(Fault("server_error", operation="retrieve", status=status, times=burst))
    await run_to_file(client, emu, tmp_path / "out.mp4")
    assert statuses(emu, "retrieve")[:burst + 1] == [status] * burst + [200]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_burst_during_download(
        client: VideoClient, emu: Emulator, tmp_path: Path, status: int) -> None:
    emu.inject(Fault("server_error", operation="content", status=status, times=2))
    await run_to_file(client, emu, tmp_path / "out.mp4")
    assert statuses(emu, "content") == [status, status, 200]


async def test_5xx_persistent_during_poll_is_a_typed_error_with_the_job_id(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    job = await client.videos.create(prompt=PROMPT)
    emu.inject(Fault("server_error", operation="retrieve", status=503, times=None))
    with pytest.raises(InternalServerError) as info:
        await job.result(tmp_path / "out.mp4")
    assert info.value.job_id == job.id and info.value.status_code == 503
    assert info.value.request_id
    assert_clean(tmp_path)


@pytest.mark.parametrize("stage", ["request", "response"])
async def test_5xx_on_create_is_not_retried_into_a_second_job(
        client: VideoClient, emu: Emulator, stage: str) -> None:
    emu.inject(Fault("server_error", operation="create", status=502, stage=stage))
    with pytest.raises(InternalServerError) as info:
        await client.videos.create(prompt=PROMPT)
    assert info.value.request_id
    assert statuses(emu, "create") == [502]
    # "response": the job exists although the client saw a 502; re-sending would make two.
    assert len(emu.videos) == (1 if stage == "response" else 0)


async def test_5xx_on_create_declared_retriable_by_the_server_is_retried(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.inject(Fault("server_error", operation="create", status=503, should_retry=True))
    await run_to_file(client, emu, tmp_path / "out.mp4")
    assert statuses(emu, "create") == [503, 200]
    assert len(emu.videos) == 1


# -- dropped connections --------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["request", "response"])
async def test_connection_reset_during_create_is_never_resent(
        client: VideoClient, emu: Emulator, stage: str) -> None:
    # A pooled connection first, so nothing (SDK or aiohttp) may quietly re-send the POST.
    await client.videos.list(limit=1)
    emu.inject(Fault("drop_connection", operation="create", stage=stage))
    with pytest.raises(APIConnectionError) as info:
        await client.videos.create(prompt=PROMPT)
    assert "not retried" in str(info.value)
    assert len(ops(emu, "create")) == 1
    assert len(emu.videos) == (1 if stage == "response" else 0)


async def test_connection_reset_during_poll(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.inject(Fault("drop_connection", operation="retrieve", times=4))
    await run_to_file(client, emu, tmp_path / "out.mp4")
    assert statuses(emu, "retrieve")[:5] == [None] * 4 + [200]


async def test_connection_reset_mid_download_resumes_with_range(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.inject(Fault("drop_connection", operation="content", after_bytes=CUT))
    await run_to_file(client, emu, tmp_path / "out.mp4")
    first, second = ops(emu, "content")
    assert "range" not in first.headers
    assert second.headers["range"] == f"bytes={CUT}-" and second.status == 206
    assert second.headers["if-range"].startswith('"')  # resumes only the same content


async def test_connection_reset_mid_download_when_the_server_ignores_range(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.inject(Fault("drop_connection", operation="content", after_bytes=CUT))
    emu.inject(Fault("ignore_range"))
    await run_to_file(client, emu, tmp_path / "out.mp4")
    assert [(r.headers.get("range"), r.status) for r in ops(emu, "content")] == [
        (None, 200), (f"bytes={CUT}-", 200)]  # a full body again: written from byte 0


async def test_connection_reset_on_every_download_attempt_is_a_download_error(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    job = await client.videos.create(prompt=PROMPT)
    # 1000 bytes per attempt: some progress each time, far too little to ever finish.
    emu.inject(Fault("drop_connection", operation="content", after_bytes=1000, times=None))
    with pytest.raises(DownloadError) as info:
        await job.result(tmp_path / "out.mp4")
    assert info.value.job_id == job.id
    assert len(ops(emu, "content")) == 6  # the first attempt and five resumes, then stop
    assert_clean(tmp_path)


# -- truncated bodies -----------------------------------------------------------------------


async def test_truncated_download_with_correct_content_length_resumes(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.inject(Fault("truncate_body", operation="content", after_bytes=CUT))
    await run_to_file(client, emu, tmp_path / "out.mp4")
    assert [r.headers.get("range") for r in ops(emu, "content")] == [None, f"bytes={CUT}-"]


async def test_truncated_status_body_during_poll(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.inject(Fault("truncate_body", operation="retrieve", after_bytes=20, times=2))
    await run_to_file(client, emu, tmp_path / "out.mp4")


async def test_truncated_create_response_is_not_resent(client: VideoClient, emu: Emulator) -> None:
    emu.inject(Fault("truncate_body", operation="create", after_bytes=20))
    with pytest.raises(APIConnectionError) as info:
        await client.videos.create(prompt=PROMPT)
    assert info.value.request_id == ops(emu, "create")[0].request_id
    assert len(ops(emu, "create")) == 1 and len(emu.videos) == 1


# -- slow bodies (real time, kept short) ----------------------------------------------------


@pytest.fixture
async def impatient(emu: Emulator, clock: ManualClock) -> Any:
    async with VideoClient(emu.endpoint, auth=_key(), clock=clock, timeout=0.3) as c:
        yield c


def _key() -> Any:
    from foundry_video import ApiKeyAuth

    return ApiKeyAuth(KEY)


async def test_slow_download_past_the_timeout_resumes(
        impatient: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    job = await impatient.videos.create(prompt=PROMPT)
    await job
    emu.inject(Fault("slow_body", operation="content", chunk_size=CUT, delay=1.0))
    started = time.monotonic()
    target = await job.result(tmp_path / "out.mp4")
    assert time.monotonic() - started < 1.0  # gave up on the stall after ~0.3 s
    assert sha256(target.read_bytes()) == sha256(await content_bytes(emu, job.id))
    assert [r.headers.get("range") for r in ops(emu, "content")] == [None, f"bytes={CUT}-"]
    assert_clean(tmp_path, target)


async def test_slow_status_body_past_the_timeout_during_poll(
        impatient: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.inject(Fault("slow_body", operation="retrieve", chunk_size=16, delay=0.5))
    await run_to_file(impatient, emu, tmp_path / "out.mp4")


async def test_slow_body_on_a_single_request_is_a_timeout_error(
        emu: Emulator, clock: ManualClock) -> None:
    async with VideoClient(emu.endpoint, auth=_key(), clock=clock, timeout=0.3,
                           max_retries=0) as c:
        job = await c.videos.create(prompt=PROMPT)
        emu.inject(Fault("slow_body", operation="retrieve", chunk_size=16, delay=0.5))
        with pytest.raises(APITimeoutError) as info:
            await c.videos.retrieve(job.id)
    assert info.value.request_id == ops(emu, "retrieve")[0].request_id


# -- tokens ---------------------------------------------------------------------------------


class RotatingCredential:
    """An azure-identity style credential handing out tok-1, tok-2, ... (valid 1 h each)."""

    def __init__(self) -> None:
        self.issued: list[str] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.issued.append(f"tok-{len(self.issued) + 1}-{'x' * 24}")
        return AccessToken(self.issued[-1], int(time.time()) + 3600)


@pytest.mark.parametrize("revoke_all", [False, True])
async def test_401_after_token_expiry_mid_poll(
        clock: ManualClock, tmp_path: Path, revoke_all: bool) -> None:
    # The service stops accepting the first token 5 s into the job (it "expired" early,
    # e.g. revoked): the SDK must refresh once and carry on, or fail typed if that fails too.
    from foundry_video.emulator import PlaceholderRenderer

    expiry = clock.time() + 5

    def valid(token: str) -> bool:
        return (not revoke_all and not token.startswith("tok-1-")) or clock.time() < expiry

    credential = RotatingCredential()
    async with Emulator(clock=clock, renderer=PlaceholderRenderer(), token_validator=valid,
                        queue_seconds=QUEUE_SECONDS, job_seconds=JOB_SECONDS) as emu, \
            VideoClient(emu.endpoint, auth=EntraIdAuth(credential), clock=clock) as client:
        job = await client.videos.create(prompt=PROMPT)
        target = tmp_path / "out.mp4"
        if revoke_all:
            with pytest.raises(AuthenticationError) as info:
                await job.result(target)
            assert info.value.job_id == job.id and info.value.request_id
            assert statuses(emu, "retrieve")[-2:] == [401, 401]  # one refresh, no loop
            assert len(credential.issued) == 2
            assert_clean(tmp_path)
            return
        await job.result(target)
        assert statuses(emu, "retrieve").count(401) == 1
        assert len(credential.issued) == 2  # refreshed exactly once
        assert emu.requests[-1].headers["authorization"] == "Bearer REDACTED"
    assert target.stat().st_size > 0
    assert_clean(tmp_path, target)


# -- job outcomes ---------------------------------------------------------------------------


async def test_job_failed(client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.inject(Fault("job_failed", code="internal_error", message="GPU on fire"))
    job = await client.videos.create(prompt=PROMPT)
    with pytest.raises(JobFailedError) as info:
        await job.result(tmp_path / "out.mp4")
    assert (info.value.job_id, info.value.code, info.value.message) == (
        job.id, "internal_error", "GPU on fire")
    assert ops(emu, "content") == []  # nothing to download, nothing attempted
    assert_clean(tmp_path)


@pytest.mark.parametrize("how", ["fault", "prompt"])
async def test_content_policy_at_create(client: VideoClient, emu: Emulator, how: str) -> None:
    prompt = PROMPT
    if how == "fault":
        emu.inject(Fault("content_policy", stage="create"))
    else:
        prompt += " with gore"
    with pytest.raises(ContentPolicyError) as info:
        await client.videos.create(prompt=prompt)
    assert info.value.status_code == 400
    assert info.value.request_id == ops(emu, "create")[0].request_id
    assert len(ops(emu, "create")) == 1 and len(emu.videos) == 0


async def test_content_policy_at_completion(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.inject(Fault("content_policy", stage="completion"))
    job = await client.videos.create(prompt=PROMPT)
    with pytest.raises(JobFailedError) as info:
        await job.result(tmp_path / "out.mp4")
    assert info.value.job_id == job.id and info.value.is_content_policy
    assert info.value.code == "moderation_blocked"
    assert_clean(tmp_path)


async def test_content_expired_before_download(
        client: VideoClient, emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    job = await client.videos.create(prompt=PROMPT)
    await job
    emu.inject(Fault("expire_content", video_id=job.id))
    clock.advance(3600)
    job = client.videos.job(job.id)  # re-attached an hour later: well past any clock skew
    with pytest.raises(ContentExpiredError) as info:
        await job.result(tmp_path / "out.mp4")
    assert info.value.job_id == job.id
    assert ops(emu, "content") == []  # known from expires_at: no doomed request
    assert_clean(tmp_path)


async def test_content_expired_during_download(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    job = await client.videos.create(prompt=PROMPT)
    await job
    emu.inject(Fault("expire_content", operation="content"))  # expires as it is fetched
    with pytest.raises(ContentExpiredError) as info:
        await job.result(tmp_path / "out.mp4")
    assert info.value.job_id == job.id
    assert info.value.request_id == ops(emu, "content")[0].request_id
    assert_clean(tmp_path)


async def test_caller_deadline_is_a_timeout_error_with_the_job_id(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    job = await client.videos.create(prompt=PROMPT)
    with pytest.raises(JobTimeoutError) as info:
        await job.result(tmp_path / "out.mp4", timeout=5)
    assert info.value.job_id == job.id
    assert_clean(tmp_path)
    await run_to_file_by_id(client, emu, job.id, tmp_path / "out.mp4")


async def run_to_file_by_id(client: VideoClient, emu: Emulator, job_id: str, target: Path) -> None:
    await client.videos.job(job_id).result(target)
    assert sha256(target.read_bytes()) == sha256(await content_bytes(emu, job_id))
    assert_clean(target.parent, target)


# -- restarts -------------------------------------------------------------------------------


async def test_emulator_restarted_between_create_and_download(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    job = await client.videos.create(prompt=PROMPT)
    await job
    await emu.restart(keep_state=True)  # every pooled connection is now dead
    await run_to_file_by_id(client, emu, job.id, tmp_path / "out.mp4")
    assert len(emu.videos) == 1


async def test_emulator_restarted_during_poll(
        client: VideoClient, emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    job = await client.videos.create(prompt=PROMPT)
    async for event in job.events():
        if getattr(event, "progress", None):
            await emu.restart(keep_state=True)
    await run_to_file_by_id(client, emu, job.id, tmp_path / "out.mp4")


async def test_emulator_restarted_without_its_state(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    job = await client.videos.create(prompt=PROMPT)
    await job
    await emu.restart(keep_state=False)  # the service lost the job
    with pytest.raises(NotFoundError) as info:
        await client.videos.job(job.id).result(tmp_path / "out.mp4")
    assert info.value.job_id == job.id and info.value.request_id
    assert_clean(tmp_path)
