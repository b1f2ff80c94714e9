"""The poll schedule (``PollStrategy``) on a simulated clock, per progress curve.

The job model is the emulator's own (``VideoJob``: status and progress derived from the
clock), so these runs and the end-to-end ones in ``test_polling_e2e.py`` see the same
jobs. Goal (issue 12): completion noticed within ``max(2 s, 8 % of the job's length)``,
or within the hint + 0.5 s when the service sends ``openai-poll-after-ms``; at most half
the status requests of a fixed 1 s poller; a 3-minute linear job in at most 25.
"""

from __future__ import annotations

import math
import random
from email.utils import formatdate

import pytest
from aiohttp import web

from foundry_video import ManualClock, VideoClient
from foundry_video._poll import MIN_HINT_INTERVAL, PollStrategy
from foundry_video.emulator import PROGRESS_CURVES, ProgressCurve, VideoJob

from .fakes import FakeService, video

LENGTHS = (10.0, 30.0, 60.0, 180.0, 300.0)
SCENARIOS = (*PROGRESS_CURVES, "long-queue")
"""Every emulator curve (queued for the first 5 % of the job), and a long queue (80 %)
followed by a fast run along the default curve."""
SEEDS = range(5)
PATH = "/openai/v1/videos/video_1"


def make_job(scenario: str | ProgressCurve, length: float) -> VideoJob:
    queued = length * (0.8 if scenario == "long-queue" else 0.05)
    return VideoJob(id="video_sim", created=0.0, queue_seconds=queued,
                    job_seconds=length - queued, model="sora-2", prompt="p",
                    size="1280x720", seconds=4,
                    progress_curve="s-curve" if scenario == "long-queue" else scenario)


def simulate(strategy: PollStrategy, job: VideoJob, hint_ms: int | None = None
             ) -> tuple[int, float]:
    """Poll ``job`` from its creation (t=0) as ``Job`` does; return (status requests, lag)."""
    headers = {} if hint_ms is None else {"openai-poll-after-ms": str(hint_ms)}
    now = 0.0
    strategy.observe(now, 0, age=0.0)  # the create response
    requests = 0
    while True:
        now += strategy.next_delay(now, headers, wall_time=now)
        requests += 1
        status = job.status(now)
        if status == "completed":
            return requests, now - job.finishes
        assert requests < 10_000
        strategy.observe(now, job.progress(now), running=status == "in_progress", age=now)
        assert strategy.age(now) == now


def lag_goal(length: float) -> float:
    return max(2.0, 0.08 * length)


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lag_and_requests_without_a_hint(scenario: str, length: float) -> None:
    fixed, _ = simulate(PollStrategy(interval=1.0), make_job(scenario, length))
    for seed in SEEDS:
        requests, lag = simulate(PollStrategy(rng=random.Random(seed)), make_job(scenario, length))
        assert 0 <= lag <= lag_goal(length), (seed, requests)
        assert requests <= fixed / 2, (seed, lag)
        if scenario == "linear" and length == 180:
            assert requests <= 25


@pytest.mark.parametrize("hint_ms", [1000, 2500])
@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_hint_is_followed_as_the_interval(scenario: str, length: float, hint_ms: int) -> None:
    for seed in SEEDS:
        requests, lag = simulate(PollStrategy(rng=random.Random(seed)),
                                 make_job(scenario, length), hint_ms)
        assert 0 <= lag <= hint_ms / 1000 + 0.5
        # the service's cadence, exactly (+1 if float sums land just short of the end)
        assert math.ceil(length / (hint_ms / 1000)) <= requests <= math.ceil(
            length / (hint_ms / 1000)) + 1


@pytest.mark.parametrize("level", [0.05, 0.5, 0.995])
@pytest.mark.parametrize("length", LENGTHS)
def test_progress_that_stalls_then_ends_is_noticed_in_time(length: float, level: float) -> None:
    # The reported bug's shape: progress shows a few percent early, then sits there until
    # the job ends (or sits at 99 % for most of the job). A stalled value allows no more
    # than when it was first seen, and a predicted end that has passed is backed off from.
    def stalled(elapsed: float) -> float:
        return min(level, 20 * elapsed)

    fixed, _ = simulate(PollStrategy(interval=1.0), make_job(stalled, length))
    for seed in SEEDS:
        requests, lag = simulate(PollStrategy(rng=random.Random(seed)), make_job(stalled, length))
        assert 0 <= lag <= lag_goal(length) and requests <= fixed / 2


