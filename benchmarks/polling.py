"""Workload (e): polling efficiency on a simulated clock, per progress curve.

A job takes ``duration`` seconds of *virtual* time ±10 % (drawn from a seeded RNG, the
same sequence for every poller, so fixed intervals do not line up with the end by
accident). Its status and progress are the emulator's own (``foundry_video.emulator``'s
``VideoJob``): ``queued`` for the first 5 % of it, then ``in_progress`` with ``progress``
following one of the emulator's curves, then ``completed``. Scenarios: every named curve
(``s-curve``, ``linear``, ``stuck``, ``accelerating`` = t³, ``decelerating`` = √t,
``steps``), and ``long-queue`` (queued for 80 % of the job, then a fast s-curve run).

The fake is an in-process aiohttp server whose job state is a function of a
:class:`~foundry_video.ManualClock`; the pollers sleep on that same clock, so a
five-minute job runs in milliseconds while every poll still goes over a real socket.
With a hint, every response (create included) carries ``openai-poll-after-ms``.

For each poller it records the status requests (``GET /videos/{id}``) per job and the
*detection lag*: virtual seconds between the job completing and the first status request
that saw it completed. Pollers:

* ``foundry-video``: the SDK's real :class:`~foundry_video._poll.PollStrategy`;
* ``fixed 1 s`` / ``fixed 20 s``: the SDK with ``poll_interval=`` 1 and 20 (the Azure
  samples poll every 20 s);
* ``openai poll()``: the official package's ``videos.poll`` helper (its sleep patched
  onto the virtual clock): ``openai-poll-after-ms`` when sent, else a fixed 1 s. It is
  slow to run, so only ``--openai-scenarios`` (default: ``linear``) include it.

The goal of issue 12, checked per repetition for ``foundry-video``: completion noticed
within ``max(2 s, 8 %)`` of the job's length (within the hint + 0.5 s with a hint), and
without a hint at most half the requests ``fixed 1 s`` made for the same job.
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
from foundry_video.emulator import PROGRESS_CURVES, VideoJob

SPREAD = 0.10
SCENARIOS = (*PROGRESS_CURVES, "long-queue")


def lag_goal(duration: float, hint_ms: int | None) -> float:
    """The issue's bound on the detection lag of a job of ``duration`` seconds."""
    return max(2.0, 0.08 * duration) if hint_ms is None else hint_ms / 1000 + 0.5


@dataclass
class SimJob:
    """One job on the virtual clock, with the emulator's status and progress."""

    state: VideoJob
    status_requests: int = 0
    noticed_at: float | None = None


@dataclass
class SimService:
    """The in-process fake: job progress is a function of ``clock``."""

    clock: ManualClock
    scenario: str = "linear"
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

    async def _create(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        queued = self.duration * (0.8 if self.scenario == "long-queue" else 0.05)
        curve = "s-curve" if self.scenario == "long-queue" else self.scenario
        state = VideoJob(id=f"video_{next(self._ids)}", created=self.clock.time(),
                         queue_seconds=queued, job_seconds=self.duration - queued,
                         model="sora-2", prompt="bench", size="1280x720", seconds=4,
                         progress_curve=curve)
        self.jobs[state.id] = SimJob(state)
        return web.json_response(state.to_json(state.created, initial=True),
                                 headers=self._headers())

    async def _retrieve(self, request: web.Request) -> web.StreamResponse:
        job = self.jobs[request.match_info["video_id"]]
        now = self.clock.time()
        job.status_requests += 1
        body = job.state.to_json(now)
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
    "foundry-video": sdk_poller(None),
    "fixed 1 s": sdk_poller(1.0),
    "openai poll()": openai_poller,
    "fixed 20 s": sdk_poller(20.0),
}


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


async def measure_one(scenario: str, duration: float, hint: int | None, reps: int,
                      pollers: list[str]) -> list[dict[str, Any]]:
    """Every poller ``reps`` times on one (scenario, duration, hint); one row per poller."""
    clock = ManualClock()
    service = SimService(clock, scenario=scenario, poll_after_ms=hint)
    await service.start()
    samples: dict[str, list[tuple[int, float, float]]] = {name: [] for name in pollers}
    goal_met: list[bool] = []
    ratios: list[float] = []
    try:
        rng = random.Random(f"{scenario}/{duration}/{hint}")
        for _ in range(reps):
            service.duration = duration * (1 + rng.uniform(-SPREAD, SPREAD))
            for name in pollers:  # interleaved, same job length
                job = service.jobs[await POLLERS[name](service)]
                assert job.noticed_at is not None
                samples[name].append((job.status_requests, job.noticed_at - job.state.finishes,
                                      service.duration))
            ours, fixed = samples["foundry-video"][-1], samples["fixed 1 s"][-1]
            ratios.append(ours[0] / fixed[0])
            goal_met.append(ours[1] <= lag_goal(ours[2], hint)
                            and (hint is not None or ours[0] <= fixed[0] / 2))
    finally:
        await service.stop()
    rows = []
    for name, values in samples.items():
        row: dict[str, Any] = {
            "scenario": scenario, "poller": name, "duration": duration, "hint_ms": hint,
            "reps": reps, "requests": _summary([v[0] for v in values]),
            "lag": _summary([v[1] for v in values]),
            "lag_goal_min": min(lag_goal(v[2], hint) for v in values),
        }
        if name == "foundry-video":
            row["vs_fixed_1s"] = _summary(ratios)
            row["goal_met"] = all(goal_met)
        rows.append(row)
    return rows


async def measure(durations: list[float], reps: int, hints: list[int | None],
                  scenarios: list[str] | None = None,
                  openai_scenarios: tuple[str, ...] = ("linear",)) -> list[dict[str, Any]]:
    """One row per (scenario, duration, hint, poller)."""
    rows: list[dict[str, Any]] = []
    for hint in hints:
        for scenario in scenarios or SCENARIOS:
            pollers = [name for name in POLLERS
                       if name != "openai poll()" or scenario in openai_scenarios]
            for duration in durations:
                rows += await measure_one(scenario, duration, hint, reps, pollers)
    return rows


def main() -> None:
    """Print the rows as JSON (``run.py`` formats them)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--durations", default="10,30,60,180,300")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--hints", default="none,1000")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--openai-scenarios", default="linear")
    args = parser.parse_args()
    hints = [None if h == "none" else int(h) for h in args.hints.split(",")]
    durations = [float(d) for d in args.durations.split(",")]
    rows = asyncio.run(measure(durations, args.reps, hints, args.scenarios.split(","),
                               tuple(args.openai_scenarios.split(","))))
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
