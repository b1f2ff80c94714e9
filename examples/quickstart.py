"""Quickstart: generate one Sora 2 video and download it, with its thumbnail.

    python examples/quickstart.py --emulator        # try it without an Azure account
    python examples/quickstart.py                   # uses AZURE_OPENAI_ENDPOINT / _API_KEY
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from _support import connect, parser

from foundry_video import JobEvent, JobProgress, JobQueued, VideoClient


# --8<-- [start:generate]
async def generate(client: VideoClient, out_dir: Path) -> Path:
    job = await client.videos.create(
        prompt="A calico cat playing a grand piano on a neon-lit stage, slow dolly-in",
        model="sora-2",      # on Azure: your deployment name
        size="1280x720",
        seconds=4,
    )
    print(f"created {job.id}")  # keep the id: client.videos.job(id) re-attaches after a restart

    def show(event: JobEvent) -> None:
        if isinstance(event, JobQueued):
            print("  queued")
        elif isinstance(event, JobProgress):
            print(f"  {event.status}: {event.progress or 0}%")

    video = await job.result(out_dir / "quickstart.mp4", on_progress=show)  # poll + download
    thumbnail = await job.result(out_dir / "quickstart.webp", variant="thumbnail")
    print(f"saved {video} ({video.stat().st_size:,} bytes) and {thumbnail}")
    return video
# --8<-- [end:generate]


async def main(argv: list[str] | None = None) -> Path:
    args = parser(__doc__).parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    async with connect(args.emulator) as client:
        return await generate(client, args.out)


if __name__ == "__main__":
    asyncio.run(main())