def test_the_age_bound_holds_whatever_progress_says() -> None:
    # Progress that leaps early (99 % after 1 s of running) and then a job that finishes
    # late: every wait stays within loosen_cap of the age.
    strategy = PollStrategy(rng=random.Random(1))
    strategy.observe(0.0, 0, age=0.0)
    strategy.observe(3.0, 1, running=True)
    for now, progress in ((20.0, 2), (60.0, 3), (200.0, 4)):
        strategy.observe(now, progress, running=True)
        assert strategy.next_delay(now) <= strategy.loosen_cap * now + 1e-9


# -- the job's age ------------------------------------------------------------------------


def test_a_reattached_job_is_polled_by_its_age() -> None:
    strategy = PollStrategy(rng=random.Random(2))
    strategy.observe(1000.0, 0, age=300.0)  # created five minutes ago
    assert strategy.age(1000.0) == 300.0
    assert 0.07 * 300 * 0.9 <= strategy.next_delay(1000.0) <= 0.07 * 300 * 1.1


def test_created_at_in_the_future_counts_as_just_created() -> None:
    strategy = PollStrategy(rng=random.Random(3))
    strategy.observe(50.0, 0, age=-600.0)  # the service's clock is ten minutes ahead
    assert strategy.age(50.0) == 0.0
    assert 3.0 <= strategy.next_delay(50.0) <= 3.3


def test_without_created_at_the_age_counts_from_the_first_reading() -> None:
    strategy = PollStrategy(rng=random.Random(4))
    strategy.observe(100.0, None)
    strategy.observe(150.0, None, age=1e6)  # only the first reading sets the origin
    assert strategy.age(150.0) == 50.0
    strategy.observe(100.0, None, age=math.nan)
    assert PollStrategy().age(0.0) == 0.0


async def test_job_measures_age_from_created_at(live_client: VideoClient, service: FakeService,
                                                clock: ManualClock) -> None:
    created = int(clock.time()) - 400  # re-attached to a job that is already 400 s old
    service.json("GET", PATH, [video(status="in_progress", created_at=created),
                               video(status="completed", created_at=created)])
    await live_client.videos.job("video_1")
    (wait,) = clock.sleeps
    assert 0.07 * 400 * 0.9 <= wait <= 0.07 * 400 * 1.1


# -- hints are network input ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e12", "99999999999999999999", "31000"])
def test_huge_poll_hint_is_clamped(value: str) -> None:
    strategy = PollStrategy(max_interval=30.0)
    strategy.observe(0.0, 0, age=0.0)
    assert strategy.next_delay(0.0, {"openai-poll-after-ms": value}) == 30.0


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "-5", "garbage", "", "0x10",
                                   "1,5"])
def test_invalid_poll_hint_is_ignored(value: str) -> None:
    strategy = PollStrategy(rng=random.Random(5))
    strategy.observe(0.0, 0, age=0.0)
    delay = strategy.next_delay(0.0, {"openai-poll-after-ms": value})
    assert 3.0 <= delay <= 3.3  # what no hint gives: the first adaptive wait


def test_zero_poll_hint_cannot_make_the_client_hammer() -> None:
    strategy = PollStrategy()
    strategy.observe(0.0, 0, age=0.0)
    assert strategy.next_delay(0.0, {"openai-poll-after-ms": "0"}) == MIN_HINT_INTERVAL


@pytest.mark.parametrize("headers", [
    {"retry-after": "1e9"},
    {"retry-after": "99999999999"},
    {"retry-after-ms": "1e15"},
    {"retry-after": formatdate(1_760_000_000 + 10 * 365 * 86400, usegmt=True)},
    {"retry-after": formatdate(1_760_000_000 + 10 * 365 * 86400, usegmt=True),
     "openai-poll-after-ms": "500"},
])
def test_huge_retry_after_is_clamped(headers: dict[str, str]) -> None:
    strategy = PollStrategy(max_interval=30.0)
    strategy.observe(0.0, 0, age=0.0)
    assert strategy.next_delay(0.0, headers, wall_time=1_760_000_000) == 30.0


@pytest.mark.parametrize("value", ["inf", "nan", "-3", "soon", "Mon, 99 Foo 2025 00:00:00 GMT"])
def test_invalid_retry_after_is_ignored(value: str) -> None:
    strategy = PollStrategy(rng=random.Random(6))
    strategy.observe(0.0, 0, age=0.0)
    delay = strategy.next_delay(0.0, {"retry-after": value, "openai-poll-after-ms": "700"})
    assert delay == 0.7


def test_retry_after_is_a_floor_and_a_past_date_is_no_floor() -> None:
    strategy = PollStrategy()
    strategy.observe(0.0, 0, age=0.0)
    assert strategy.next_delay(0.0, {"retry-after": "7", "openai-poll-after-ms": "500"}) == 7.0
    past = formatdate(1_760_000_000 - 3600, usegmt=True)
    assert strategy.next_delay(0.0, {"retry-after": past, "openai-poll-after-ms": "500"},
                               wall_time=1_760_000_000) == 0.5


