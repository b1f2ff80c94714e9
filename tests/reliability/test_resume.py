"""Resumability: a killed process loses nothing that the job id cannot bring back.

``client.videos.job(id)`` in a fresh client, the CLI's ``wait ID``, and the optional
:class:`~foundry_video.journal.JobJournal` for whole batches.
"""

from __future__ import annotations

import asyncio
import json
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import anyio
import pytest

from foundry_video import (
    ApiKeyAuth,
    DownloadStarted,
    JobFailedError,
    JobProgress,
    ManualClock,
    VideoClient,
)
from foundry_video import cli as cli_module
from foundry_video.emulator import Emulator, Fault
from foundry_video.journal import JobJournal

from .conftest import (
    JOB_SECONDS,
    KEY,
    QUEUE_SECONDS,
    ThreadedEmulator,
    assert_clean,
    content_bytes,
    ops,
    sha256,
)

PROMPT = "paper boats on a rainy street"


async def fresh_client(emu: Emulator, clock: ManualClock) -> VideoClient:
    """A new client, as a restarted process would build it (no state shared with the old one)."""
    return VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock)


async def test_job_id_resumes_in_a_new_client_after_a_kill_mid_poll(
        client: VideoClient, emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    job = await client.videos.create(prompt=PROMPT)
    with anyio.CancelScope() as scope:  # the process is "killed" once progress shows
        async for event in job.events(target):
            if isinstance(event, JobProgress) and event.progress:
                scope.cancel()
    assert scope.cancelled_caught
    await client.close()
    assert_clean(tmp_path)  # nothing half-written

    async with await fresh_client(emu, clock) as again:
        await again.videos.job(job.id).result(target)
    assert sha256(target.read_bytes()) == sha256(await content_bytes(emu, job.id))
    assert len(ops(emu, "create")) == 1 and len(emu.videos) == 1  # resumed, not recreated
    assert_clean(tmp_path, target)


async def test_job_id_resumes_after_a_kill_mid_download(
        client: VideoClient, emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    job = await client.videos.create(prompt=PROMPT)
    # A slow body, so the transfer is really in flight (suspended on the socket) when killed.
    emu.inject(Fault("slow_body", operation="content", chunk_size=64 * 1024, delay=0.05))
    with anyio.CancelScope() as scope:
        async for event in job.events(target):
            if isinstance(event, DownloadStarted):
                assert len(list(tmp_path.glob(".out.mp4.*.part"))) == 1  # mid-download
                scope.cancel()
    assert scope.cancelled_caught
    assert_clean(tmp_path)  # cancellation removed the temporary file
    await client.close()

    async with await fresh_client(emu, clock) as again:
        await again.videos.job(job.id).result(target)
    assert sha256(target.read_bytes()) == sha256(await content_bytes(emu, job.id))
    assert_clean(tmp_path, target)


async def test_an_existing_file_is_replaced_only_by_a_complete_one(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    target.write_bytes(b"previous good video")
    job = await client.videos.create(prompt=PROMPT)
    emu.inject(Fault("drop_connection", operation="content", after_bytes=1000, times=None))
    with pytest.raises(Exception, match="resumes"):
        await job.result(target)
    assert target.read_bytes() == b"previous good video"  # never a partial file
    assert_clean(tmp_path, target)


# -- the CLI's `wait ID` --------------------------------------------------------------------


async def _create_raw(emu: Emulator) -> str:
    async with aiohttp.ClientSession() as session, session.post(
            f"{emu.endpoint}/openai/v1/videos", json={"prompt": PROMPT},
            headers={"api-key": KEY}) as response:
        assert response.status == 200
        body = await response.json()
    return str(body["id"])


@pytest.fixture
def advancing(wall_clock: ManualClock) -> Iterator[None]:
    """Moves the emulator's ManualClock on (1 virtual second per 10 ms) while the CLI, on
    the real clock in its own event loop, polls it."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(0.01):
            wall_clock.advance(1.0)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(5)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli_module.main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out + err and "Traceback" not in out + err
    return code, out, err


def test_cli_wait_downloads_a_job_that_finished_while_nobody_watched(
        threaded_emu: ThreadedEmulator, wall_clock: ManualClock, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    emu = threaded_emu.emulator
    job_id = threaded_emu.run(_create_raw(emu))
    wall_clock.advance(QUEUE_SECONDS + JOB_SECONDS)  # completed while the process was dead
    target = tmp_path / "resumed.mp4"
    code, out, err = run_cli(capsys, "wait", job_id, "-o", str(target), "-q")
    assert code == 0, err
    assert f"saved {target}" in out and job_id in out
    assert sha256(target.read_bytes()) == sha256(threaded_emu.run(content_bytes(emu, job_id)))
    assert_clean(tmp_path, target)
    assert len(ops(emu, "create")) == 1


def test_cli_wait_follows_a_job_still_in_progress(
        threaded_emu: ThreadedEmulator, wall_clock: ManualClock, tmp_path: Path, advancing: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    emu = threaded_emu.emulator
    job_id = threaded_emu.run(_create_raw(emu))
    wall_clock.advance(QUEUE_SECONDS + 0.9 * JOB_SECONDS)  # 90% done when the CLI attaches
    target = tmp_path / "resumed.mp4"
    code, _, err = run_cli(capsys, "wait", job_id, "-o", str(target), "-q")
    assert code == 0, err
    assert sha256(target.read_bytes()) == sha256(threaded_emu.run(content_bytes(emu, job_id)))
    assert_clean(tmp_path, target)


def test_cli_wait_on_a_failed_job_exits_1_with_the_job_id(
        threaded_emu: ThreadedEmulator, wall_clock: ManualClock, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    emu = threaded_emu.emulator
    emu.inject(Fault("job_failed", code="internal_error", message="render farm down"))
    job_id = threaded_emu.run(_create_raw(emu))
    wall_clock.advance(QUEUE_SECONDS + JOB_SECONDS)
    target = tmp_path / "out.mp4"
    code, _, err = run_cli(capsys, "wait", job_id, "-o", str(target), "-q")
    assert code == 1
    assert job_id in err and "render farm down" in err
    assert_clean(tmp_path)


def test_cli_wait_survives_a_dropped_download(
        threaded_emu: ThreadedEmulator, wall_clock: ManualClock, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    emu = threaded_emu.emulator
    job_id = threaded_emu.run(_create_raw(emu))
    wall_clock.advance(QUEUE_SECONDS + JOB_SECONDS)
    emu.inject(Fault("drop_connection", operation="content", after_bytes=50_000))
    target = tmp_path / "out.mp4"
    code, _, err = run_cli(capsys, "wait", job_id, "-o", str(target), "-q")
    assert code == 0, err
    assert [r.headers.get("range") for r in ops(emu, "content")] == [None, "bytes=50000-"]
    assert sha256(target.read_bytes()) == sha256(threaded_emu.run(content_bytes(emu, job_id)))


# -- the journal ----------------------------------------------------------------------------


async def test_journal_resumes_a_crashed_batch(
        client: VideoClient, emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    path = tmp_path / "state" / "jobs.jsonl"
    out = tmp_path / "videos"
    async with JobJournal(path) as journal:
        jobs = [await journal.track(client.videos.create(prompt=f"{PROMPT} #{i}"),
                                    output=out / f"{i}.mp4", params={"prompt": f"#{i}"})
                for i in range(3)]
        await journal.finish(jobs[0])
        # ...and the process dies here: two jobs started, never collected.
    await client.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    async with JobJournal(path) as journal, await fresh_client(emu, clock) as again:
        assert [e.id for e in journal.pending()] == [jobs[1].id, jobs[2].id]
        resumed = [(entry, job) async for entry, job in journal.resume(again)]
        for entry, job in resumed:
            assert entry.output == str(out / f"{jobs.index(next(j for j in jobs if j.id == job.id))}.mp4")
            await journal.finish(job)
        assert journal.pending() == []
        assert {e.status for e in journal.entries().values()} == {"done"}
    for i, job in enumerate(jobs):
        assert sha256((out / f"{i}.mp4").read_bytes()) == sha256(await content_bytes(emu, job.id))
    assert_clean(out, *(out / f"{i}.mp4" for i in range(3)))
    assert len(ops(emu, "create")) == 3  # nothing was created twice
    assert KEY not in path.read_text()


async def test_journal_marks_failed_jobs_and_does_not_resume_them(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.inject(Fault("job_failed", message="nope"))
    journal = JobJournal(tmp_path / "jobs.jsonl")
    job = await journal.track(client.videos.create(prompt=PROMPT), output=tmp_path / "x.mp4")
    with pytest.raises(JobFailedError):
        await journal.finish(job)
    entry = journal.entries()[job.id]
    assert entry.status == "failed" and entry.error is not None and "nope" in entry.error
    assert journal.pending() == []


async def test_journal_keeps_a_job_pending_after_a_transient_failure(
        emu: Emulator, clock: ManualClock, tmp_path: Path) -> None:
    async with VideoClient(emu.endpoint, auth=ApiKeyAuth(KEY), clock=clock,
                           max_retries=0) as c:
        journal = JobJournal(tmp_path / "jobs.jsonl")
        job = await journal.track(c.videos.create(prompt=PROMPT), output=tmp_path / "x.mp4")
        emu.inject(Fault("server_error", operation="retrieve", times=None))
        with pytest.raises(Exception, match="500"):
            await journal.finish(job)
        assert [e.id for e in journal.pending()] == [job.id]


async def test_journal_records_a_create_of_unknown_outcome(
        client: VideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.inject(Fault("drop_connection", operation="create", stage="response"))
    journal = JobJournal(tmp_path / "jobs.jsonl")
    with pytest.raises(Exception, match="not retried"):
        await journal.track(client.videos.create(prompt=PROMPT), params={"prompt": PROMPT})
    [unconfirmed] = journal.unconfirmed()
    assert unconfirmed.params == {"prompt": PROMPT}
    assert journal.pending() == []
    # The job did start: the caller reconciles by listing rather than creating again.
    assert [v.prompt async for v in client.videos.list(limit=5)] == [PROMPT]


def test_journal_survives_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    journal = JobJournal(path, fsync=False)
    journal.record("video_a", output=tmp_path / "a.mp4")
    with path.open("ab") as handle:
        handle.write(b'{"v": 1, "event": "started", "id": "video_b", "out')  # crash mid-write
    journal.record("video_c")
    assert [e.id for e in journal.pending()] == ["video_a", "video_c"]
    lines = path.read_text().splitlines()
    assert json.loads(lines[-1])["id"] == "video_c"  # not glued onto the torn line


async def test_journal_appends_from_concurrent_tasks(tmp_path: Path) -> None:
    journal = JobJournal(tmp_path / "jobs.jsonl", fsync=False)

    async def one(i: int) -> None:
        await asyncio.sleep(0)
        journal.record(f"video_{i:03d}")
        await asyncio.sleep(0)
        if i % 2:
            journal.mark_done(f"video_{i:03d}")

    await asyncio.gather(*(one(i) for i in range(50)))
    assert sorted(e.id for e in journal.pending()) == [f"video_{i:03d}" for i in range(0, 50, 2)]
