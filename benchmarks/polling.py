"""Workload (e): polling efficiency on a simulated clock.

A job takes ``duration`` ± 10 seconds of *virtual* time (the offset is drawn from a seeded
RNG, the same sequence for every poller, so fixed intervals do not line up with the end
by accident): ``queued`` for the first 5 % of it,
then ``in_progress`` with ``progress`` rising steadily (integer percent, 0 → 99), then
``completed``. The fake is an in-process aiohttp server whose job state is a function of
a :class:`~foundry_video.ManualClock`; the pollers sleep on that same clock, so a
five-minute job runs in milliseconds while every poll still goes over a real socket.

For each poller it records the number of status requests (``GET /videos/{id}``) per job
and the *detection lag*: virtual seconds between the job completing and the first
status request that saw it completed. Pollers:

* ``foundry-video``: the SDK's real :class:`~foundry_video._poll.PollStrategy` (adaptive);
* ``openai poll()``: the official package's ``videos.poll`` helper (its sleep patched
  onto the virtual clock): ``openai-poll-after-ms`` when sent, else a fixed 1 s;
* ``fixed 1 s`` / ``fixed 20 s``: the SDK with ``poll_interval=`` 1 and 20 (the Azure
  samples poll every 20 s).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from foundry_video import ApiKeyAuth, ManualClock, VideoClient

QUEUED_FRACTION = 0.05
SPREAD = 10.0


@dataclass
class SimJob:
    """One job's timeline on the virtual clock."""

    id: str
    created: float
    duration: float
    status_requests: int = 0
    noticed_at: float | None = None

    @property
    def finishes(self) -> float:
        """Virtual time at which the job completes."""
        return self.created + self.duration

    def body(self, now: float) -> dict[str, Any]:
        """The Video object at ``now``."""
        queued_for = self.duration * QUEUED_FRACTION
        elapsed = now - self.created
        if now >= self.finishes:
            status, progress = "completed", 100
        elif elapsed < queued_for:
            status, progress = "queued", 0
        else:
            status = "in_progress"
            progress = min(99, int(100 * (elapsed - queued_for) / (self.duration - queued_for)))
        done = status == "completed"
        return {"id": self.id, "object": "video", "model": "sora-2", "status": status,
                "progress": progress, "created_at": int(self.created),
                "completed_at": int(self.finishes) if done else None,
                "expires_at": 4102444800 if done else None, "prompt": "bench",
                "size": "1280x720", "seconds": "4", "remixed_from_video_id": None,
                "error": None}


@dataclass
class SimService:
    """The in-process fake: job progress is a function of ``clock``."""

    clock: ManualClock
    duration: float = 180.0
    poll_after_ms: int | None = None
    jobs: dict[str, SimJob] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    base_url: str = ""

    def _headers(self) -> dict[str, str]:
        if self.poll_after_ms is None:
            return {}
        return {"openai-poll-after-ms": str(self.poll_after_ms)}

    next_offset: float = 0.0
    """Added to ``duration`` for the next job created."""

    async def _create(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        job = SimJob(f"video_{next(self._ids)}", self.clock.monotonic(),
                     self.duration + self.next_offset)
        self.jobs[job.id] = job
        return web.json_response(job.body(job.created), headers=self._headers())

    async def _retrieve(self, request: web.Request) -> web.StreamResponse:
        job = self.jobs[request.match_info["video_id"]]
        now = self.clock.monotonic()
        job.status_requests += 1
        body = job.body(now)
        if body["status"] == "completed" and job.noticed_at is None:
            job.noticed_at = now
        return web.json_response(body, headers=self._headers())

    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port)."""
        app = web.Application()
        app.router.add_post("/openai/v1/videos", self._create)
        app.router.add_get("/openai/v1/videos/{video_id}", self._retrieve)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/openai/v1"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()


Poller = Callable[[SimService], Awaitable[str]]


def sdk_poller(poll_interval: float | None) -> Poller:
    """foundry-video: create, then ``await job`` (adaptive unless ``poll_interval``)."""

    async def run(service: SimService) -> str:
        async with VideoClient(service.base_url, auth=ApiKeyAuth("bench"), clock=service.clock,
                               poll_interval=poll_interval) as client:
            job = await client.videos.create(prompt="bench", model="sora-2")
            await job
            return job.id

    return run


async def openai_poller(service: SimService) -> str:
    """The official package: ``videos.create`` then its ``videos.poll`` helper."""
    from openai import AsyncOpenAI

    async with AsyncOpenAI(base_url=service.base_url, api_key="bench") as client:
        videos = client.videos
        videos._sleep = service.clock.sleep  # type: ignore[method-assign]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            video = await videos.create(prompt="bench", model="sora-2")
            await videos.poll(video.id)
        return video.id


POLLERS: dict[str, Poller] = {
    "foundry-video (adaptive)": sdk_poller(None),
    "openai poll()": openai_poller,
    "fixed 1 s": sdk_poller(1.0),
    "fixed 20 s": sdk_poller(20.0),
}


async def measure(durations: list[float], reps: int, hints: list[int | None]
                  ) -> list[dict[str, Any]]:
    """Run every poller ``reps`` times per (duration, hint); return one row per combination."""
    rows: list[dict[str, Any]] = []
    for hint in hints:
        for duration in durations:
            clock = ManualClock()
            service = SimService(clock, duration=duration, poll_after_ms=hint)
            await service.start()
            try:
                samples: dict[str, list[tuple[int, float]]] = {name: [] for name in POLLERS}
                rng = random.Random(int(duration))
                for _ in range(reps):
                    service.next_offset = rng.uniform(-SPREAD, SPREAD)
                    for name, poller in POLLERS.items():  # interleaved, same job length
                        job = service.jobs[await poller(service)]
                        assert job.noticed_at is not None
                        samples[name].append((job.status_requests,
                                              job.noticed_at - job.finishes))
            finally:
                await service.stop()
            for name, values in samples.items():
                requests = [v[0] for v in values]
                lags = [v[1] for v in values]
                rows.append({
                    "poller": name, "duration": duration, "hint_ms": hint, "reps": reps,
                    "requests_median": statistics.median(requests),
                    "requests_max": max(requests), "requests_min": min(requests),
                    "lag_median": statistics.median(lags), "lag_max": max(lags),
                    "lag_min": min(lags),
                })
    return rows


def main() -> None:
    """Print the rows as JSON (``run.py`` formats them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--durations", default="60,180,300")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--hints", default="none,1000")
    args = parser.parse_args()
    hints = [None if h == "none" else int(h) for h in args.hints.split(",")]
    durations = [float(d) for d in args.durations.split(",")]
    print(json.dumps(asyncio.run(measure(durations, args.reps, hints)), indent=1))


if __name__ == "__main__":
    main()
