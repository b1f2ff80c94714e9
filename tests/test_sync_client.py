"""SyncVideoClient: the async client without ``await``, from scripts, threads and event loops."""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from foundry_video import (
    ApiKeyAuth,
    DownloadStarted,
    GenerationJob,
    GenerationJobs,
    Job,
    JobEvent,
    JobFailedError,
    ManualClock,
    NotFoundError,
    SyncGenerationJob,
    SyncGenerationJobs,
    SyncJob,
    SyncPager,
    SyncVideoClient,
    SyncVideoJob,
    SyncVideos,
    Video,
    VideoClient,
)
from foundry_video._pagination import AsyncPager
from foundry_video._sync._runtime import ClientClosedError
from foundry_video.emulator import Emulator, Fault, PlaceholderRenderer
from foundry_video.resources.videos import VideoJob, Videos

from .fakes import ThreadedEmulator


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emu(clock: ManualClock) -> Iterator[Emulator]:
    with ThreadedEmulator(clock=clock, renderer=PlaceholderRenderer()) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator, clock: ManualClock) -> Iterator[SyncVideoClient]:
    with SyncVideoClient(emu.endpoint, auth=ApiKeyAuth("sync-key"), clock=clock) as c:
        yield c


def portal_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "foundry-video-sync"]


# -- the surface cannot drift from the async one ------------------------------------------


def _public(cls: type) -> dict[str, Any]:
    # "ǁ" marks the copies mutmut adds to a class during a mutation run.
    return {name: value for name, value in inspect.getmembers(cls)
            if not name.startswith("_") and "ǁ" not in name}


