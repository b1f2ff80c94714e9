"""The clients under test, each run in a fresh process by ``run.py``.

``python clients.py jobs --client sdk --base-url URL --jobs 2000 --concurrency 64 --out DIR``
runs 2000 create → poll → download jobs and prints one JSON line with the elapsed time;
``python clients.py download --client raw --base-url URL --out FILE`` downloads the big
asset once and prints the elapsed time and the process's RSS growth during the download.

Clients: ``sdk`` (foundry-video: ``create_many`` / ``videos.download``), ``sdk-sync``
(``SyncVideoClient`` shared by a thread pool, jobs only), ``raw`` (a
hand-written minimal aiohttp loop: the practical limit of Python + aiohttp), and
``openai`` (the official package, used the way its docs suggest: ``create`` then
``poll``, and ``with_streaming_response.download_content(...).stream_to_file``).
A fresh process per run keeps one client's garbage, caches and pools away from the next.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

API_KEY = "bench-key"
CREATE = {"prompt": "A calico cat playing a piano on stage", "model": "sora-2",
          "size": "1280x720", "seconds": "4"}
BIG_ID = "video_big"


# -- memory -------------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def rss_kib() -> int:
    """The current resident set size in KiB (ru_maxrss where /proc is missing)."""
    value = _status_kib("VmRSS")
    if value is None:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value


def peak_rss_kib() -> int:
    """The peak resident set size (VmHWM) in KiB."""
    value = _status_kib("VmHWM")
    if value is None:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value


# -- workload (a): many small jobs -------------------------------------------------------


async def _pool(n: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> None:
    """Run ``one(i)`` for i < n on ``concurrency`` worker tasks (how the baselines bound work)."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await one(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def write_durably(target: Path, data: bytes) -> None:
    """What the SDK promises for a saved file: temp file, fsync, atomic rename, dir fsync."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        os.unlink(temp)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


async def jobs_raw_durable(base: str, n: int, concurrency: int, out: Path) -> None:
    """The raw loop, saving each file as durably as the SDK does (in a worker thread)."""
    await jobs_raw(base, n, concurrency, out, durable=True)


async def jobs_raw(base: str, n: int, concurrency: int, out: Path, *,
                   durable: bool = False) -> None:
    """The practical limit: aiohttp, JSON by hand, nothing else."""
    import aiohttp

    headers = {"api-key": API_KEY}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one(i: int) -> None:
            async with session.post(f"{base}/videos", json=CREATE) as response:
                response.raise_for_status()
                video = json.loads(await response.read())
            video_id = video["id"]
            while video["status"] not in ("completed", "failed"):
                async with session.get(f"{base}/videos/{video_id}") as response:
                    response.raise_for_status()
                    video = json.loads(await response.read())
            if video["status"] != "completed":
                raise RuntimeError(f"job {video_id} failed")
            async with session.get(f"{base}/videos/{video_id}/content",
                                   params={"variant": "video"}) as response:
                response.raise_for_status()
                data = await response.read()
            if durable:
                await asyncio.to_thread(write_durably, out / f"{video_id}.mp4", data)
                return
            # A minimal loop writes a tiny file inline (blocking, as such loops do).
            with open(out / f"{video_id}.mp4", "wb") as handle:  # noqa: ASYNC230
                handle.write(data)

        await _pool(n, concurrency, one)


async def jobs_sdk(base: str, n: int, concurrency: int, out: Path) -> None:
    """foundry-video's batch helper: bounded workers, create → poll → atomic download."""
    from foundry_video import ApiKeyAuth, VideoClient
    from foundry_video._batch import create_many

    # The fake completes a job on its first status request; poll_interval=0 removes the
    # (deliberate) wait before that request so the run measures client overhead only.
    async with VideoClient(base, auth=ApiKeyAuth(API_KEY), poll_interval=0.0) as client:
        results = await create_many(client, (dict(CREATE) for _ in range(n)),
                                    concurrency=concurrency, download_dir=out)
    failed = [r for r in results if r.error is not None]
    if failed:
        raise RuntimeError(f"{len(failed)} jobs failed; first: {failed[0].error!r}")


async def jobs_sdk_sync(base: str, n: int, concurrency: int, out: Path) -> None:
    """``SyncVideoClient`` as a threaded program uses it: ``concurrency`` threads sharing one
    client, each running create → ``job.result(path)`` (every call hops to its loop thread)."""
    from concurrent.futures import ThreadPoolExecutor

    from foundry_video import ApiKeyAuth, SyncVideoClient

    def run() -> None:
        with SyncVideoClient(base, auth=ApiKeyAuth(API_KEY), poll_interval=0.0) as client:

            def one(i: int) -> None:
                job = client.videos.create(**CREATE)  # type: ignore[arg-type]
                job.result(out / f"{job.id}.mp4")

            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                list(pool.map(one, range(n)))

    await asyncio.to_thread(run)


