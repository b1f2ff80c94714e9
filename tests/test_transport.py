"""Error mapping and retries of API calls, whatever the transport (MockTransport here).

How aiohttp's own failures map to typed errors is in test_aiohttp_transport.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from foundry_video import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ContentPolicyError,
    InternalServerError,
    ManualClock,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    Response,
    UnexpectedResponseError,
    VideoClient,
)

from .conftest import SECRET
from .fakes import MockService, reply, video

GET = "/videos/video_1"
CREATE = "/videos"


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BadRequestError), (401, AuthenticationError), (403, PermissionDeniedError),
     (404, NotFoundError), (409, ConflictError), (429, RateLimitError),
     (500, InternalServerError), (503, InternalServerError), (418, APIStatusError)],
)
async def test_each_status_maps_to_its_exception(client: VideoClient, mock_service: MockService,
                                                 status: int, cls: type[APIStatusError]) -> None:
    body = {"error": {"message": "nope", "type": "invalid_request_error", "param": "size",
                      "code": "bad_thing"}}
    mock_service.route("GET", GET, reply(status, json=body,
                                         headers={"apim-request-id": "apim-42"}))
    with pytest.raises(cls) as info:
        await client.videos.retrieve("video_1")
    err = info.value
    assert type(err) is cls
    assert (err.status_code, err.code, err.message, err.param) == (status, "bad_thing", "nope",
                                                                  "size")
    assert err.request_id == "apim-42"
    assert "apim-42" in str(err)


async def test_content_filter_becomes_content_policy_error(client: VideoClient,
                                                           mock_service: MockService) -> None:
    body = {"error": {"message": "The response was filtered", "type": None, "param": "prompt",
                      "code": "content_filter", "status": 400,
                      "innererror": {"code": "ResponsibleAIPolicyViolation",
                                     "content_filter_result": {
                                         "violence": {"filtered": True, "severity": "high"}}}}}
    mock_service.route("POST", CREATE, Response(400, json=body, headers={"x-request-id": "rid-1"}))
    with pytest.raises(ContentPolicyError) as info:
        await client.videos.create(prompt="something violent")
    assert isinstance(info.value, BadRequestError)
    assert info.value.categories["violence"]["filtered"] is True
    assert info.value.request_id == "rid-1"


async def test_sora1_bare_error_body_with_inner_error(client: VideoClient,
                                                      mock_service: MockService) -> None:
    body = {"code": "moderation", "message": "blocked", "inner_error": {
        "code": "ResponsibleAIPolicyViolation", "error_details": {"sexual": {"filtered": True}}}}
    mock_service.route("GET", GET, Response(400, json=body))
    with pytest.raises(ContentPolicyError) as info:
        await client.videos.retrieve("video_1")
    assert info.value.categories == {"sexual": {"filtered": True}}


async def test_html_error_page_gives_a_clean_message(client: VideoClient,
                                                     mock_service: MockService) -> None:
    mock_service.route("GET", GET, reply(502, text="<html><body>Bad gateway</body></html>",
                                         headers={"Content-Type": "text/html"}))
    with pytest.raises(InternalServerError) as info:
        await client.videos.retrieve("video_1")
    assert "<html>" not in str(info.value)


async def test_invalid_json_on_success_is_unexpected_response(client: VideoClient,
                                                              mock_service: MockService) -> None:
    mock_service.route("GET", GET, Response(200, text="not json"))
    with pytest.raises(UnexpectedResponseError):
        await client.videos.retrieve("video_1")


async def test_wrong_shape_on_success_is_unexpected_response(client: VideoClient,
                                                             mock_service: MockService) -> None:
    mock_service.route("GET", GET, Response(200, json={"object": "video"},
                                            headers={"x-request-id": "r9"}))
    with pytest.raises(UnexpectedResponseError) as info:
        await client.videos.retrieve("video_1")
    assert info.value.request_id == "r9"


async def test_retry_after_seconds_is_honoured(client: VideoClient, clock: ManualClock,
                                               mock_service: MockService) -> None:
    mock_service.route("GET", GET,
                       Response(429, json={"error": {"message": "slow down"}},
                                headers={"Retry-After": "7"}),
                       Response(200, json=video()))
    assert (await client.videos.retrieve("video_1")).id == "video_1"
    assert clock.sleeps == [7.0]
    assert len(mock_service.requests) == 2


async def test_retry_after_ms_wins_over_retry_after(client: VideoClient, clock: ManualClock,
                                                    mock_service: MockService) -> None:
    mock_service.route("GET", GET,
                       Response(503, headers={"retry-after-ms": "1500", "Retry-After": "9"}),
                       Response(200, json=video()))
    await client.videos.retrieve("video_1")
    assert clock.sleeps == [1.5]


async def test_retry_after_http_date(client: VideoClient, clock: ManualClock,
                                     mock_service: MockService) -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    mock_service.route("GET", GET,
                       Response(429, headers={"Retry-After": format_datetime(when, usegmt=True)}),
                       Response(200, json=video()))
    await client.videos.retrieve("video_1")
    assert len(clock.sleeps) == 1 and 25 <= clock.sleeps[0] <= 31


async def test_backoff_is_exponential_with_full_jitter_and_bounded(
        client: VideoClient, clock: ManualClock, mock_service: MockService) -> None:
    mock_service.route("GET", GET, reply(500))
    with pytest.raises(InternalServerError):
        await client.videos.retrieve("video_1")
    assert len(clock.sleeps) == 2  # max_retries=2
    assert 0 <= clock.sleeps[0] <= 0.5 and 0 <= clock.sleeps[1] <= 1.0
    assert len(mock_service.requests) == 3


async def test_backoff_doubles_per_attempt_up_to_the_cap_with_a_random_share_of_each(
        mock_service: MockService, clock: ManualClock) -> None:
    # Attempt k waits a uniform share of min(0.5 * 2**k, 8) seconds. Over 60 calls, each
    # attempt's waits stay under its ceiling, some exceed the previous attempt's ceiling
    # (the ceiling grows), and they differ from each other (the share is random). A
    # correct policy fails this with probability about 2**-60 per attempt.
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    mock_service.route("GET", GET, reply(503))
    async with mock_service.client(max_retries=len(ceilings)) as client:
        waits: list[list[float]] = [[] for _ in ceilings]
        for _ in range(60):
            clock.sleeps.clear()
            with pytest.raises(InternalServerError):
                await client.videos.retrieve("video_1")
            assert len(clock.sleeps) == len(ceilings)
            for attempt, slept in enumerate(clock.sleeps):
                waits[attempt].append(slept)
    for attempt, ceiling in enumerate(ceilings):
        assert all(0 <= w <= ceiling for w in waits[attempt]), (attempt, max(waits[attempt]))
        assert max(waits[attempt]) > ceiling / 2, attempt
        assert len(set(waits[attempt])) > 50, attempt


@pytest.mark.parametrize(("headers", "slept"), [
    ({"retry-after-ms": "500"}, 0.5),     # under a second: as given
    ({"Retry-After": "120"}, 120.0),      # the longest hint still waited for
])
async def test_hints_in_range_are_waited_exactly(mock_service: MockService, clock: ManualClock,
                                                 headers: dict[str, str], slept: float) -> None:
    mock_service.route("GET", GET, reply(503, headers=headers), reply(json=video()))
    async with mock_service.client() as client:
        await client.videos.retrieve("video_1")
    assert clock.sleeps == [slept]


async def test_a_zero_hint_falls_back_to_jittered_backoff(mock_service: MockService,
                                                          clock: ManualClock) -> None:
    mock_service.route("GET", GET, reply(503, headers={"Retry-After": "0"}),
                       reply(503, headers={"Retry-After": "0"}), reply(json=video()))
    async with mock_service.client() as client:
        await client.videos.retrieve("video_1")
    assert len(clock.sleeps) == 2 and all(0 < s <= 1.0 for s in clock.sleeps)


async def test_a_retry_after_date_is_measured_on_the_wall_clock_when_ours_runs_ahead(
        mock_service: MockService) -> None:
    import time

    clock = ManualClock(start=time.time() + 3600)  # a test clock an hour ahead
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    mock_service.route("GET", GET, reply(429, headers={
        "Retry-After": format_datetime(when, usegmt=True)}), reply(json=video()))
    async with mock_service.client(clock=clock) as client:
        await client.videos.retrieve("video_1")
    assert len(clock.sleeps) == 1 and 25 <= clock.sleeps[0] <= 31


async def test_x_should_retry_true_retries_even_a_status_that_is_not_retryable(
        client: VideoClient, mock_service: MockService) -> None:
    mock_service.route("GET", GET, reply(400, json={}, headers={"x-should-retry": "true"}),
                       reply(json=video()))
    await client.videos.retrieve("video_1")
    assert len(mock_service.calls("GET", GET)) == 2


async def test_a_too_long_retry_after_is_not_waited_for(client: VideoClient, clock: ManualClock,
                                                        mock_service: MockService) -> None:
    mock_service.route("GET", GET, Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimitError) as info:
        await client.videos.retrieve("video_1")
    assert clock.sleeps == []
    assert info.value.retry_after == 3600
    assert len(mock_service.requests) == 1


async def test_x_should_retry_false_stops_retries(client: VideoClient,
                                                  mock_service: MockService) -> None:
    mock_service.route("GET", GET, reply(503, headers={"x-should-retry": "false"}))
    with pytest.raises(InternalServerError):
        await client.videos.retrieve("video_1")
    assert len(mock_service.calls("GET", GET)) == 1


async def test_create_is_not_retried_on_500(client: VideoClient,
                                            mock_service: MockService) -> None:
    mock_service.route("POST", CREATE, reply(500))
    with pytest.raises(InternalServerError):
        await client.videos.create(prompt="a cat")
    assert len(mock_service.calls("POST", CREATE)) == 1


async def test_create_is_retried_on_429(client: VideoClient, clock: ManualClock,
                                        mock_service: MockService) -> None:
    mock_service.route("POST", CREATE, Response(429, headers={"Retry-After": "2"}),
                       Response(200, json=video()))
    job = await client.videos.create(prompt="a cat")
    assert job.id == "video_1" and clock.sleeps == [2.0]
    assert len(mock_service.calls("POST", CREATE)) == 2


async def test_connection_error_message_has_no_secret(client: VideoClient,
                                                      mock_service: MockService) -> None:
    mock_service.route("GET", GET, ConnectionResetError(f"boom {SECRET}"))
    with pytest.raises(APIConnectionError) as info:
        await client.videos.retrieve("video_1")
    assert SECRET not in str(info.value)
    assert "boom <redacted>" in str(info.value)  # the cause is kept, the key is not
    assert len(mock_service.requests) == 3  # a GET is retried after a network failure


async def test_error_message_echoing_the_key_is_redacted(client: VideoClient,
                                                         mock_service: MockService) -> None:
    mock_service.route("GET", GET, Response(400, json={"error": {"message": f"bad key {SECRET}"}}))
    with pytest.raises(BadRequestError) as info:
        await client.videos.retrieve("video_1")
    assert SECRET not in str(info.value) and SECRET not in info.value.message


async def test_error_detail_is_typed_for_both_azure_spellings(client: VideoClient,
                                                              mock_service: MockService) -> None:
    body = {"error": {"message": "filtered", "code": "content_filter", "param": "prompt",
                      "innererror": {"code": "ResponsibleAIPolicyViolation"}}}
    mock_service.route("GET", GET, Response(400, json=body))
    with pytest.raises(ContentPolicyError) as info:
        await client.videos.retrieve("video_1")
    detail = info.value.detail
    assert detail.code == "content_filter" and detail.param == "prompt"
    assert detail.inner_error == {"code": "ResponsibleAIPolicyViolation"}
    mock_service.route("GET", GET, Response(404, json={"code": 404, "message": "bare",
                                                       "inner_error": {"code": "x"}}))
    with pytest.raises(NotFoundError) as bare:
        await client.videos.retrieve("video_1")
    assert bare.value.detail.code == "404" and bare.value.detail.inner_error == {"code": "x"}


def test_errors_survive_pickling() -> None:
    import pickle

    from foundry_video import JobFailedError, JobTimeoutError

    errors = [
        RateLimitError("slow", status_code=429, code="429", request_id="r1",
                       headers={"Retry-After": "3"}, body={"error": {"message": "slow"}}),
        JobFailedError("video_1", code="moderation_blocked", message="no"),
        JobTimeoutError("video_2", 30.0, last_status="queued"),
        APIConnectionError("gone", request_id="r2"),
    ]
    errors[1].job_id = "video_1"
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
        assert copy.__dict__ == error.__dict__
    assert pickle.loads(pickle.dumps(errors[0])).retry_after == 3


async def test_retries_leave_the_applications_random_stream_alone() -> None:
    # Backoff jitter draws from the SDK's own generator: an application that seeded
    # `random` for reproducibility gets the same numbers whether or not a request retried.
    import random

    from foundry_video import ApiKeyAuth, ManualClock, Response
    from foundry_video.testing import MockTransport

    answers = iter([Response(503), Response(503), Response(200, json=video())])
    client = VideoClient("https://r.openai.azure.com", auth=ApiKeyAuth("k"), clock=ManualClock(),
                         transport=MockTransport(lambda r: next(answers)))
    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    assert (await client.videos.retrieve("video_1")).id == "video_1"  # after two retries
    assert random.random() == expected
