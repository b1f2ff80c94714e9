"""foundry_video.dask on an in-process Dask cluster: errors, faults, limits, restarts.

The process-level behaviour (worker processes, a killed worker, 200 jobs) is in
test_dask_cluster.py; these run on worker threads, so they start in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import Client, LocalCluster, Semaphore

from foundry_video import ContentPolicyError, JobFailedError, VideoClient
from foundry_video.dask import VideoOutcome, generate_videos
from foundry_video.emulator import Emulator, Fault, PlaceholderRenderer
from foundry_video.journal import JobJournal

from .fakes import ThreadedEmulator
from .test_dask_cluster import peak_running


def fast_batch(*args: Any, **kwargs: Any) -> Iterator[VideoOutcome]:
    """generate_videos with workers polling every 0.1 s (the emulator's jobs take 0.25 s)."""
    factory = functools.partial(VideoClient.from_env, poll_interval=0.1)
    return generate_videos(*args, client_factory=factory, **kwargs)


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with ThreadedEmulator(job_seconds=0.2, queue_seconds=0.05,
                          renderer=PlaceholderRenderer()) as emu:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.endpoint)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "key")
        yield emu


@pytest.fixture
def dask_client(emulator: Emulator) -> Iterator[Client]:
    with LocalCluster(n_workers=1, threads_per_worker=8, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def by_key(outcomes: Iterator[VideoOutcome]) -> dict[str, VideoOutcome]:
    return {o.key: o for o in outcomes}


@pytest.mark.parametrize(("requests", "keys", "message"), [
    (["A cat"], None, "not a mapping"),
    ([{"prompt": "  "}], None, "no prompt"),
    ([{"prompt": "A", "seconds": 4}], ["../escape"], "letters, digits"),
    ([{"prompt": "A"}, {"prompt": "B"}], ["same", "same"], "given twice"),
    ([{"prompt": "A"}, {"prompt": "B"}], ["only-one"], "1 keys for more requests"),
    ([{"prompt": "A"}], ["a", "b"], "2 keys for 1 requests"),
])
def test_bad_input_is_refused_before_anything_runs(requests: list[object], keys: list[str] | None,
                                                   message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        generate_videos(object(), requests, keys=keys, out_dir=tmp_path / "out")  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_bad_limits_are_refused(tmp_path: Path) -> None:
    for bad in ({"max_in_flight": 0}, {"max_in_flight": True}, {"retries": -1},
                {"reconcile_grace": -1.0}):
        with pytest.raises(ValueError):
            generate_videos(object(), [], out_dir=tmp_path, **bad)  # type: ignore[arg-type]


def test_typed_errors_come_back_per_item(emulator: Emulator, dask_client: Client,
                                         tmp_path: Path) -> None:
    requests = [{"prompt": "A blocked-content scene"}, {"prompt": "A lighthouse", "seconds": 4},
                {"prompt": "A fox", "size": "640x360"}]
    outcomes = by_key(fast_batch(dask_client, requests, keys=["blocked", "fine", "bad-size"],
                                      out_dir=tmp_path))
    assert isinstance(outcomes["blocked"].error, ContentPolicyError)
    assert outcomes["blocked"].job_id is None and outcomes["blocked"].path is None
    assert isinstance(outcomes["bad-size"].error, ValueError)
    assert outcomes["fine"].ok and outcomes["fine"].path == tmp_path / "fine.mp4"
    assert [job.prompt for job in emulator.videos] == ["A lighthouse"]
    assert sorted(p.name for p in (tmp_path / ".foundry-video").iterdir()) == ["fine.jsonl"]


def test_a_failed_job_keeps_its_id_and_is_not_created_again(emulator: Emulator,
                                                             dask_client: Client,
                                                             tmp_path: Path) -> None:
    emulator.inject(Fault("job_failed", code="internal_error", message="GPU on fire"))
    outcome, = fast_batch(dask_client, [{"prompt": "A doomed shot"}], out_dir=tmp_path)
    assert isinstance(outcome.error, JobFailedError) and outcome.error.code == "internal_error"
    assert outcome.job_id == outcome.error.job_id
    entries = JobJournal(tmp_path / ".foundry-video" / f"{outcome.key}.jsonl").entries()
    assert [e.status for e in entries.values()] == ["failed"]
    again, = fast_batch(dask_client, [{"prompt": "A doomed shot"}], out_dir=tmp_path)
    assert isinstance(again.error, JobFailedError) and again.job_id == outcome.job_id
    assert len(emulator.videos) == 1


def test_a_lost_create_response_is_adopted_not_created_again(emulator: Emulator,
                                                             dask_client: Client,
                                                             tmp_path: Path) -> None:
    """The service created the job but the answer never arrived: the SDK cannot know it
    exists, the task fails and Dask retries it; the retry finds the job and adopts it."""
    emulator.inject(Fault("drop_connection", operation="create", stage="response"))
    requests = [{"prompt": f"Shot {i}", "seconds": 4} for i in range(3)]
    outcomes = list(fast_batch(dask_client, requests, out_dir=tmp_path, max_in_flight=1,
                                    reconcile_grace=0.5))
    assert all(o.ok for o in outcomes)
    assert sorted(job.prompt for job in emulator.videos) == [r["prompt"] for r in requests]
    creates = [r for r in emulator.requests if r.operation == "create"]
    assert len(creates) == 3 and creates[0].status is None  # its answer lost, not re-sent
    assert [o.resumed for o in outcomes] == [True, False, False]
    assert not list((tmp_path / ".foundry-video").glob("*.creating"))


def test_an_orphaned_intent_is_adopted_not_created_again(emulator: Emulator, dask_client: Client,
                                                         tmp_path: Path) -> None:
    """A worker died after sending a create but before journaling its answer."""
    out = tmp_path / "out"
    requests = [{"prompt": "A new job", "seconds": 4}, {"prompt": "A lost job", "seconds": 4}]

    async def create_orphan() -> str:
        async with VideoClient.from_env() as client:
            return (await client.videos.create(prompt="A lost job", seconds=4)).id

    first, = fast_batch(dask_client, requests[:1], keys=["new"], out_dir=out)
    assert first.ok and not first.resumed
    # What a dead worker leaves behind: the intent, and its job at the service.
    orphan = asyncio.run(create_orphan())
    intent = out / ".foundry-video" / "lost.creating"
    intent.write_text(json.dumps({"v": 1, "at": time.time() - 1}))
    outcomes = by_key(fast_batch(dask_client, requests, keys=["new", "lost"], out_dir=out,
                                      reconcile_grace=0.5))
    assert outcomes["lost"].ok and outcomes["lost"].resumed
    assert outcomes["lost"].job_id == orphan and not intent.exists()
    assert outcomes["new"].resumed and outcomes["new"].job_id == first.job_id
    assert sorted(job.prompt for job in emulator.videos) == ["A lost job", "A new job"]


def test_an_intent_without_a_job_is_created_after_the_grace(emulator: Emulator,
                                                             dask_client: Client,
                                                             tmp_path: Path) -> None:
    """The worker died before its create reached the service: create it, once, after waiting."""
    state = tmp_path / ".foundry-video"
    state.mkdir()
    (state / "shot.creating").write_text("{torn")  # a crash mid-write: its mtime counts
    started = time.monotonic()
    outcome, = fast_batch(dask_client, [{"prompt": "A shot"}], keys=["shot"],
                               out_dir=tmp_path, reconcile_grace=1.0)
    assert outcome.ok and not outcome.resumed and time.monotonic() - started >= 0.9
    assert len(emulator.videos) == 1
    assert [r.operation for r in emulator.requests][:3] == ["list", "list", "create"]


def test_two_batches_share_one_limit(emulator: Emulator, dask_client: Client,
                                     tmp_path: Path) -> None:
    """Two drivers, one scheduler, one limit name: 3 jobs at once in all, not 3 each."""
    results: dict[str, list[VideoOutcome]] = {}

    def batch(name: str) -> None:
        with Client(dask_client.scheduler.address) as own:
            requests = [{"prompt": f"{name} {i}", "seconds": 4} for i in range(9)]
            results[name] = list(fast_batch(own, requests, out_dir=tmp_path / name,
                                                 max_in_flight=3, limit_name="shared"))

    threads = [threading.Thread(target=batch, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(o.ok for name in ("left", "right") for o in results[name])
    assert peak_running(emulator) == 3


def test_closing_early_cancels_and_returns_the_leases(emulator: Emulator, dask_client: Client,
                                                      tmp_path: Path) -> None:
    requests = [{"prompt": f"Shot {i}", "seconds": 4} for i in range(20)]
    batch = fast_batch(dask_client, requests, out_dir=tmp_path, max_in_flight=4,
                            limit_name="early")
    first = next(batch)
    batch.close()
    assert first.ok
    semaphore = Semaphore(max_leases=4, name="early")
    assert semaphore.get_value() == 0
    # The rest resume (or start) on the next run; nothing is created twice.
    outcomes = list(fast_batch(dask_client, requests, out_dir=tmp_path, max_in_flight=4,
                                    limit_name="early"))
    assert all(o.ok for o in outcomes) and len(emulator.videos) == 20


def test_import_foundry_video_does_not_import_dask() -> None:
    code = ("import sys, foundry_video, foundry_video.journal; foundry_video.VideoClient; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    src = str(Path(__file__).resolve().parent.parent / "src")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": src})
    assert out.stdout.strip() == "[]"


def broken_factory() -> VideoClient:
    raise ValueError("AZURE_OPENAI_ENDPOINT is not set")


def test_a_client_that_cannot_be_built_is_an_error_per_item(emulator: Emulator,
                                                            dask_client: Client,
                                                            tmp_path: Path) -> None:
    outcome, = generate_videos(dask_client, [{"prompt": "A cat"}], out_dir=tmp_path,
                               client_factory=broken_factory, retries=5)
    assert isinstance(outcome.error, ValueError) and "ENDPOINT" in str(outcome.error)
    assert outcome.job_id is None and len(emulator.videos) == 0
    assert list((tmp_path / ".foundry-video").iterdir()) == []