async def jobs_openai(base: str, n: int, concurrency: int, out: Path) -> None:
    """The official package as its docs suggest (create, poll, streamed download)."""
    from openai import AsyncOpenAI

    async with AsyncOpenAI(base_url=base, api_key=API_KEY) as client:

        async def one(i: int) -> None:
            video = await client.videos.create(**CREATE)  # type: ignore[arg-type]
            video = await client.videos.poll(video.id, poll_interval_ms=0)
            if video.status != "completed":
                raise RuntimeError(f"job {video.id} failed")
            async with client.videos.with_streaming_response.download_content(video.id) as r:
                await r.stream_to_file(out / f"{video.id}.mp4")

        await _pool(n, concurrency, one)


JOBS: dict[str, Callable[[str, int, int, Path], Awaitable[None]]] = {
    "sdk": jobs_sdk, "sdk-sync": jobs_sdk_sync, "raw": jobs_raw, "raw-durable": jobs_raw_durable,
    "openai": jobs_openai}


# -- workload (b)/(d): one large download -------------------------------------------------


async def download_raw(base: str, target: Path) -> None:
    """aiohttp, 1 MiB reads, plain ``write`` (no fsync, no atomic rename)."""
    import aiohttp

    async with aiohttp.ClientSession(headers={"api-key": API_KEY}) as session, \
            session.get(f"{base}/videos/{BIG_ID}/content", params={"variant": "video"}) as r:
        r.raise_for_status()
        with open(target, "wb") as handle:  # noqa: ASYNC230 (page-cache writes; as users do)
            while chunk := await r.content.read(1 << 20):
                handle.write(chunk)


async def download_sdk(base: str, target: Path) -> None:
    """``client.videos.download``: streamed, length-checked, fsynced, atomically renamed."""
    from foundry_video import ApiKeyAuth, VideoClient

    async with VideoClient(base, auth=ApiKeyAuth(API_KEY)) as client:
        await client.videos.download(BIG_ID, target)


async def download_openai(base: str, target: Path) -> None:
    """The official package's streamed download to a file."""
    from openai import AsyncOpenAI

    async with AsyncOpenAI(base_url=base, api_key=API_KEY) as client, \
            client.videos.with_streaming_response.download_content(BIG_ID) as response:
        await response.stream_to_file(target)


DOWNLOADS: dict[str, Callable[[str, Path], Awaitable[None]]] = {
    "sdk": download_sdk, "raw": download_raw, "openai": download_openai}


# -- entry point --------------------------------------------------------------------------


def _preimport(client: str) -> None:
    """Import the client's modules before the clock starts (import time is workload c)."""
    if client == "sdk-sync":
        import foundry_video._sync
        import foundry_video.resources.videos
    if client == "sdk":
        import foundry_video._batch
        import foundry_video._client
        import foundry_video._download
        import foundry_video.resources.videos  # noqa: F401
    elif client == "openai":
        import openai
        import openai.resources.videos  # noqa: F401
    import aiohttp  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    """Run one client once and print a JSON result line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["jobs", "download"])
    parser.add_argument("--client", required=True, choices=sorted(JOBS))
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--profile", default=None, help="write a cProfile of the run here")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # openai marks the Sora API deprecated on every call
    _preimport(args.client)
    result: dict[str, Any] = {"client": args.client, "workload": args.workload}
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    if args.workload == "jobs":
        coro: Awaitable[None] = JOBS[args.client](args.base_url, args.jobs, args.concurrency,
                                                  args.out)
    else:
        if args.client not in DOWNLOADS:
            parser.error(f"no download client {args.client!r}")
        coro = DOWNLOADS[args.client](args.base_url, args.out)
        result["rss_before_kib"] = rss_kib()
        result["peak_reset"] = reset_peak_rss()
        result["hwm_before_kib"] = peak_rss_kib()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    asyncio.run(coro)  # type: ignore[arg-type]
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    result["seconds"] = time.perf_counter() - t0
    result["cpu_seconds"] = time.process_time() - cpu0
    if args.workload == "download":
        result["bytes"] = args.out.stat().st_size
        result["peak_rss_kib"] = peak_rss_kib()
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