def _parameters(function: Any) -> list[tuple[str, Any, Any, Any]]:
    signature = inspect.signature(function)
    return [(p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()]


# The one deliberate difference in parameters: a sync job's ``on_progress`` is a plain
# function called in the caller's thread (the async one may also be ``async def``).
_HANDLER_TYPES = {"ProgressHandler | None": "EventHandler | None"}


@pytest.mark.parametrize(("sync_cls", "async_cls"), [
    (SyncVideos, Videos), (SyncGenerationJobs, GenerationJobs), (SyncJob, Job),
    (SyncVideoJob, VideoJob),
    (SyncGenerationJob, GenerationJob), (SyncPager, AsyncPager)])
def test_sync_surface_matches_the_async_one(sync_cls: type, async_cls: type) -> None:
    sync_members, async_members = _public(sync_cls), _public(async_cls)
    renamed = {"first_page"} if sync_cls is SyncPager else set()  # the form of `await pager`
    instance_attributes = {"id"} if issubclass(async_cls, Job) else set()  # set in __init__
    assert set(sync_members) - renamed == set(async_members) | instance_attributes
    for name, async_member in async_members.items():
        sync_member = sync_members[name]
        if isinstance(async_member, property) or not callable(async_member):
            assert isinstance(sync_member, property) or not callable(sync_member), name
            continue
        expected = [(n, kind, default, _HANDLER_TYPES.get(a, a) if isinstance(a, str) else a)
                    for n, kind, default, a in _parameters(async_member)]
        assert _parameters(sync_member) == expected, f"{sync_cls.__name__}.{name}"
        assert sync_member.__doc__, f"{sync_cls.__name__}.{name} has no docstring"


def test_constructor_takes_the_async_clients_arguments() -> None:
    expected = [p for p in _parameters(VideoClient.__init__) if p[0] != "session"]
    assert _parameters(SyncVideoClient.__init__) == expected
    assert set(_public(SyncVideoClient)) >= {"videos", "generation_jobs", "close", "from_env"}


# -- a script ------------------------------------------------------------------------------


def test_script_style_create_wait_download_list_delete(client: SyncVideoClient, emu: Emulator,
                                                      tmp_path: Path) -> None:
    job = client.videos.create(prompt="A paper boat", seconds=4)
    assert isinstance(job, SyncJob) and job.id.startswith("video_") and job.status == "queued"
    video = job.wait()
    assert isinstance(video, Video) and video.status == "completed" and job.done
    seen: list[JobEvent] = []
    path = job.result(tmp_path / "boat.mp4", on_progress=seen.append)
    assert path == tmp_path / "boat.mp4" and path.read_bytes()[4:8] == b"ftyp"
    assert [type(e).__name__ for e in seen][-1] == "DownloadSaved"
    assert job.result(tmp_path / "boat.webp", variant="thumbnail").read_bytes()[8:12] == b"WEBP"
    assert client.videos.retrieve(job.id).status == "completed"
    assert client.videos.download(job.id, tmp_path / "again.mp4") == tmp_path / "again.mp4"
    again = client.videos.job(job.id)
    assert again.status is None and again.refresh().id == job.id
    assert job.id in [v.id for v in client.videos.list()]
    remix = client.videos.remix(job.id, prompt="at night")
    assert remix.wait().remixed_from_video_id == job.id
    assert client.videos.delete(job.id).deleted
    with pytest.raises(NotFoundError):
        client.videos.retrieve(job.id)


def test_errors_are_the_async_ones(client: SyncVideoClient, emu: Emulator) -> None:
    before = len(emu.requests)
    with pytest.raises(ValueError, match="size"):
        client.videos.create(prompt="x", size="1x1")
    assert len(emu.requests) == before  # checked before anything was sent
    emu.faults.add(Fault("job_failed", code="internal_error", message="GPU on fire"))
    job = client.videos.create(prompt="x", seconds=4)
    with pytest.raises(JobFailedError, match="GPU on fire") as info:
        job.wait()
    assert info.value.job_id == job.id and info.value.code == "internal_error"


def test_list_fetches_pages_lazily(client: SyncVideoClient, emu: Emulator) -> None:
    ids = {client.videos.create(prompt=f"p{i}", seconds=4).id for i in range(5)}
    lists = lambda: [r for r in emu.requests if r.method == "GET" and r.path.endswith("/videos")]  # noqa: E731
    pager = client.videos.list(limit=2)
    assert lists() == []  # nothing is fetched until asked
    items = iter(pager)
    next(items)
    assert len(lists()) == 1
    next(items)
    assert len(lists()) == 1  # the second item is on the first page
    next(items)
    assert len(lists()) == 2
    assert {v.id for v in client.videos.list(limit=2)} == ids
    assert [len(p.data) for p in pager.pages()] == [2, 2, 1]
    assert len(pager.first_page().data) == 2
    with pytest.raises(ValueError, match="limit"):
        client.videos.list(limit=1000)


def test_events_is_a_plain_iterator_and_closing_it_removes_the_temp_file(
        client: SyncVideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.faults.add(Fault("slow_body", operation="content", chunk_size=512, delay=0.02,
                         times=None))
    job = client.videos.create(prompt="x", seconds=4)
    with closing(job.events(tmp_path / "x.mp4")) as events:
        for event in events:
            if isinstance(event, DownloadStarted):
                assert [p.suffix for p in tmp_path.iterdir()] == [".part"]
                break
    assert list(tmp_path.iterdir()) == []
    # Leaving the loop without closing: the iterator is closed when it goes away.
    for event in job.events(tmp_path / "y.mp4"):
        if isinstance(event, DownloadStarted):
            break
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_an_exception_in_on_progress_stops_the_download_cleanly(
        client: SyncVideoClient, emu: Emulator, tmp_path: Path) -> None:
    emu.faults.add(Fault("slow_body", operation="content", chunk_size=512, delay=0.02,
                         times=None))
    job = client.videos.create(prompt="x", seconds=4)

    def stop(event: JobEvent) -> None:
        if isinstance(event, DownloadStarted):
            raise RuntimeError("my UI broke")

    with pytest.raises(RuntimeError, match="my UI broke"):
        job.result(tmp_path / "x.mp4", on_progress=stop)
    assert list(tmp_path.iterdir()) == []
    assert job.result(tmp_path / "x.mp4").stat().st_size > 0  # the job is still fine


def test_async_on_progress_is_refused(client: SyncVideoClient, emu: Emulator) -> None:
    job = client.videos.create(prompt="x", seconds=4)

    async def handler(event: JobEvent) -> None:
        pass

    requests = len(emu.requests)
    with pytest.raises(TypeError, match="plain function"):
        job.wait(on_progress=handler)
    assert len(emu.requests) == requests  # refused before polling started

    class Handler:
        def __call__(self, event: JobEvent) -> Any:
            return handler(event)  # returns a coroutine: caught when it is called

    with pytest.raises(TypeError, match="plain function"):
        job.wait(on_progress=Handler())


def test_keyboard_interrupt_in_a_sora1_wait_says_how_to_resume(
        client: SyncVideoClient, emu: Emulator, tmp_path: Path) -> None:
    """Ctrl-C seen in the caller's thread (here: raised by its callback) mid-download."""
    emu.faults.add(Fault("slow_body", operation="content", chunk_size=512, delay=0.02,
                         times=None))
    job = client.generation_jobs.create(prompt="a cat", model="sora", size="480x480", seconds=2)
    assert isinstance(job, SyncGenerationJob)

    def interrupt(event: JobEvent) -> None:
        if isinstance(event, DownloadStarted):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        job.result_all(tmp_path, on_progress=interrupt)
    assert type(info.value) is KeyboardInterrupt  # a plain one: Ctrl-C's exit status stays 130
    assert f"client.generation_jobs.job('{job.id}')" in str(info.value)
    assert info.value.job_id == job.id  # type: ignore[attr-defined]
    assert list(tmp_path.iterdir()) == []
    assert client.generation_jobs.retrieve(job.id).status == "succeeded"
    paths = client.generation_jobs.job(job.id).result_all(tmp_path)
    assert [p.name for p in paths] == [f"{job.id}_1.mp4"]
    generation = job.generations[0]
    assert client.generation_jobs.retrieve_generation(generation.id).job_id == job.id
    assert [j.id for j in client.generation_jobs.list()] == [job.id]
    client.generation_jobs.delete(job.id)


# -- threads, event loops, closing ----------------------------------------------------------


def test_many_threads_share_one_client(client: SyncVideoClient, tmp_path: Path) -> None:
    results: dict[int, Path] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            job = client.videos.create(prompt=f"thread {i}", seconds=4)
            results[i] = job.result(tmp_path / f"{i}.mp4")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(results) == list(range(8))
    assert all(p.read_bytes()[4:8] == b"ftyp" for p in results.values())
    assert len(portal_threads()) == 1


def test_works_inside_a_running_event_loop(client: SyncVideoClient, tmp_path: Path) -> None:
    async def cell() -> tuple[str, list[str]]:  # what a Jupyter cell does: sync calls in a loop
        job = client.videos.create(prompt="in a loop", seconds=4)
        path = job.result(tmp_path / "loop.mp4")
        return path.name, [v.id for v in client.videos.list()]

    name, ids = asyncio.run(cell())
    assert name == "loop.mp4" and len(ids) == 1


async def test_works_inside_the_test_event_loop(client: SyncVideoClient) -> None:
    job = client.videos.create(prompt="x", seconds=4)
    assert job.wait().status == "completed"


def test_close_is_idempotent_and_later_calls_fail_clearly(emu: Emulator,
                                                          clock: ManualClock) -> None:
    before = len(portal_threads())
    client = SyncVideoClient(emu.endpoint, auth=ApiKeyAuth("k"), clock=clock)
    assert len(portal_threads()) == before + 1
    job = client.videos.create(prompt="x", seconds=4)
    client.close()
    client.close()
    assert client.closed and len(portal_threads()) == before
    with pytest.raises(ClientClosedError, match="closed"):
        client.videos.retrieve(job.id)
    with pytest.raises(RuntimeError, match="closed"):
        job.wait()


def test_a_forgotten_client_is_closed_when_collected(emu: Emulator, clock: ManualClock) -> None:
    before = len(portal_threads())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Unclosed client session"
        client = SyncVideoClient(emu.endpoint, auth=ApiKeyAuth("k"), clock=clock)
        client.videos.create(prompt="x", seconds=4)
        del client
        gc.collect()
    assert len(portal_threads()) == before


def test_closing_stops_a_wait_in_another_thread(emu: Emulator, tmp_path: Path) -> None:
    client = SyncVideoClient(emu.endpoint, auth=ApiKeyAuth("k"),
                             clock=ManualClock(auto_advance=False))  # the job never finishes
    job = client.videos.create(prompt="x", seconds=4)
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            job.wait()
        except BaseException as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive()
    client.close()
    waiter.join(10)
    assert not waiter.is_alive()
    assert [type(e) for e in outcome] == [ClientClosedError], outcome


def test_constructor_errors_leave_no_thread_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    before = len(portal_threads())
    with pytest.raises(ValueError, match="endpoint"):
        SyncVideoClient()
    with pytest.raises(ValueError, match="AZURE_OPENAI_ENDPOINT"):
        SyncVideoClient.from_env()
    assert len(portal_threads()) == before


def test_from_env(emu: Emulator, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "env-key")
    with SyncVideoClient.from_env(clock=clock) as client:
        assert client.base_url == emu.endpoint + "/openai/v1" and client.flavor == "azure"
        assert "env-key" not in repr(client)
        assert client.videos.create(prompt="x", seconds=4).wait().status == "completed"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_a_clear_error(client: SyncVideoClient) -> None:
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            client.videos.list().first_page()
            message = b"no error"
        except RuntimeError as exc:
            message = str(exc).encode()
        os.write(write, message)
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as pipe:
        assert b"forked process" in pipe.read()
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.videos.list().first_page().data == []  # the parent's client still works


# -- real processes: a script as a newcomer writes it, and Ctrl-C ---------------------------

SCRIPT = """
import sys
from foundry_video import SyncVideoClient

client = SyncVideoClient.from_env()   # module level, never closed: closed at exit

job = client.videos.create(prompt="a long one", seconds=4)
print("created", job.id, flush=True)
job.result(sys.argv[1], on_progress=lambda event: print(type(event).__name__, flush=True))
print("saved", flush=True)
"""


def _run_script(tmp_path: Path, emulator: Emulator) -> Any:
    import subprocess
    import sys

    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {**os.environ, "AZURE_OPENAI_ENDPOINT": emulator.endpoint,
           "AZURE_OPENAI_API_KEY": "script-key", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, str(script), str(out_dir / "x.mp4")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), out_dir


def test_a_plain_script_runs_and_exits_without_noise(tmp_path: Path) -> None:
    """The reported bug: a module-level client in a script. No event loop to manage, and
    no "Unclosed client session" at exit."""
    with ThreadedEmulator(renderer=PlaceholderRenderer(), job_seconds=0.2,
                          queue_seconds=0.05) as emulator:
        proc, out_dir = _run_script(tmp_path, emulator)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert err == ""
    assert out.splitlines()[-2:] == ["DownloadSaved", "saved"]
    assert [p.name for p in out_dir.iterdir()] == ["x.mp4"]


@pytest.mark.parametrize("stage", ["polling", "downloading"])
def test_ctrl_c_leaves_the_job_and_no_part_file(stage: str, tmp_path: Path) -> None:
    import signal

    options: dict[str, Any] = ({"job_seconds": 600} if stage == "polling"
                               else {"job_seconds": 0.2, "queue_seconds": 0.05})
    with ThreadedEmulator(renderer=PlaceholderRenderer(), **options) as emulator:
        if stage == "downloading":  # ~2 s for the placeholder MP4
            emulator.faults.add(Fault("slow_body", operation="content", chunk_size=128,
                                      delay=0.02, times=None))
        proc, out_dir = _run_script(tmp_path, emulator)
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("created video_"), first + proc.stderr.read()  # type: ignore[union-attr]
        job_id = first.split()[-1]
        wanted = "JobQueued" if stage == "polling" else "DownloadStarted"
        while (line := proc.stdout.readline().strip()) != wanted:
            assert line, "the script ended early"
        if stage == "downloading":
            assert [p.suffix for p in out_dir.iterdir()] == [".part"]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        with SyncVideoClient(emulator.endpoint, auth=ApiKeyAuth("k")) as checker:
            status = checker.videos.retrieve(job_id).status  # the job goes on on the service
    assert status == ("completed" if stage == "downloading" else "queued")
    assert proc.returncode == -signal.SIGINT  # died of Ctrl-C, as an interrupted program should
    assert f"Resume with client.videos.job('{job_id}')" in err
    assert "Unclosed" not in err and "saved" not in out
    assert list(out_dir.iterdir()) == []  # no .part file, no partial video


def test_emulator_as_a_plain_context_manager_serves_blocking_clients(tmp_path: Path) -> None:
    clock = ManualClock()
    emulator = Emulator(clock=clock, renderer=PlaceholderRenderer())
    with emulator as served:
        assert served is emulator
        with pytest.raises(RuntimeError, match="already running"):
            emulator.__enter__()
        with SyncVideoClient(emulator.endpoint, auth=ApiKeyAuth("k"), clock=clock) as client:
            assert client.videos.create(prompt="x", seconds=4).result(tmp_path / "x.mp4").is_file()
    assert not [t for t in threading.enumerate() if t.name == "foundry-video-emulator"]
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.endpoint


def test_with_options_and_raw_requests_on_the_sync_client() -> None:
    from foundry_video import ApiKeyAuth, Response
    from foundry_video.testing import MockTransport

    seen: list[float] = []

    def handler(request: Any) -> Response:
        seen.append(request.timeout)
        return Response(200, json={"object": "list", "data": [], "has_more": False},
                        headers={"x-request-id": "req-9"})

    with SyncVideoClient("https://res.openai.azure.com", auth=ApiKeyAuth("k"),
                         transport=MockTransport(handler)) as client:
        quick = client.with_options(timeout=3)
        response = quick.request("GET", "/videos", params={"limit": 1})
        assert (response.status_code, response.request_id) == (200, "req-9")
        quick.close()
        assert list(client.videos.list()) == []  # the original is still open
    assert seen == [3, 60]
