"""foundry_video.dask on a real local Dask cluster: worker processes, one emulator, a kill.

The emulator runs on a real clock in a thread of this process (reachable on 127.0.0.1 from
the worker processes); what it saw is checked from its own state, not from the SDK.
"""

from __future__ import annotations

import functools
import hashlib
import os
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from foundry_video import VideoClient
from foundry_video.dask import VideoOutcome, generate_videos
from foundry_video.emulator import Emulator, PlaceholderRenderer
from foundry_video.journal import JobJournal

from .fakes import ThreadedEmulator

pytestmark = pytest.mark.cluster

KEY = "cluster-test-key"
LIMIT = 8


def peak_running(emulator: Emulator) -> int:
    """The most jobs the emulator had queued or in progress at one instant."""
    events = sorted([(job.created, 1) for job in emulator.videos]
                    + [(job.finishes, -1) for job in emulator.videos])  # ends sort first on ties
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def served_sha256(endpoint: str, video_id: str) -> str:
    """What the emulator serves for a video, fetched without the SDK."""
    request = urllib.request.Request(f"{endpoint}/openai/v1/videos/{video_id}/content",
                                     headers={"api-key": KEY})
    with urllib.request.urlopen(request, timeout=10) as response:
        return hashlib.sha256(response.read()).hexdigest()


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    # 256 KiB videos, so a killed worker may well be mid-download.
    with ThreadedEmulator(job_seconds=0.25, queue_seconds=0.05,
                          renderer=PlaceholderRenderer(bytes_per_second=64 << 10)) as emu:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.endpoint)  # inherited by the workers
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
        yield emu


@pytest.fixture
def dask_client(emulator: Emulator) -> Iterator[Client]:
    with LocalCluster(n_workers=2, threads_per_worker=LIMIT, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def test_200_jobs_two_workers_one_killed(emulator: Emulator, dask_client: Client,
                                         tmp_path: Path) -> None:
    prompts = [f"Shot {i:03d}: a lighthouse at dusk" for i in range(200)]
    requests = [{"prompt": p, "size": "1280x720", "seconds": 4} for p in prompts]
    out = tmp_path / "out"
    pids_before = set(dask_client.run(os.getpid).values())
    outcomes: list[VideoOutcome] = []
    killed: dict[str, str] = {}  # key -> job id journaled before the kill
    batch = generate_videos(
        dask_client, requests, out_dir=out, max_in_flight=LIMIT, limit_name="cluster-test",
        client_factory=functools.partial(VideoClient.from_env, poll_interval=0.1),
        reconcile_grace=2.0)
    for outcome in batch:
        outcomes.append(outcome)
        if not killed and len(outcomes) >= 40:
            killed = kill_a_busy_worker(dask_client, out / ".foundry-video")

    assert killed, "the killed worker had no started job in flight"
    assert len(outcomes) == 200
    assert [o for o in outcomes if not o.ok] == []
    assert sorted(o.index for o in outcomes) == list(range(200))

    # The killed worker was replaced, and its jobs were resumed by id, not created again.
    pids_after = set(dask_client.run(os.getpid).values())
    assert len(pids_after) == 2 and pids_after != pids_before
    by_key = {o.key: o for o in outcomes}
    for key, job_id in killed.items():
        assert by_key[key].job_id == job_id and by_key[key].resumed, key
    assert sum(o.resumed for o in outcomes) >= len(killed)

    # The emulator's view: one job per prompt, one create request per job, never > LIMIT.
    jobs = list(emulator.videos)
    assert sorted(job.prompt for job in jobs) == sorted(prompts)
    creates = [r for r in emulator.requests if r.method == "POST" and r.operation == "create"]
    assert len(creates) == 200
    assert peak_running(emulator) == LIMIT  # reached, never exceeded

    # Every file is exactly what the emulator serves for its job; nothing partial is left.
    prompt_of = {job.id: job.prompt for job in jobs}
    for outcome in outcomes:
        assert outcome.path == out / f"{outcome.key}.mp4"
        assert prompt_of[outcome.job_id or ""] == outcome.request["prompt"]
        data = outcome.path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == served_sha256(emulator.endpoint,
                                                                 outcome.job_id or "")
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([".foundry-video", *(f"{o.key}.mp4" for o in outcomes)])
    state = sorted(p.name for p in (out / ".foundry-video").iterdir())
    assert state == sorted(f"{o.key}.jsonl" for o in outcomes)  # no intent left behind
    for outcome in outcomes:
        entries = JobJournal(out / ".foundry-video" / f"{outcome.key}.jsonl").entries()
        assert [(e.id, e.status) for e in entries.values()] == [(outcome.job_id, "done")]


def kill_a_busy_worker(dask_client: Client, state: Path) -> dict[str, str]:
    """SIGKILL the worker running the most started jobs; return their keys and job ids."""
    pids = dask_client.run(os.getpid)
    started: dict[str, dict[str, str]] = {}
    for address, task_keys in dask_client.processing().items():
        started[address] = {}
        for task_key in task_keys:
            key = str(task_key).removeprefix("foundry-video-").rsplit("-", 1)[0]
            entries = JobJournal(state / f"{key}.jsonl").entries()
            if entries:
                started[address][key] = next(iter(entries))
    address = max(started, key=lambda a: len(started[a]))
    if not started[address]:
        return {}
    os.kill(pids[address], signal.SIGKILL)
    return started[address]
