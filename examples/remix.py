"""Remix: change one aspect of a finished video, keeping the rest.

    python examples/remix.py --emulator
    python examples/remix.py --video-id video_...   # remix one of your completed videos
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from _support import connect, parser

from foundry_video import VideoClient


# --8<-- [start:remix]
async def remix(client: VideoClient, video_id: str, out_dir: Path) -> Path:
    job = await client.videos.remix(video_id, prompt="Same scene, but in falling snow at night")
    video = await job                       # the new video's id differs from the source's
    assert video.remixed_from_video_id == video_id
    return await job.result(out_dir / "remix.mp4")
# --8<-- [end:remix]


async def main(argv: list[str] | None = None) -> Path:
    p = parser(__doc__)
    p.add_argument("--video-id", default=None, help="a completed video (default: make one)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    async with connect(args.emulator) as client:
        video_id = args.video_id
        if video_id is None:
            source = await client.videos.create(prompt="A lighthouse on a cliff, golden hour",
                                                size="1280x720", seconds=4)
            await source.result(args.out / "remix-source.mp4")
            video_id = source.id
        path = await remix(client, video_id, args.out)
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    asyncio.run(main())