def test_fixed_interval_takes_hints_as_a_floor_only() -> None:
    strategy = PollStrategy(interval=5.0)
    assert strategy.next_delay(0.0, {"openai-poll-after-ms": "1000"}) == 5.0
    assert strategy.next_delay(0.0, {"openai-poll-after-ms": "8000"}) == 8.0
    assert strategy.next_delay(0.0, {"openai-poll-after-ms": "1e12"}) == 30.0


async def test_await_job_never_sleeps_for_a_huge_poll_hint(
        live_client: VideoClient, service: FakeService, clock: ManualClock) -> None:
    service.json("GET", PATH, [video(status="in_progress", progress=10),
                               video(status="in_progress", progress=20),
                               video(status="completed")],
                 headers={"openai-poll-after-ms": "1e12"})
    await live_client.videos.job("video_1")
    assert clock.sleeps == [30.0, 30.0]


@pytest.mark.parametrize("retry_after", [
    "1e9", formatdate(1_760_000_000 + 5 * 365 * 86400, usegmt=True)])
async def test_await_job_never_sleeps_for_a_huge_retry_after(
        live_client: VideoClient, service: FakeService, clock: ManualClock,
        retry_after: str) -> None:
    answers = iter([429, 503, 200])

    @service.route("GET", PATH)
    async def handler(request: web.Request) -> web.StreamResponse:
        status = next(answers)
        if status != 200:
            return web.json_response({"error": {"message": "busy"}}, status=status,
                                     headers={"Retry-After": retry_after})
        return web.json_response(video(status="completed"))

    assert (await live_client.videos.job("video_1")).status == "completed"
    assert clock.sleeps and max(clock.sleeps) <= 30.0
    assert clock.monotonic() <= 2 * 30.0 + 10


@pytest.mark.parametrize("options", [
    {"max_poll_interval": math.nan}, {"max_poll_interval": math.inf}, {"max_poll_interval": 0},
    {"poll_interval": -1.0}, {"poll_interval": math.nan}, {"poll_interval": math.inf}])
def test_poll_settings_that_would_unbound_a_wait_are_refused(options: dict[str, float]) -> None:
    from foundry_video import ApiKeyAuth

    with pytest.raises(ValueError, match="poll_interval"):
        VideoClient("https://res.openai.azure.com", auth=ApiKeyAuth("k"), **options)


# -- the schedule's arithmetic, pinned (the mutation run found it unasserted) --------------


def _running_since_zero(**options: float) -> PollStrategy:
    """A strategy without jitter whose job was created, and started running, at t=0."""
    strategy = PollStrategy(jitter=0.0, **options)
    strategy.observe(0.0, None, running=True, age=0.0)
    strategy.next_delay(0.0)  # the first wait has rules of its own
    return strategy


def test_the_completions_progress_allows_and_predicts() -> None:
    strategy = _running_since_zero()
    assert strategy.expected_completion() is None and strategy.earliest_completion() is None
    strategy.observe(10.0, 25)
    assert strategy.expected_completion() == pytest.approx(40.0)  # 25 % in 10 s: 40 s
    assert strategy.earliest_completion() == pytest.approx(10 + 10 * ((100 / 26) ** (1 / 3) - 1))
    strategy.observe(12.0, 100)  # done by its own account: no later than now
    assert strategy.earliest_completion() == pytest.approx(12.0)


@pytest.mark.parametrize(("reading", "now", "age_fraction", "delay"), [
    # The predicted end (200 s) falls inside a long wait (13.3 s): wake at it.
    ((100.0, 50), 190.0, 0.07, 10.0),
    # Overdue by 10 s: wait as long again (not the 14.7 s the age allows).
    ((100.0, 50), 210.0, 0.07, 10.0),
    # Due exactly now: the shortest wait.
    ((100.0, 50), 200.0, 0.07, 2.0),
    # A wait of 4.76 s (over twice min_interval) is shortened to the predicted end.
    ((35.0, 50), 68.0, 0.07, 2.0),
    # A wait of exactly twice min_interval is left alone: an early wake costs a request.
    ((21.0, 50), 40.0, 0.1, 4.0),
    # So is a shorter one (2.73 s), though the predicted end (40 s) falls inside it.
    ((20.0, 50), 39.0, 0.07, 0.07 * 39),
])
def test_waits_near_the_predicted_end(reading: tuple[float, int], now: float,
                                      age_fraction: float, delay: float) -> None:
    strategy = _running_since_zero(age_fraction=age_fraction)
    strategy.observe(*reading)
    assert strategy.next_delay(now) == pytest.approx(delay)
