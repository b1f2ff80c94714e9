"""The state directory: jobs outlive the emulator and are shared between emulators."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from foundry_video._clock import ManualClock
from foundry_video.emulator import Emulator, PlaceholderRenderer, read_server

API = "/openai/v1"


@asynccontextmanager
async def emulator(state: Path, clock: ManualClock, **options: Any) -> AsyncIterator[
        tuple[Emulator, aiohttp.ClientSession]]:
    async with Emulator(clock=clock, renderer=PlaceholderRenderer(), state_dir=state,
                        queue_seconds=1, job_seconds=2, **options) as emu, \
            aiohttp.ClientSession(emu.endpoint, headers={"api-key": "k"}) as http:
        yield emu, http


async def create(http: aiohttp.ClientSession, prompt: str, **fields: Any) -> dict[str, Any]:
    async with http.post(f"{API}/videos", json={"prompt": prompt, **fields}) as resp:
        body: dict[str, Any] = await resp.json()
        assert resp.status == 200, body
        return body


async def ids(http: aiohttp.ClientSession) -> set[str]:
    async with http.get(f"{API}/videos", params={"limit": "100"}) as resp:
        return {v["id"] for v in (await resp.json())["data"]}


async def test_jobs_outlive_the_emulator(tmp_path: Path) -> None:
    clock = ManualClock()
    async with emulator(tmp_path, clock) as (_, http):
        video = await create(http, "a persistent cat")
        async with http.post(f"{API}/video/generations/jobs", params={"api-version": "preview"},
                             json={"prompt": "sora 1", "model": "sora", "width": 480,
                                   "height": 480, "n_seconds": 2}) as resp:
            task = (await resp.json())["id"]
    clock.advance(10)
    async with emulator(tmp_path, clock) as (emu, http):
        async with http.get(f"{API}/videos/{video['id']}") as resp:
            again = await resp.json()
        assert again["status"] == "completed" and again["prompt"] == "a persistent cat"
        async with http.get(f"{API}/video/generations/jobs/{task}",
                            params={"api-version": "preview"}) as resp:
            assert (await resp.json())["status"] == "succeeded"
        async with http.get(f"{API}/videos/{video['id']}/content") as resp:
            assert resp.status == 200 and (await resp.read()).startswith(b"\x00\x00\x00\x18ftyp")
        assert len(emu.videos) == 1


async def test_two_emulators_share_one_directory(tmp_path: Path) -> None:
    clock = ManualClock()
    async with emulator(tmp_path, clock) as (_, a), emulator(tmp_path, clock) as (_, b):
        made = await asyncio.gather(*(create(http, f"p{i}")
                                      for i in range(10) for http in (a, b)))
        everything = {v["id"] for v in made}
        assert len(everything) == 20
        assert await ids(a) == everything == await ids(b)  # no create lost to a race

        clock.advance(10)
        victim = made[0]["id"]
        async with b.delete(f"{API}/videos/{victim}") as resp:
            assert resp.status == 200
        assert victim not in await ids(a)
        async with a.get(f"{API}/videos/{victim}") as resp:
            assert resp.status == 404
        # a deleted job's cursor still pages, on the other emulator too
        async with a.get(f"{API}/videos", params={"after": victim}) as resp:
            assert resp.status == 200


async def test_a_fault_decided_in_one_emulator_is_seen_by_the_other(tmp_path: Path) -> None:
    from foundry_video.emulator import Fault

    clock = ManualClock()
    async with emulator(tmp_path, clock) as (emu_a, a), emulator(tmp_path, clock) as (_, b):
        emu_a.inject(Fault("job_failed", code="internal_error"))
        video = await create(a, "doomed")
        clock.advance(10)
        async with b.get(f"{API}/videos/{video['id']}") as resp:
            assert (await resp.json())["status"] == "failed"


async def test_an_unreadable_state_file_is_set_aside(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    async with emulator(tmp_path, ManualClock()) as (_, http):
        await create(http, "fresh start")
    assert json.loads((tmp_path / "state.json").read_text())["format"] == 1
    assert [p.name.startswith("state.json.unreadable-") for p in tmp_path.iterdir()].count(True) == 1


async def test_the_input_image_is_kept_with_the_job(tmp_path: Path) -> None:
    clock = ManualClock()
    image = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    async with emulator(tmp_path, clock) as (emu, _):
        emu.videos.add(_video_job(clock, image))
    assert len(list((tmp_path / "inputs").iterdir())) == 1  # beside state.json, not in it
    async with emulator(tmp_path, clock) as (emu, _):
        (job,) = list(emu.videos)
        assert job.input_image == image


def _video_job(clock: ManualClock, image: bytes) -> Any:
    from foundry_video.emulator import VideoJob

    return VideoJob(id="video_" + "1" * 32, created=clock.time(), queue_seconds=0,
                    job_seconds=1, model="sora-2", prompt="p", size="1280x720", seconds=4,
                    input_image=image)


async def test_a_standalone_emulator_advertises_itself(tmp_path: Path) -> None:
    async with emulator(tmp_path, ManualClock()) as (emu, _):
        assert emu.state_dir is not None
        emu.state_dir.advertise(emu.host, emu.port, emu.instance)
        info = read_server(tmp_path)
        assert info is not None and info.endpoint == emu.endpoint
        async with aiohttp.ClientSession() as http, http.get(info.endpoint + "/v1/videos") as r:
            assert r.headers["x-emulator-instance"] == info.instance
        emu.state_dir.withdraw("someone else")
        assert read_server(tmp_path) is not None
        emu.state_dir.withdraw(emu.instance)
        assert read_server(tmp_path) is None
