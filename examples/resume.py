"""Resume after a restart: a job id is all it takes to pick a job up again.

    python examples/resume.py start      # create a job, save its id to job.json, exit
    python examples/resume.py resume     # later (another process): wait and download
    python examples/resume.py --emulator # both steps, with two separate clients
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from _support import connect, parser

from foundry_video import ApiKeyAuth, ManualClock, VideoClient


# --8<-- [start:start]
async def start(client: VideoClient, state: Path) -> str:
    job = await client.videos.create(prompt="Northern lights over a frozen lake", seconds=4)
    state.write_text(json.dumps({"job_id": job.id}))  # persist before anything can go wrong
    return job.id
# --8<-- [end:start]


# --8<-- [start:resume]
async def resume(client: VideoClient, state: Path, out_dir: Path) -> Path:
    job_id = json.loads(state.read_text())["job_id"]
    job = client.videos.job(job_id)  # no request yet: just a handle
    path = await job.result(out_dir / f"{job_id}.mp4")  # polls if still running, then downloads
    state.unlink()
    return path
# --8<-- [end:resume]


async def main(argv: list[str] | None = None) -> Path | str:
    p = parser(__doc__)
    p.add_argument("step", nargs="?", choices=["start", "resume"], default=None)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    state = args.out / "job.json"
    if not args.emulator:
        if args.step is None:
            p.error("say 'start' or 'resume' (or use --emulator)")
        async with connect(False) as client:
            if args.step == "start":
                job_id = await start(client, state)
                print(f"started {job_id}; run 'resume' any time within 24 hours")
                return job_id
            path = await resume(client, state, args.out)
            print(f"saved {path}")
            return path

    # With --emulator the service must outlive the "process": two clients, one emulator.
    from foundry_video.emulator import Emulator

    clock = ManualClock()
    async with Emulator(clock=clock) as emulator:
        async with VideoClient(emulator.endpoint, auth=ApiKeyAuth("k"), clock=clock) as first:
            print(f"started {await start(first, state)}; the client goes away...")
        async with VideoClient(emulator.endpoint, auth=ApiKeyAuth("k"), clock=clock) as second:
            path = await resume(second, state, args.out)
    print(f"...a new client resumed it: saved {path}")
    return path


if __name__ == "__main__":
    asyncio.run(main())
