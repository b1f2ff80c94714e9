"""Fault injection: injected faults and the per-request ``x-emulator-fault`` header."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import aiohttp
import pytest

from foundry_video._clock import ManualClock
from foundry_video.emulator import Emulator, Fault, parse_fault_header

from .conftest import API, Api


async def test_rate_limit_fault_headers(api: Api, emu: Emulator, clock: ManualClock) -> None:
    fault = emu.inject(Fault("rate_limit", operation="create", times=2, retry_after=3,
                             retry_after_ms=2500))
    for _ in range(2):
        status, body, headers = await api.post("/videos", json={"prompt": "a"})
        assert status == 429 and body["error"]["code"] == "429"
        assert headers["Retry-After"] == "3" and headers["retry-after-ms"] == "2500"
    assert fault.fired == 2 and fault.remaining == 0
    await api.create()
    assert len(emu.videos) == 1  # the limited requests created nothing

    emu.inject(Fault("rate_limit", retry_after=120, retry_after_http_date=True))
    status, _, headers = await api.get("/videos")
    assert status == 429
    when = parsedate_to_datetime(headers["Retry-After"]).timestamp()
    assert when == int(clock.time()) + 120
    emu.inject(Fault("rate_limit", retry_after=0, retry_after_ms=750))
    status, _, headers = await api.get("/videos")
    assert status == 429 and "Retry-After" not in headers and headers["retry-after-ms"] == "750"
    assert emu.requests[-1].faults == ["rate_limit"]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_error_burst(api: Api, emu: Emulator, status: int) -> None:
    video = await api.create()
    emu.inject(Fault("server_error", status=status, operation="retrieve", times=3,
                     should_retry=True))
    for _ in range(3):
        got, body, headers = await api.get(f"/videos/{video['id']}")
        assert got == status and body["error"]["type"] == "server_error"
        assert headers["x-should-retry"] == "true"
        assert ("Retry-After" in headers) is (status == 503)
    got, _, _ = await api.get(f"/videos/{video['id']}")
    assert got == 200
    assert [r.status for r in emu.requests[-4:]] == [status] * 3 + [200]


async def test_server_error_after_processing(api: Api, emu: Emulator) -> None:
    emu.inject(Fault("server_error", operation="create", stage="response"))
    status, _, _ = await api.post("/videos", json={"prompt": "a"})
    assert status == 500
    assert len(emu.videos) == 1  # the job exists although the client saw a 500


async def test_drop_connection_before_response(api: Api, emu: Emulator) -> None:
    emu.inject(Fault("drop_connection", operation="create"))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.post("/videos", json={"prompt": "a"})
    assert len(emu.videos) == 0
    assert emu.requests[-1].status is None and emu.requests[-1].faults == ["drop_connection"]
    await api.create()  # times=1: the next request is served


async def test_drop_connection_after_processing_creates_job(api: Api, emu: Emulator) -> None:
    emu.inject(Fault("drop_connection", operation="create", stage="response"))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.post("/videos", json={"prompt": "a"})
    assert len(emu.videos) == 1


async def test_drop_mid_body_then_resume_with_range(api: Api, emu: Emulator) -> None:
    video = await api.completed()
    url = f"{API}/videos/{video['id']}/content"
    async with api.session.get(url) as resp:
        full = await resp.read()
    emu.inject(Fault("drop_connection", operation="content", after_bytes=1000))
    received = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        async with api.session.get(url) as resp:
            assert resp.status == 200
            assert int(resp.headers["Content-Length"]) == len(full)
            async for chunk in resp.content.iter_any():
                received += chunk
    assert bytes(received) == full[:1000]
    async with api.session.get(url, headers={"Range": f"bytes={len(received)}-"}) as resp:
        assert resp.status == 206
        received += await resp.read()
    assert bytes(received) == full


async def test_truncate_body(api: Api, emu: Emulator) -> None:
    video = await api.completed()
    emu.inject(Fault("truncate_body", operation="retrieve", after_bytes=20))
    with pytest.raises(aiohttp.ClientPayloadError):
        async with api.session.get(f"{API}/videos/{video['id']}") as resp:
            await resp.read()
    # header form, on content
    headers = {"x-emulator-fault": "truncate_body;bytes=5"}
    received = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        async with api.session.get(f"{API}/videos/{video['id']}/content", headers=headers) as r:
            async for chunk in r.content.iter_any():
                received += chunk
    assert len(received) == 5


async def test_slow_body(api: Api, emu: Emulator) -> None:
    video = await api.completed()
    url = f"{API}/videos/{video['id']}/content"
    async with api.session.get(url) as resp:
        full = await resp.read()
    emu.inject(Fault("slow_body", operation="content", chunk_size=len(full) // 4 + 1,
                     delay=0.02))
    started = time.monotonic()
    async with api.session.get(url) as resp:
        assert await resp.read() == full
    assert time.monotonic() - started >= 0.06


async def test_job_failed_next_job(api: Api, emu: Emulator, clock: ManualClock) -> None:
    emu.inject(Fault("job_failed", code="internal_error", message="GPU on fire"))
    failing = await api.create("first")
    fine = await api.create("second")
    assert failing["status"] == "queued"  # the failure shows only at completion
    clock.advance(60)
    _, body, _ = await api.get(f"/videos/{failing['id']}")
    assert body["status"] == "failed"
    assert body["error"] == {"code": "internal_error", "message": "GPU on fire"}
    assert body["expires_at"] is None and body["completed_at"] is not None
    _, body, _ = await api.get(f"/videos/{fine['id']}")
    assert body["status"] == "completed"
    status, err, _ = await api.get(f"/videos/{failing['id']}/content")
    assert status == 400 and err["error"]["code"] == "video_not_ready"
    status, _, _ = await api.delete(f"/videos/{failing['id']}")
    assert status == 200  # failed videos can be deleted


async def test_job_failed_for_existing_job_and_by_header(api: Api, emu: Emulator,
                                                          clock: ManualClock) -> None:
    existing = await api.create()
    emu.inject(Fault("job_failed", video_id=existing["id"], code="boom", message="no"))
    headers = {"x-emulator-fault": "job_failed;code=quota;message=out%20of%20credit"}
    status, by_header, _ = await api.post("/videos", json={"prompt": "a"}, headers=headers)
    assert status == 200
    clock.advance(60)
    _, body, _ = await api.get(f"/videos/{existing['id']}")
    assert body["error"] == {"code": "boom", "message": "no"}
    _, body, _ = await api.get(f"/videos/{by_header['id']}")
    assert body["error"] == {"code": "quota", "message": "out of credit"}


async def test_content_policy_faults(api: Api, emu: Emulator, clock: ManualClock) -> None:
    emu.inject(Fault("content_policy"))
    status, body, _ = await api.post("/videos", json={"prompt": "harmless"})
    assert status == 400 and body["error"]["code"] == "content_filter"
    assert len(emu.videos) == 0

    emu.inject(Fault("content_policy", stage="completion"))
    video = await api.create("harmless")
    headers = {"x-emulator-fault": "content_policy;stage=completion;category=sexual"}
    status, other, _ = await api.post("/videos", json={"prompt": "b"}, headers=headers)
    assert status == 200
    clock.advance(60)
    for vid in (video["id"], other["id"]):
        _, body, _ = await api.get(f"/videos/{vid}")
        assert body["status"] == "failed" and body["error"]["code"] == "moderation_blocked"
    headers = {"x-emulator-fault": "content_policy;category=hate"}
    status, body, _ = await api.post("/videos", json={"prompt": "c"}, headers=headers)
    assert status == 400
    assert body["error"]["innererror"]["content_filter_result"]["hate"]["filtered"] is True


async def test_expire_content(api: Api, emu: Emulator, clock: ManualClock) -> None:
    video = await api.completed()
    other = await api.completed()
    emu.inject(Fault("expire_content", video_id=video["id"]))
    status, body, _ = await api.get(f"/videos/{video['id']}/content")
    assert status == 404 and body["error"]["code"] == "video_expired"
    _, body, _ = await api.get(f"/videos/{video['id']}")
    assert body["expires_at"] <= clock.time()
    status, _, _ = await api.get(f"/videos/{other['id']}/content")
    assert status == 200
    emu.inject(Fault("expire_content"))  # next content request, whichever video
    status, _, _ = await api.get(f"/videos/{other['id']}/content")
    assert status == 404


async def test_ignore_range(api: Api, emu: Emulator) -> None:
    video = await api.completed()
    url = f"{API}/videos/{video['id']}/content"
    emu.inject(Fault("ignore_range"))
    async with api.session.get(url, headers={"Range": "bytes=10-"}) as resp:
        assert resp.status == 200 and "Content-Range" not in resp.headers
        full = await resp.read()
    async with api.session.get(url, headers={"Range": "bytes=10-"}) as resp:
        assert resp.status == 206 and await resp.read() == full[10:]
    headers = {"Range": "bytes=10-", "x-emulator-fault": "ignore_range"}
    async with api.session.get(url, headers=headers) as resp:
        assert resp.status == 200


async def test_fault_matchers(api: Api, emu: Emulator) -> None:
    video = await api.create()
    by_path = emu.inject(Fault("server_error", path=r"/videos$", method="GET"))
    by_video = emu.inject(Fault("server_error", status=502, video_id="video_other"))
    status, _, _ = await api.get(f"/videos/{video['id']}")
    assert status == 200  # neither matches a retrieve of this video
    status, _, _ = await api.get("/videos")
    assert status == 500 and by_path.fired == 1
    assert by_video.fired == 0
    forever = emu.inject(Fault("server_error", operation=["list", "delete"], times=None))
    for _ in range(3):
        status, _, _ = await api.get("/videos")
        assert status == 500
    assert forever.fired == 3 and forever.remaining is None
    emu.clear_faults()
    assert (await api.get("/videos"))[0] == 200


async def test_header_faults(api: Api) -> None:
    headers = {"x-emulator-fault": "server_error;status=503;retry_after=7"}
    status, _, got = await api.get("/videos", headers=headers)
    assert status == 503 and got["Retry-After"] == "7"
    headers = {"x-emulator-fault": "rate_limit;retry_after_ms=1500;retry_after=0"}
    status, _, got = await api.get("/videos", headers=headers)
    assert status == 429 and got["retry-after-ms"] == "1500" and "Retry-After" not in got
    for bad in ("meteor_strike", "server_error;colour=red", "server_error;status=abc"):
        status, body, _ = await api.get("/videos", headers={"x-emulator-fault": bad})
        assert status == 400 and body["error"]["param"] == "x-emulator-fault"


def test_parse_fault_header() -> None:
    faults = parse_fault_header(
        "rate_limit;retry_after=2;date=1, slow_body;chunk_size=10;delay=0.5,drop_connection;bytes=3")
    assert [f.kind for f in faults] == ["rate_limit", "slow_body", "drop_connection"]
    assert faults[0].retry_after == 2 and faults[0].retry_after_http_date is True
    assert (faults[1].chunk_size, faults[1].delay) == (10, 0.5)
    assert faults[2].after_bytes == 3 and faults[2].effective_stage == "body"
    assert parse_fault_header("rate_limit;retry_after_format=http-date")[0].retry_after_http_date
    with pytest.raises(ValueError):
        Fault("server_error", status=418)
    with pytest.raises(ValueError):
        Fault("nope")  # type: ignore[arg-type]


async def test_auth_is_checked_before_faults(emu: Emulator) -> None:
    fault = emu.inject(Fault("server_error"))
    async with aiohttp.ClientSession(emu.endpoint) as s, s.get(f"{API}/videos") as resp:
        assert resp.status == 401
    assert fault.fired == 0
